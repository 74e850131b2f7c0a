#!/usr/bin/env python
"""Benchmark: the group's network page (`/g/<group>/network`) at 12, 60 and 300 members.

Run by hand from the repository root; it prints figures and changes nothing in the project:

    .venv/bin/python -m bench.network                       # SQLite, sizes 12,60,300
    .venv/bin/python -m bench.network --db postgres --sizes 300
    .venv/bin/python -m bench.network --html /tmp/network   # also saves each page as HTML

Each size is a group made by tests/network_data.py (one series per 30 members, a year or two
of monthly sessions, crews with favourite roles). For each it prints the history's size, the
time of `group_network` (the queries), of the layout (networkx, first and cached), and of the
whole page through the test client, median of a few runs.
"""

import argparse
import statistics
import time
from pathlib import Path

from flask_migrate import upgrade

from studygroup.coworking import network as network_module
from studygroup.coworking.group_pairs import group_network
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.testing import IsolatedClient, factories, make_test_app, scratch_database
from studygroup.testing.network import make_network_group

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def run(url: str, sizes: list[int], html: Path | None, runs: int) -> None:
    app = make_test_app(url)
    app.test_client_class = IsolatedClient  # each request its own app context, as in production
    with app.app_context():
        upgrade()
        make = factories.Factories(db.session)
        for size in sizes:
            organizer = make.user(f"organizer-{size}@example.com", display_name="主催者")
            group = make.group(organizer, name=f"{size}人の勉強会", slug=f"network-{size}")
            started = time.perf_counter()
            made = make_network_group(db.session, organizer, group, size, seed=size)
            db.session.commit()
            seeded = time.perf_counter() - started
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                network = group_network(db.session, group, now=utcnow())
                timings.append(time.perf_counter() - started)
            network_module._cache.clear()
            started = time.perf_counter()
            drawing = network_module.group_picture(network)
            layout = time.perf_counter() - started
            started = time.perf_counter()
            network_module.group_picture(network)
            cached = time.perf_counter() - started
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = organizer.get_id()
            network_module._cache.clear()
            pages = []
            for _ in range(runs):
                started = time.perf_counter()
                response = client.get(f"/g/{group.slug}/network")
                pages.append(time.perf_counter() - started)
                assert response.status_code == 200, response.status
            print(
                f"{size:>4} members: {made.sessions} sessions, {made.places} places, "
                f"{len(network.pairs)} pairs, {len(network.ties)} side by side; "
                f"seeded in {seeded:.1f} s\n"
                f"      queries {_ms(statistics.median(timings))}, "
                f"layout {_ms(layout)} (cached {_ms(cached)}), "
                f"page first {_ms(pages[0])}, then median {_ms(statistics.median(pages[1:]))}; "
                f"drawn {drawing.drawn}, named {drawing.labelled}, "
                f"clusters {len(drawing.picture.clusters) if drawing.picture else 0}"
            )
            if html is not None:
                html.mkdir(parents=True, exist_ok=True)
                css = (ROOT / "studygroup" / "static" / "style.css").as_uri()
                text = response.get_data(as_text=True).replace("/static/style.css", css)
                (html / f"network-{size}.html").write_text(text, encoding="utf-8")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", default=DEFAULT_PG_URL, help="PostgreSQL server (--db postgres)")
    parser.add_argument("--sizes", default="12,60,300")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--html", type=Path, help="save each page here as HTML")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with scratch_database(args.db, args.url, prefix="studygroup_bench_network") as url:
        run(url, sizes, args.html, args.runs)


if __name__ == "__main__":
    main()
