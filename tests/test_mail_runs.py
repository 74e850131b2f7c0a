"""`send-reminders` runs: everything due in one run, a time budget, and leases that keep two
overlapping runs from sending one message twice. Real SMTP (aiosmtpd), SQLite and PostgreSQL."""

import asyncio
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask_migrate import upgrade

from studygroup.extensions import db
from studygroup.mail.delivery import _claim, _Run, deliver
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.testing.factories import due_reminders_for
from tests.conftest import ReceivedMail, _free_port
from tests.test_migrations import empty_database as _empty_database

LEASE_MIGRATION = "81a8a3013ea7"
empty_database = _empty_database  # the fixture, for the migration test


class SlowMail(ReceivedMail):
    """An SMTP server that takes `delay` seconds to accept each message (a slow relay)."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp(app):
    received = SlowMail()
    received.port = _free_port()
    controller = Controller(received, hostname="127.0.0.1", port=received.port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=received.port, MAIL_USE_TLS=False)
    try:
        yield received
    finally:
        controller.stop()


def pending(count: int, *, prefix="to") -> list[OutboundEmail]:
    messages = [
        OutboundEmail(
            to_address=f"{prefix}{n}@example.com",
            subject=f"Message {n}",
            body="Hello",
            kind="reminder",
            created_at=datetime.now(UTC),
        )
        for n in range(count)
    ]
    db.session.add_all(messages)
    db.session.commit()
    return messages


def statuses() -> Counter:
    return Counter(db.session.scalars(sa.select(OutboundEmail.status)))


def test_one_run_sends_a_thousand_due_reminders(app, make, smtp_server):
    users = due_reminders_for(make, 1000)
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "reminders queued: 1000; sent 1000, left 0, failed 0;" in result.output
    received = Counter(m.envelope_to[0] for m in smtp_server.messages)
    assert len(smtp_server.messages) == 1000
    assert set(received) == {u.email for u in users}  # each member once
    assert statuses() == {EmailStatus.SENT: 1000}
    print(f"1,000 reminders queued and sent in {took:.1f} s")
    # A second run finds nothing more to do.
    again = app.test_cli_runner().invoke(args=["send-reminders"])
    assert "reminders queued: 0; sent 0, left 0, failed 0" in again.output
    assert len(smtp_server.messages) == 1000


def test_a_run_out_of_time_says_what_is_left_and_leaves_it_as_it_was(app, slow_smtp):
    slow_smtp.delay = 0.05
    pending(40)
    app.config.update(MAIL_BATCH_SIZE=10)
    report = deliver(db.session, now=datetime.now(UTC), budget=0.6)
    assert report.sent > 0 and report.left > 0 and report.failed == 0
    assert report.sent + report.left == 40
    assert len(slow_smtp.messages) == report.sent
    # Untried messages are back in the outbox as they were: no attempt counted, no lease.
    untried = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.status == EmailStatus.PENDING)
    ).all()
    assert len(untried) == report.left
    assert all(m.attempts == 0 and m.lease_owner is None for m in untried)
    # The next run sends the rest.
    rest = deliver(db.session, now=datetime.now(UTC), budget=60)
    assert (rest.sent, rest.left, rest.failed) == (report.left, 0, 0)
    assert sorted(m.envelope_to[0] for m in slow_smtp.messages) == sorted(
        f"to{n}@example.com" for n in range(40)
    )


def test_the_command_reports_sent_left_and_failed(app, slow_smtp):
    # Each message takes half a second and the budget is a few of them: some go, the rest are
    # left, however busy the machine (the run's own queries spend the budget too).
    slow_smtp.delay = 0.5
    broken = pending(1, prefix="broken")[0]
    broken.subject = "Bad\nSubject"  # refused before it reaches the server
    db.session.commit()
    pending(12)
    app.config.update(MAIL_BATCH_SIZE=4, MAIL_RUN_BUDGET_SECONDS=3)
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    sent, left = len(slow_smtp.messages), statuses()[EmailStatus.PENDING] - 1
    assert 0 < sent < 12 and left > 0, result.output
    assert f"sent {sent}, left {left}, failed 1" in result.output
    app.config.update(MAIL_RUN_BUDGET_SECONDS=60)
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert f"sent {12 - sent}, left 0, failed 1" in result.output  # the broken one, again
    assert len(slow_smtp.messages) == 12
    db.session.refresh(broken)
    assert broken.status == EmailStatus.PENDING and "ValueError" in broken.last_error


def test_a_claim_takes_one_batch_and_the_next_claim_the_next(app):
    """Each claim holds at most a batch, so an overlapping run finds the rest (PostgreSQL once
    claimed the whole outbox: its locking subquery with a LIMIT ran once per row updated)."""
    pending(45)
    now = datetime.now(UTC)
    first, second, third = (_Run(now, lease=timedelta(minutes=1), budget=None) for _ in range(3))
    batches = []
    for run in (first, second, third):
        batches.append(_claim(db.session, run, None, size=15))
        db.session.commit()
    assert [len(batch) for batch in batches] == [15, 15, 15]
    assert len({message.id for batch in batches for message in batch}) == 45
    assert (
        _claim(db.session, _Run(now, lease=timedelta(minutes=1), budget=None), None, size=15) == []
    )


def test_overlapping_slow_runs_never_send_a_message_twice(app, app_factory, slow_smtp):
    """A run sends a batch of 15 at 0.3 s each (4.5 s) under a 3 s lease, renewing it as it
    goes. A second run starts when the first's lease would have run out without renewal: it
    must leave the first run's batch alone and send only other batches.

    The lease is renewed every third of it (1 s): a message that starts just before a
    renewal is due ends 1.7 s before the lease does, room for a busy machine's pauses (a
    SQLite commit waiting for the disk, threads waiting for a CPU). Under a 1.5 s lease
    (0.8 s of room) a pause could cost the first run its lease, and its untried messages
    then wait for a later run: 2 of 5 runs on a loaded machine sent only 23 or 36 of 45."""
    slow_smtp.delay = 0.3
    pending(45)
    settings = dict(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=slow_smtp.port,
        MAIL_USE_TLS=False,
        MAIL_BATCH_SIZE=15,
        MAIL_LEASE_SECONDS=3.0,
    )
    apps = [app_factory(**settings), app_factory(**settings)]
    reports = [None, None]

    def run(number: int) -> None:
        with apps[number].app_context():
            reports[number] = deliver(db.session, now=datetime.now(UTC))
            db.session.remove()

    first = threading.Thread(target=run, args=(0,))
    first.start()
    deadline = time.monotonic() + 30
    while len(slow_smtp.messages) < 11 and time.monotonic() < deadline:  # 3.3 s in
        time.sleep(0.02)
    second = threading.Thread(target=run, args=(1,))
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)

    received = Counter(m.envelope_to[0] for m in slow_smtp.messages)
    assert [to for to, n in received.items() if n > 1] == []
    assert len(received) == 45
    assert reports[0].sent + reports[1].sent == 45
    assert reports[1].sent > 0  # the second run did send: other batches
    db.session.expire_all()
    assert statuses() == {EmailStatus.SENT: 45}


class Thief(SlowMail):
    """While the first message of a run is on its way, another run takes the rest of that
    batch (as it may once the first run's lease has run out)."""

    def __init__(self, engine, delay: float) -> None:
        super().__init__(delay)
        self.engine = engine

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if not self.messages:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(OutboundEmail)
                    .where(OutboundEmail.status == EmailStatus.SENDING)
                    .where(OutboundEmail.to_address != envelope.rcpt_tos[0])
                    .values(
                        lease_owner="another-run",
                        lease_until=datetime.now(UTC) + timedelta(minutes=5),
                    )
                )
        return await super().handle_DATA(server, session, envelope)


def test_messages_whose_lease_was_lost_count_as_left(app):
    received = Thief(db.engine, delay=0.3)
    received.port = _free_port()
    controller = Controller(received, hostname="127.0.0.1", port=received.port)
    controller.start()
    # The lease is renewed before each message after the first: the renewal finds it lost.
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=received.port,
        MAIL_USE_TLS=False,
        MAIL_BATCH_SIZE=5,
        MAIL_LEASE_SECONDS=0.6,
    )
    pending(5)
    try:
        report = deliver(db.session, now=datetime.now(UTC))
    finally:
        controller.stop()
    assert len(received.messages) == 1  # none of the taken messages went out twice
    assert (report.sent, report.left, report.failed) == (1, 4, 0)
    db.session.expire_all()
    assert statuses() == {EmailStatus.SENT: 1, EmailStatus.SENDING: 4}


def test_a_dead_runs_claims_are_sent_when_its_lease_ends(app, smtp_server):
    now = datetime.now(UTC)
    live, dead = pending(2)
    for message, lease_until in ((live, now + timedelta(minutes=4)), (dead, now)):
        message.status = EmailStatus.SENDING
        message.lease_owner = "another-run"
        message.lease_until = lease_until
        message.claimed_at = now - timedelta(minutes=1)
        message.attempts = 1
    db.session.commit()
    report = deliver(db.session, now=now + timedelta(seconds=1))
    assert (report.sent, report.left, report.failed) == (1, 0, 0)
    assert [m.envelope_to for m in smtp_server.messages] == [[dead.to_address]]
    db.session.refresh(live)
    assert live.status == EmailStatus.SENDING  # still the other run's
    report = deliver(db.session, now=now + timedelta(minutes=5))
    assert report.sent == 1 and len(smtp_server.messages) == 2


def test_an_unreachable_server_stops_the_run_after_one_attempt(app, smtp_server):
    pending(5)
    app.config["MAIL_PORT"] = 1  # nothing listens there
    report = deliver(db.session, now=datetime.now(UTC), budget=60)
    assert (report.sent, report.failed, report.left) == (0, 1, 4)
    attempts = sorted(db.session.scalars(sa.select(OutboundEmail.attempts)))
    assert attempts == [0, 0, 0, 0, 1]  # only the message that found the server down counts
    app.config["MAIL_PORT"] = smtp_server.port
    assert deliver(db.session, now=datetime.now(UTC)).sent == 5


def test_messages_being_sent_when_the_leases_came_keep_ten_minutes(empty_database, app_factory):
    """The migration gives messages the old code was sending a lease of the old rule's 10
    minutes from their claim."""
    app = app_factory(empty_database)
    claimed = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with app.app_context():
        upgrade(revision=f"{LEASE_MIGRATION}-1")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO outbound_email (to_address, subject, body, kind, status,"
                    " attempts, last_error, created_at, claimed_at) VALUES"
                    " ('a@example.com', 's', 'b', 'reminder', 'sending', 1, '', :t, :t),"
                    " ('b@example.com', 's', 'b', 'reminder', 'pending', 0, '', :t, NULL)"
                ),
                {"t": claimed.replace(tzinfo=None) if conn.dialect.name == "sqlite" else claimed},
            )
        upgrade()
        leases = db.session.execute(
            sa.select(OutboundEmail.status, OutboundEmail.lease_until).order_by(OutboundEmail.id)
        ).all()
        assert leases == [
            (EmailStatus.SENDING, claimed + timedelta(minutes=10)),
            (EmailStatus.PENDING, None),
        ]
        db.session.remove()
