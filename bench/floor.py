#!/usr/bin/env python
"""Benchmark: the floor under issue 13's missed targets, on this machine, in one run.

Run by hand from the repository root; it prints figures and changes nothing in the project:

    .venv/bin/python -m bench.floor --db postgres                     # ~1 minute
    .venv/bin/python -m bench.floor --db postgres --with-studygroup   # + studygroup's rush
    .venv/bin/python -m bench.floor --db sqlite

`bench.pages` measures studygroup against `/healthz`. This measures what the stack alone
reaches under the same load generator and gunicorn settings, doing the least each target's
work needs (`bench/floor_app.py`: Flask and SQLAlchemy Core, no studygroup code, no ORM, no
CSRF, no Babel, no layout). A target the floor itself misses cannot be met by any design of
studygroup's pages on this machine; the figures say by how much.

1. `/healthz` (4 connections, `--seconds`), as in `bench.pages`.
2. A feed checked against the database on each request: `/revision` reads one revision
   number in autocommit and answers 200 (a tiny body) or 304 by its ETag. Issue 13: cached
   feed >= 0.8x, 304 >= 0.9x, with a change seen on the next request.
3. The sign-up rush, with `bench.pages`' own client (`rush_at_once`): `--members` members on a
   connection each POST a sign-up for one slot of `--free-places` places at once and GET the
   page it redirects to; `--rounds` rushes on one server. Issue 13: >= 0.05x `/healthz`,
   exactly one place per free place. Prints the CPU a sign-up took: the workers, the
   database's processes, and the machine in all (the load generator too).
   `--with-studygroup` then runs `bench.pages`' rush on studygroup (the demo, 10x), so both
   are measured in one run.
4. Start-up: in a fresh interpreter with bytecode on disk, after `import flask` (which
   `import studygroup` already does), importing what `create_app()` cannot do without
   (SQLAlchemy's ORM, Flask-SQLAlchemy, Flask-Login, Flask-WTF, Flask-Babel), then declaring
   studygroup's 38 models (`import studygroup.models`), then the rest of `create_app()`.
   Issue 13: `create_app()` < 300 ms.
"""

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from bench import floor_app
from bench.pages import (
    DEFAULT_PG_URL,
    MAX_STARTUP_MS,
    MIN_304_RATIO,
    MIN_FEED_RATIO,
    MIN_SIGNUP_RATIO,
    ROOT,
    SECRET_KEY,
    SIGNUP_MEMBERS,
    Server,
    _raw_request,
    cpu_per_signup,
    free_port,
    grow_tenfold,
    gunicorn,
    load,
    load_demo,
    measure_signups,
    rush_at_once,
    signup_outcome,
    signup_session,
    startup_figures,
    table,
    verdict,
)
from studygroup.extensions import db
from studygroup.testing import make_test_app, scratch_database


def fill(url: str, members: int, rounds: int, free: int) -> list[str]:
    """The floor app's tables, `members` members and one slot of `free` places per round."""
    engine = sa.create_engine(url)
    floor_app.metadata.create_all(engine)
    tokens = [secrets.token_hex(16) for _ in range(members)]
    with engine.begin() as conn:
        conn.execute(floor_app.revision.insert(), {"id": 1, "number": 1})
        conn.execute(
            floor_app.member.insert(),
            [{"token": t, "name": f"会員 {n:03d} 山田太郎"} for n, t in enumerate(tokens)],
        )
        conn.execute(
            floor_app.slot.insert(),
            [{"id": r + 1, "session_id": r + 1, "headcount": free} for r in range(rounds)],
        )
    engine.dispose()
    return tokens


@contextmanager
def floor_server(url: str):
    """The floor app under gunicorn: 2 sync workers, as `gunicorn.conf.py` runs studygroup."""
    port = free_port()
    env = {**os.environ, "FLOOR_DATABASE_URL": url}
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--config=python:bench.floor_app",  # not ./gunicorn.conf.py: studygroup's
                "--workers=2",
                f"--bind=127.0.0.1:{port}",
                "--timeout=30",
                "bench.floor_app:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        server = Server(port, process.pid)
        deadline = time.monotonic() + 30
        while True:
            try:
                if server.get("/healthz")[0].status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the floor app did not start; see {log.name}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(10)
        Path(log.name).unlink(missing_ok=True)


def floor_rush(server: Server, tokens: list[str], slot_id: int) -> dict:
    post = (
        f"POST /slots/{slot_id}/signup HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Connection: close\r\nContent-Length: 0\r\nCookie: token={token}\r\n\r\n"
    )
    prepared = [(post.replace("{token}", t).encode(), f"token={t}") for t in tokens]
    return rush_at_once(server, prepared, f"/sessions/{slot_id}")


def places_made(url: str, slot_id: int) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(floor_app.place.c.status, sa.func.count())
            .where(floor_app.place.c.slot_id == slot_id)
            .group_by(floor_app.place.c.status)
        ).all()
    engine.dispose()
    return dict(rows)


STARTUP_CODE = """
import time
import flask
began = time.perf_counter()
import flask_babel, flask_login, flask_sqlalchemy, flask_wtf, sqlalchemy.orm
libraries = time.perf_counter()
import studygroup.models
models = time.perf_counter()
from studygroup import create_app
create_app()
done = time.perf_counter()
print(libraries - began, models - libraries, done - models)
"""


def measure_startup(database_url: str, runs: int) -> list[float]:
    """Medians (seconds) of the libraries, the models and the rest of `create_app()`."""
    return [statistics.median(part) for part in startup_figures(database_url, runs, STARTUP_CODE)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--url", default=DEFAULT_PG_URL)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--members", type=int, default=SIGNUP_MEMBERS)
    parser.add_argument("--free-places", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--with-studygroup", action="store_true")
    args = parser.parse_args(argv)

    rows = []
    with scratch_database(args.db, args.url, prefix="studygroup_bench_floor") as url:
        tokens = fill(url, args.members, args.rounds, args.free_places)
        with floor_server(url) as server:
            port = server.port
            healthz = load(server, [_raw_request(port, "/healthz")], seconds=1)
            healthz = load(
                server,
                [_raw_request(port, "/healthz")],
                seconds=args.seconds,
                connections=args.connections,
            )
            etag = server.get("/revision")[0].getheader("ETag")
            fresh = load(
                server,
                [_raw_request(port, "/revision")],
                seconds=args.seconds,
                connections=args.connections,
            )
            same = load(
                server,
                [_raw_request(port, "/revision", headers={"If-None-Match": etag})],
                seconds=args.seconds,
                connections=args.connections,
                expect=("304",),
            )
            rushes = []
            for slot_id in range(1, args.rounds + 1):
                rush = floor_rush(server, tokens, slot_id)
                rush["outcome"] = places_made(url, slot_id)
                rushes.append(rush)
        h = healthz.rps
        rows.append(("/healthz", f"{h:,.0f} req/s, p95 {healthz.p95:.1f} ms", "", ""))
        for label, result, target in (
            ("revision read, 200 (a cached feed's least)", fresh, MIN_FEED_RATIO),
            ("revision read, 304", same, MIN_304_RATIO),
        ):
            ratio = result.rps / h
            rows.append(
                (
                    label,
                    f"{result.rps:,.0f} req/s, {ratio:.3f}x, p95 {result.p95:.1f} ms",
                    f">= {target}x",
                    verdict(ratio >= target),
                )
            )
        for number, rush in enumerate(rushes, 1):
            ratio = rush["rate"] / h
            rows.append(
                (
                    f"sign-up rush {number}: {rush['members']} members, {args.free_places} places",
                    f"{rush['rate']:,.0f}/s, {ratio:.3f}x, p95 {rush['p95']:.0f} ms; "
                    f"{rush['outcome']}; CPU a sign-up {cpu_per_signup(rush)}",
                    f">= {MIN_SIGNUP_RATIO}x",
                    verdict(ratio >= MIN_SIGNUP_RATIO),
                )
            )
        if args.with_studygroup:
            rows += studygroup_rush(args)
        libraries, models, rest = measure_startup(url, args.startup_runs)
    floor_ms = (libraries + models) * 1000
    rows.append(
        (
            "create_app(): libraries + 38 models (+ the rest)",
            f"{libraries * 1000:.0f} + {models * 1000:.0f} = {floor_ms:.0f} ms "
            f"(+ {rest * 1000:.0f} ms = {floor_ms + rest * 1000:.0f} ms)",
            f"< {MAX_STARTUP_MS:g} ms",
            verdict(floor_ms < MAX_STARTUP_MS),
        )
    )
    print(
        f"\nThe floor ({args.db}; {os.cpu_count()} CPUs, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + "): the least each target's work needs, measured as bench.pages measures"
    )
    table(("floor of", "figure", "issue 13's target", "the floor"), rows)
    return 0


def studygroup_rush(args) -> list[tuple]:
    """`bench.pages`' rush on studygroup itself (the demo grown tenfold), against its own
    `/healthz` of the same server."""
    rows = []
    with (
        scratch_database(args.db, args.url, prefix="studygroup_bench_floor_sg") as url,
        tempfile.TemporaryDirectory() as workdir,
    ):
        app = make_test_app(url, SECRET_KEY=SECRET_KEY, LOG_LEVEL="ERROR")
        load_demo(app)
        grow_tenfold(app, 20261202)
        rushes = [signup_session(app, args.free_places, SIGNUP_MEMBERS) for _ in range(args.rounds)]
        with app.app_context():
            db.engine.dispose()
        with gunicorn(url, Path(workdir)) as server:
            healthz = load(
                server,
                [_raw_request(server.port, "/healthz")],
                seconds=args.seconds,
                connections=args.connections,
            )
            for number, rush in enumerate(rushes, 1):
                result = measure_signups(server, rush)
                ratio = result["rate"] / healthz.rps
                rows.append(
                    (
                        f"studygroup's rush {number} (10x data; /healthz {healthz.rps:,.0f})",
                        f"{result['rate']:,.0f}/s, {ratio:.3f}x, p95 {result['p95']:.0f} ms; "
                        f"{signup_outcome(app, rush['slot_id'])}; "
                        f"CPU a sign-up {cpu_per_signup(result)}",
                        f">= {MIN_SIGNUP_RATIO}x",
                        verdict(ratio >= MIN_SIGNUP_RATIO),
                    )
                )
    return rows


if __name__ == "__main__":
    sys.exit(main())
