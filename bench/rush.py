#!/usr/bin/env python
"""Benchmark: one sign-up cycle of issue 13's rush, in-process, and where its time goes.

Run by hand from the repository root; it prints figures and changes nothing in the project:

    .venv/bin/python -m bench.rush --db sqlite --no-10x           # smoke run, ~30 s
    .venv/bin/python -m bench.rush --db postgres --profile        # with the 10x data, ~2 min

The data of bench/pages.py (`flask demo`, then grown tenfold unless --no-10x), then --rounds
sign-up sessions like its rush (one first-come role of --free-places places, 50 members). Each
member, logged in through POST /login on a test client of their own, POSTs the sign-up and GETs
the session page it redirects to (with the flash), one member after another. Prints the CPU
milliseconds (process time: the machine is shared, so wall time would count the neighbours) of
the POST and of the page, median and p90, the statements of each, and with --profile the
functions that took the most of each (cProfile on process time, cumulative and own time; the
figures are then the profiled ones, higher than without).
"""

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time

import sqlalchemy as sa

from bench.pages import (
    DEFAULT_PG_URL,
    SECRET_KEY,
    SIGNUP_MEMBERS,
    grow_tenfold,
    load_demo,
    signup_outcome,
    signup_session,
)
from studygroup.demo import DEMO_PASSWORD, DEMO_SLUG
from studygroup.extensions import db
from studygroup.testing import make_test_app, scratch_database


def _clients(app, emails: list[str]) -> dict:
    clients = {}
    for email in emails:
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        if response.status_code != 302:
            raise RuntimeError(f"login of {email}: {response.status_code}")
        clients[email] = client
    return clients


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", default=DEFAULT_PG_URL)
    parser.add_argument("--rounds", type=int, default=3, help="rush sessions, 50 members each")
    parser.add_argument("--free-places", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--no-10x", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    with scratch_database(args.db, args.url, prefix="studygroup_bench_rush") as url:
        app = make_test_app(url, SECRET_KEY=SECRET_KEY, LOG_LEVEL="ERROR")
        load_demo(app)
        if not args.no_10x:
            grow_tenfold(app, args.seed)
        rushes = [
            signup_session(app, args.free_places, SIGNUP_MEMBERS) for _ in range(args.rounds + 1)
        ]
        clients = _clients(app, rushes[0]["emails"])
        with app.app_context():
            engine = db.engine
        statements: list[str] = []

        def note(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        posts, pages, post_sql, page_sql = [], [], [], []
        # CPU time, as the figures: waits for PostgreSQL are not the worker's work.
        profilers = {kind: cProfile.Profile(time.process_time) for kind in ("POST", "page")}
        for number, rush in enumerate(rushes):
            warm_up = number == 0  # the first round fills each process cache, untimed
            action = f"/g/{DEMO_SLUG}/slots/{rush['slot_id']}/signup"
            page = f"/g/{DEMO_SLUG}/sessions/{rush['session_id']}"
            for email in rush["emails"]:
                client = clients[email]
                for kind, call, times, counts in (
                    ("POST", lambda c=client, a=action: c.post(a), posts, post_sql),
                    ("page", lambda c=client, p=page: c.get(p), pages, page_sql),
                ):
                    statements.clear()
                    sa.event.listen(engine, "before_cursor_execute", note)
                    profiler = profilers[kind] if args.profile and not warm_up else None
                    started = time.process_time()
                    if profiler:
                        profiler.enable()
                    response = call()
                    if profiler:
                        profiler.disable()
                    spent = time.process_time() - started
                    sa.event.remove(engine, "before_cursor_execute", note)
                    expected = 302 if kind == "POST" else 200
                    if response.status_code != expected:
                        raise RuntimeError(f"{kind} by {email}: {response.status_code}")
                    if not warm_up:
                        times.append(spent * 1000)
                        counts.append(len(statements))
            outcome = signup_outcome(app, rush["slot_id"])
            if outcome.get("confirmed") != min(args.free_places, len(rush["emails"])):
                raise RuntimeError(f"places made: {outcome}")

    def line(label, times, counts):
        times = sorted(times)
        p90 = times[int(0.9 * (len(times) - 1))]
        return (
            f"  {label}: median {statistics.median(times):.2f} ms, p90 {p90:.2f} ms CPU; "
            f"statements {min(counts)}-{max(counts)}"
        )

    print(
        f"Sign-up cycle in-process ({args.db}, {'1x' if args.no_10x else '10x'} data, "
        f"{len(posts)} cycles after a warm-up round; outcome of the last round {outcome}):"
    )
    print(line("POST (sign-up, redirect)", posts, post_sql))
    print(line("GET session page (cold)", pages, page_sql))
    cycle = [a + b for a, b in zip(posts, pages, strict=True)]
    print(f"  cycle: median {statistics.median(cycle):.2f} ms CPU")
    if args.profile:
        for kind, profiler in profilers.items():
            for order in ("cumulative", "tottime"):
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.strip_dirs().sort_stats(order).print_stats(args.top)
                print(f"\n--- {kind}, by {order} (all {len(posts)} together) ---")
                print(out.getvalue().split("\n", 6)[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
