#!/usr/bin/env python
"""Benchmark: calendar feeds served by gunicorn (2 workers), against /healthz in the same run.

Run by hand from the repository root; it prints figures and changes nothing in the project:

    .venv/bin/python -m bench.feeds                    # SQLite, 3 s per URL
    .venv/bin/python -m bench.feeds --db postgres --seconds 5

It builds its own database (a temporary SQLite file, or a PostgreSQL database of its own that
is dropped at the end), migrates it, and loads one group with 240 sessions (weekly, from two
years back; setup, reception and speaker slots) and a member with 120 confirmed places, each
session staffed by six other members. Then:

1. In-process, the cost of a cold build against icalendar alone: our build (the queries plus
   `group_feed` / `member_feed`) next to icalendar making and serializing the very same events
   from plain values already in memory (`Calendar`, `Event.add`, `add_missing_timezones`,
   `to_ical`). Target: ours at most 1.5x.
2. Over HTTP, gunicorn with 2 sync workers on a free port, loaded by wrk (Debian's package;
   else a small Python loop with keep-alive connections) for a few seconds per URL, with
   requests/s and p95 for: /healthz; the group feed, cached; the member feed, cached and cold
   (a second server with the feed cache switched off, so every request builds); and the 304
   path (If-None-Match). Each also as a ratio to /healthz. Targets: cached group feed at least
   0.5x /healthz, 304 at least 0.6x.

The app logs every request as in production (to a temporary file), except /healthz, which
it does not log at all.
"""

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade
from icalendar import Calendar, Event

from studygroup.calendar import feeds, tokens
from studygroup.extensions import db
from studygroup.groups.models import MemberRole, Membership, MembershipStatus
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.testing import make_test_app, scratch_database
from studygroup.testing.factories import Factories

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET_KEY = "bench-feeds-secret-key-not-for-production"
SESSIONS = 240
PLACES = 120
COWORKERS = 6
TARGETS = {"group feed, cached": 0.5, "304 (If-None-Match)": 0.6}
MAX_BUILD_RATIO = 1.5
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d\\n", summary.requests, summary.duration,
                         latency:percentile(95)))
end
"""


# --- data ---------------------------------------------------------------------------------


def load(app) -> dict:
    """One group, 240 sessions, a member with 120 places and six co-workers per session."""
    with app.app_context():
        upgrade()
        make = Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="主催 太郎")
        group = make.group(organizer, name="渋谷Python勉強会, bench; feed", slug="bench")
        member = make.member(group, make.user("member@example.com", display_name="鈴木 花子"))
        others = [
            make.member(group, make.user(f"crew{n}@example.com", display_name=f"仲間 {n}"))
            for n in range(COWORKERS)
        ]
        now = datetime.now(UTC)
        first = (now - timedelta(weeks=104)).date()
        sessions = []
        for week in range(SESSIONS):
            day = first + timedelta(weeks=week)
            sessions.append(make_session(make, group, day, week))
        slots = {
            (s.session_id, s.role_type.key): s
            for s in db.session.scalars(sa.select(RoleSlot).options())
        }
        places = []
        for n, session in enumerate(sessions):
            crew = [(member, "setup")] if n % 2 == 0 else []
            crew += [
                (o, ("setup", "reception", "reception", "speaker", "setup", "reception")[i])
                for i, o in enumerate(others)
            ]
            for person, role in crew:
                places.append(
                    Assignment(
                        slot_id=slots[session.id, role].id,
                        user_id=person.id,
                        status=AssignmentStatus.CONFIRMED,
                        created_at=now,
                        updated_at=now,
                        confirmed_at=now,
                    )
                )
        db.session.add_all(places)
        db.session.commit()
        ids = {
            "group_id": group.id,
            "member_id": member.id,
            "member_token": tokens.token_of(member),
            "slug": group.slug,
            "places": db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Assignment)
                .where(Assignment.user_id == member.id)
            ),
            "sessions": db.session.scalar(sa.select(sa.func.count()).select_from(StudySession)),
        }
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Membership)
                .where(
                    Membership.role == MemberRole.MEMBER,
                    Membership.status == MembershipStatus.ACTIVE,
                )
            )
            == COWORKERS + 1
        )
        db.session.remove()
        return ids


def make_session(make, group, day, n):
    from datetime import time

    session = make.session(
        group, day=day, start=time(10), end=time(17), title=f"第{n + 1}回 もくもく会"
    )
    session.description = "持ち物: ノートPC, 電源タップ; 懇親会あり\n初めての方も歓迎です。"
    return session


# --- in-process: our cold build against icalendar alone ------------------------------------


def timed(fn, repeat: int) -> float:
    """Median milliseconds of `repeat` calls, after one warm-up."""
    fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def plain_values(body: bytes) -> tuple[list[tuple[str, object]], list[list[tuple[str, object]]]]:
    """The calendar's and each event's properties as plain Python values."""
    calendar = Calendar.from_ical(body)
    head = [(name, calendar.decoded(name)) for name in calendar if name not in ("BEGIN", "END")]
    events = [[(name, event.decoded(name)) for name in event] for event in calendar.walk("VEVENT")]
    return head, events


def icalendar_alone(head, events) -> bytes:
    calendar = Calendar()
    for name, value in head:
        calendar.add(name, value)
    for properties in events:
        event = Event()
        for name, value in properties:
            event.add(name, value)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def build_costs(app, ids: dict, repeat: int) -> list[tuple[str, float, float]]:
    results = []
    with app.test_request_context("/"):
        from studygroup.groups.models import Group
        from studygroup.models import User

        options = feeds.FeedOptions(locale="ja", base_url="https://sg.example", uid_domain="sg")
        group = db.session.get(Group, ids["group_id"])
        member = db.session.get(User, ids["member_id"])
        now = datetime.now(UTC)

        def group_build():
            sessions = feeds.group_feed_sessions(db.session, group, now=now)
            return feeds.group_feed(group, sessions, options=options)

        def member_build():
            data = feeds.member_feed_data(db.session, member, now=now)
            return feeds.member_feed(member, data, options=options)

        for label, build in (
            (f"group feed ({ids['sessions']} sessions)", group_build),
            (f"member feed ({ids['places']} places)", member_build),
        ):
            head, events = plain_values(build())
            ours = timed(build, repeat)
            alone = timed(lambda h=head, e=events: icalendar_alone(h, e), repeat)
            results.append((label, ours, alone))
        db.session.remove()
    return results


# --- over HTTP ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, workdir: Path, *, cache: bool):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "STUDYGROUP_ENV": "production",
        "STUDYGROUP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "STUDYGROUP_INSTANCE_PATH": str(workdir),
        "WEB_CONCURRENCY": "2",
        "BIND": f"127.0.0.1:{port}",
    }
    if not cache:
        env["STUDYGROUP_CALENDAR_CACHE_MAX_BYTES"] = "0"
    log = open(workdir / f"gunicorn-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"gunicorn did not start; see {log.name}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def load_with_wrk(url: str, seconds: float, headers: dict, connections: int):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    args = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "-s",
        script.name,
        url,
    ]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    found = re.search(r"RESULT (\d+) (\d+) (\d+)", out)
    requests, duration_us, p95_us = map(int, found.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error responses")
    return requests / (duration_us / 1e6), p95_us / 1000


def load_with_python(url: str, seconds: float, headers: dict, connections: int):
    host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
    path = url.split(port, 1)[1]
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker():
        connection = http.client.HTTPConnection(host, int(port))
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status not in (200, 304):
                raise RuntimeError(f"{url}: {response.status}")
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(0.95 * (len(latencies) - 1))] * 1000


def etag_of(url: str) -> str:
    host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
    connection = http.client.HTTPConnection(host, int(port))
    connection.request("GET", url.split(port, 1)[1])
    response = connection.getresponse()
    body = response.read()
    assert response.status == 200 and body.startswith(b"BEGIN:VCALENDAR"), response.status
    return response.getheader("ETag")


def http_figures(database_url: str, ids: dict, args) -> list[tuple[str, float, float]]:
    load_url = load_with_wrk if shutil.which("wrk") and not args.python_load else load_with_python
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        workdir = Path(workdir)

        def measure(label, url, headers=None):
            load_url(url, 1, headers or {}, args.connections)  # warm-up: workers, caches
            rps, p95 = load_url(url, args.seconds, headers or {}, args.connections)
            results.append((label, rps, p95))

        with gunicorn(database_url, workdir, cache=True) as base:
            group_url = f"{base}/g/{ids['slug']}/calendar.ics"
            member_url = f"{base}/calendar/member/{ids['member_token']}.ics"
            measure("/healthz", f"{base}/healthz")
            etag_of(group_url)
            measure("group feed, cached", group_url)
            etag_of(member_url)
            measure("member feed, cached", member_url)
            measure("304 (If-None-Match)", group_url, {"If-None-Match": etag_of(group_url)})
        with gunicorn(database_url, workdir, cache=False) as base:
            measure(
                "member feed, cold (cache off)", f"{base}/calendar/member/{ids['member_token']}.ics"
            )
            measure("group feed, cold (cache off)", f"{base}/g/{ids['slug']}/calendar.ics")
    return results, load_url.__name__


# --- main ---------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", default=DEFAULT_PG_URL, help="PostgreSQL server (--db postgres)")
    parser.add_argument("--seconds", type=float, default=3.0, help="load per URL")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=20, help="in-process builds timed")
    parser.add_argument("--python-load", action="store_true", help="use the Python loop, not wrk")
    args = parser.parse_args(argv)

    with scratch_database(args.db, args.url, prefix="studygroup_bench_feeds") as url:
        app = make_test_app(url, SECRET_KEY=SECRET_KEY)
        started = time.perf_counter()
        ids = load(app)
        print(
            f"Data ({args.db}): {ids['sessions']} sessions, {ids['places']} places for the "
            f"member, {COWORKERS} co-workers per session; loaded in "
            f"{time.perf_counter() - started:.1f} s"
        )

        print("\nCold build in-process (median of", args.repeat, "runs):")
        print(f"  {'feed':<28} {'ours ms':>9} {'icalendar alone ms':>19} {'ratio':>6}  target")
        ok = True
        for label, ours, alone in build_costs(app, ids, args.repeat):
            ratio = ours / alone
            ok &= ratio <= MAX_BUILD_RATIO
            verdict = "met" if ratio <= MAX_BUILD_RATIO else "MISSED"
            print(
                f"  {label:<28} {ours:>9.1f} {alone:>19.1f} {ratio:>6.2f}  "
                f"<= {MAX_BUILD_RATIO}: {verdict}"
            )
        with app.app_context():
            db.engine.dispose()

        results, loader = http_figures(url, ids, args)
        print(
            f"\nHTTP, gunicorn 2 workers, {args.connections} connections, {args.seconds:g} s "
            f"per URL, load by {'wrk' if loader == 'load_with_wrk' else 'a Python loop'}:"
        )
        print(f"  {'URL':<32} {'req/s':>8} {'p95 ms':>8} {'x /healthz':>11}  target")
        healthz = results[0][1]
        for label, rps, p95 in results:
            target = TARGETS.get(label)
            ratio = rps / healthz
            line = f"  {label:<32} {rps:>8.0f} {p95:>8.2f} {ratio:>11.2f}"
            if target:
                met = ratio >= target
                ok &= met
                line += f"  >= {target}: {'met' if met else 'MISSED'}"
            print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
