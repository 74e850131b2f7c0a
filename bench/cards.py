"""The sharing card: time to draw one (fonts loaded, nothing cached), and to answer its URL.

    .venv/bin/python -m bench.cards [--repeat 30]

Prints median and p95 in ms of `render_card` for a short English title, a long Japanese one
(shrunk to three lines) and a cancelled one, then of GET .../card.png through the test client
on a fresh SQLite database: drawn (a new card each time) and cached (the in-process LRU), and
a 304 for a crawler that sends its ETag. Target (issue 12): a card in under 100 ms.
"""

import argparse
import statistics
import time
from dataclasses import replace

from studygroup.sharing.card import CardText, render_card
from studygroup.sharing.fonts import card_fonts

CARDS = {
    "english": CardText(
        title="Monthly meetup: type hints and tests in practice",
        group="Tokyo Python Study",
        when="Sat 19 Dec 2026, 10:00–12:00",
        venue="Community hall",
    ),
    "japanese, long": CardText(
        title="第128回 Python もくもく会（初心者歓迎）「型ヒントとテストで、明日から使える"
        "リファクタリングの実践」と懇親会・LT大会スペシャル",
        group="東京Python勉強会",
        when="2026年12月19日(土) 10:00–12:00",
        venue="渋谷区神南1-2-3 コミュニティホール 5階 大会議室",
    ),
    "cancelled": CardText(
        title="第12回 もくもく会",
        group="東京Python勉強会",
        when="2026年12月19日(土) 10:00–12:00",
        venue="コミュニティホール",
        badge="中止",
    ),
}


def _stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms"


def bench_render(repeat: int) -> None:
    fonts = card_fonts(None)
    print(f"font: {fonts.name}")
    for name, card in CARDS.items():
        render_card(card, fonts)  # loads the font sizes this card needs
        samples = []
        for i in range(repeat):
            fresh = replace(card, venue=f"{card.venue} {i}")  # a new card: no LRU hit
            started = time.perf_counter()
            render_card(fresh, fonts)
            samples.append(time.perf_counter() - started)
        print(f"render_card, {name:16} {_stats(samples)}")


def bench_route(repeat: int) -> None:
    from datetime import UTC, date, datetime, timedelta

    from flask_migrate import upgrade

    from studygroup.extensions import db
    from studygroup.testing import factories, make_test_app, scratch_database

    with scratch_database("sqlite", "", prefix="studygroup_bench_cards") as url:
        app = make_test_app(url)
        with app.app_context():
            upgrade()
            make = factories.Factories(db.session)
            group = make.group(name="東京Python勉強会")
            session = make.session(group, day=date.today() + timedelta(days=30))
            url = f"/g/{group.slug}/sessions/{session.id}/card.png?lang=ja"
            client = app.test_client()
            drawn, cached, not_modified = [], [], []
            for i in range(repeat):
                session.title = f"第{i + 1}回 もくもく会（初心者歓迎）"
                session.updated_at = datetime.now(UTC)
                db.session.commit()
                started = time.perf_counter()
                first = client.get(url)
                drawn.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.get(url)
                cached.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.get(url, headers={"If-None-Match": first.headers["ETag"]})
                not_modified.append(time.perf_counter() - started)
            print(f"GET card.png, drawn        {_stats(drawn)}")
            print(f"GET card.png, cached       {_stats(cached)}")
            print(f"GET card.png, 304          {_stats(not_modified)}")
            db.engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    bench_render(args.repeat)
    bench_route(args.repeat)
