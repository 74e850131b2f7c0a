#!/usr/bin/env python
"""Benchmark: how long one `send-reminders` run takes for 1,000 due reminders.

Run by hand from the repository root; it prints figures and changes nothing in the project:

    .venv/bin/python -m bench.mail                       # SQLite, 1,000 reminders
    .venv/bin/python -m bench.mail --db postgres --batches 1,50 --delay-ms 20

It builds its own database (a temporary SQLite file, or a PostgreSQL database of its own that
is dropped at the end), migrates it, and gives `--count` members a confirmed place in a
session 12 hours away, taken days ago, so each has a reminder due. An SMTP server (aiosmtpd)
runs in a separate process, as a relay would, and records each recipient; `--delay-ms` makes
it take that long per message (a slow relay). Then, for each batch size in `--batches`
(MAIL_BATCH_SIZE: messages per claim and per SMTP connection; 1 is a connection per
message), on fresh data: `claim_reminders` (composing and writing the outbox rows) and
`deliver` (claiming, sending, recording), each timed, with messages per second and the
number of duplicates the server saw (must be 0).
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from studygroup.extensions import db
from studygroup.mail.delivery import deliver
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.signups.reminders import claim_reminders
from studygroup.testing import empty_all_tables, make_test_app, scratch_database
from studygroup.testing.factories import Factories, due_reminders_for

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- the SMTP server, in a process of its own ---------------------------------------------


class Recorder:
    def __init__(self, path: str, delay: float) -> None:
        self.file = open(path, "a", buffering=1)  # noqa: SIM115 (open for the server's life)
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        for address in envelope.rcpt_tos:
            self.file.write(address + "\n")
        return "250 Message accepted for delivery"


def serve(port: int, path: str, delay: float) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(Recorder(path, delay), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    controller.stop()


@contextmanager
def smtp_process(delay: float):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.NamedTemporaryFile("r", suffix=".log") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.mail", "--serve", str(port), log.name, str(delay)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout.readline().strip() == "ready"

            def received() -> list[str]:
                log.seek(0)
                return log.read().split()

            yield port, received
        finally:
            server.stdin.close()
            server.wait(timeout=10)


# --- the runs -----------------------------------------------------------------------------


def one_run(app, *, count: int, batch: int, received) -> dict:
    with app.app_context():
        empty_all_tables()
        app.config["MAIL_BATCH_SIZE"] = batch
        due_reminders_for(Factories(db.session), count)
        db.session.remove()
        before = len(received())

        started = time.perf_counter()
        claimed = claim_reminders(db.session, now=datetime.now(UTC))
        db.session.remove()  # as the command's own process would: nothing loaded is reused
        claimed_at = time.perf_counter()
        report = deliver(db.session, now=datetime.now(UTC), budget=None)
        done = time.perf_counter()

        seen = Counter(received()[before:])
        sent = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboundEmail)
            .where(OutboundEmail.status == EmailStatus.SENT)
        )
        db.session.remove()
    return {
        "claimed": claimed,
        "sent": report.sent,
        "sent_rows": sent,
        "failed": report.failed,
        "received": sum(seen.values()),
        "duplicates": sum(n - 1 for n in seen.values() if n > 1),
        "claim_s": claimed_at - started,
        "deliver_s": done - claimed_at,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", default=DEFAULT_PG_URL, help="PostgreSQL server (--db postgres)")
    parser.add_argument("--count", type=int, default=1000, help="reminders due")
    parser.add_argument("--batches", default="50", help="MAIL_BATCH_SIZE values, e.g. 1,50")
    parser.add_argument("--delay-ms", type=float, default=0, help="the relay's time per message")
    args = parser.parse_args(argv)

    print(
        f"{args.count} due reminders, {args.db}, relay {args.delay_ms:g} ms per message, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"  {'batch':>5} {'claim s':>8} {'send s':>8} {'total s':>8} {'msg/s':>7} "
        f"{'ms/msg':>7} {'received':>8} {'dupes':>5}"
    )
    ok = True
    with (
        scratch_database(args.db, args.url, prefix="studygroup_bench_mail") as url,
        smtp_process(args.delay_ms / 1000) as server,
    ):
        port, received = server
        app = make_test_app(
            url,
            LOG_LEVEL="ERROR",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
            MAIL_USE_TLS=False,
            PUBLIC_BASE_URL="https://studygroup.example",
        )
        with app.app_context():
            upgrade()
        for batch in (int(b) for b in args.batches.split(",")):
            r = one_run(app, count=args.count, batch=batch, received=received)
            total = r["claim_s"] + r["deliver_s"]
            print(
                f"  {batch:>5} {r['claim_s']:>8.2f} {r['deliver_s']:>8.2f} {total:>8.2f} "
                f"{r['sent'] / r['deliver_s']:>7.0f} {1000 * r['deliver_s'] / r['sent']:>7.2f} "
                f"{r['received']:>8} {r['duplicates']:>5}"
            )
            ok &= r["sent"] == r["sent_rows"] == r["received"] == args.count
            ok &= r["duplicates"] == 0 and r["failed"] == 0
        with app.app_context():
            db.engine.dispose()
    print("every reminder sent once" if ok else "MISSED: not every reminder was sent once")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(main())
