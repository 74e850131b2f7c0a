"""Sending the outbox: claim rows in batches under a lease this run renews while it sends
them, so two senders never send the same row, and a failed send stays pending for the next
run (up to MAX_ATTEMPTS). `send_queued` sends what a request queued, after its commit."""

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.mail.smtp import Connection, MailServerUnreachable

MAX_ATTEMPTS = 8


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    left: int = 0  # still waiting when the run stopped (its time budget ran out)


def claim_queued(db_session: Session, *, now: datetime) -> None:
    """Claim the messages this session queued for the `send_queued` that follows the commit,
    inside the change's own transaction: one UPDATE there instead of a transaction of its own
    after it (a sign-up rush pays for every round trip), none for the messages written
    claimed already (`claim_on_insert`). Should that sender never run, the claim's lease ends
    and the next `send-reminders` run sends them."""
    ids = db_session.info.get("queued_emails")
    run = db_session.info.pop(_CLAIMING, None)
    claimed = db_session.info.pop(_CLAIMED_ON_INSERT, [])
    if not ids:
        return
    if run is None:
        config = current_app.config
        run = _Run(now, lease=timedelta(seconds=config["MAIL_LEASE_SECONDS"]), budget=None)
    written_claimed = {message.id for message in claimed}
    rest = [i for i in ids if i not in written_claimed]
    if rest:
        claimed = claimed + _claim(db_session, run, rest, size=len(rest))
    db_session.info["claimed_emails"] = (run, sorted(claimed, key=lambda message: message.id))


def claim_on_insert(db_session: Session, *, now: datetime) -> None:
    """Messages this session queues from now on (those without a `dedupe_key`) are written
    claimed already, for the `claim_queued` and `send_queued` around the commit that follows:
    their INSERT is the claim, and the claim's UPDATE is not sent. For a request that
    commits with `commit_and_send` (a sign-up: many at once, each paying for every statement).
    Nobody else sees the rows before the commit, so no other sender can have them."""
    config = current_app.config
    db_session.info[_CLAIMING] = _Run(
        now, lease=timedelta(seconds=config["MAIL_LEASE_SECONDS"]), budget=None
    )


_CLAIMING = "studygroup.mail.claiming_run"
_CLAIMED_ON_INSERT = "studygroup.mail.claimed_on_insert"


class _Claimed(NamedTuple):
    """What sending a claimed message needs, as `_claim` returns it."""

    id: int
    to_address: str
    subject: str
    body: str
    created_at: datetime
    attempts: int
    qr_text: str | None

    @classmethod
    def of(cls, message: OutboundEmail) -> "_Claimed":
        return cls(
            message.id,
            message.to_address,
            message.subject,
            message.body,
            message.created_at,
            message.attempts,
            message.qr_text,
        )


def _claim_on_insert(message: OutboundEmail, run: "_Run") -> None:
    clock = run.clock()
    message.status = EmailStatus.SENDING
    message.lease_owner = run.owner
    message.lease_until = clock + run.lease
    message.claimed_at = clock
    message.attempts = 1


def add_to_outbox(db_session: Session, message: OutboundEmail) -> None:
    """Add and flush `message`; written claimed already after `claim_on_insert`."""
    run = db_session.info.get(_CLAIMING)
    if run is not None:
        _claim_on_insert(message, run)
    db_session.add(message)
    db_session.flush()
    if run is not None:
        db_session.info.setdefault(_CLAIMED_ON_INSERT, []).append(_Claimed.of(message))


@sa.event.listens_for(Session, "after_rollback")
def _forget_claimed_on_insert(db_session: Session) -> None:
    # Rolled back, they were never written: nothing to send.
    db_session.info.pop(_CLAIMED_ON_INSERT, None)


def send_queued(db_session: Session, *, now: datetime) -> DeliveryReport:
    """Send the messages this session queued, after the caller's commit. Never raises."""
    ids = db_session.info.pop("queued_emails", [])
    claimed = db_session.info.pop("claimed_emails", None)
    if not ids:
        return DeliveryReport()
    return deliver(db_session, now=now, ids=ids, claimed=claimed)


class _Run:
    """One sender's claims: its lease owner name, its clock and its time budget.

    The clock is `now` plus the time the run has taken (monotonic), so leases move on while
    a run works, whatever `now` it was given.
    """

    def __init__(self, now: datetime, *, lease: timedelta, budget: float | None) -> None:
        self.owner = secrets.token_hex(16)
        self.started = now
        self.lease = lease
        self.budget = budget
        self._t0 = time.monotonic()
        self.renewed = self.elapsed()

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def clock(self) -> datetime:
        return self.started + timedelta(seconds=self.elapsed())

    def out_of_time(self) -> bool:
        return self.budget is not None and self.elapsed() >= self.budget

    def renewal_due(self) -> bool:
        # A third of the lease: a message started just before renewal was due still has two
        # thirds of a lease to finish in.
        return self.elapsed() - self.renewed >= self.lease.total_seconds() / 3

    def ready(self):
        """What this run may claim: claimable, and not tried by this run already (a message
        that failed waits for the next run instead of being retried at once)."""
        return sa.and_(
            _claimable(self.clock()),
            sa.or_(OutboundEmail.claimed_at.is_(None), OutboundEmail.claimed_at < self.started),
        )


def deliver(
    db_session: Session,
    *,
    now: datetime,
    ids: list[int] | None = None,
    budget: float | None = None,
    claimed: tuple | None = None,
) -> DeliveryReport:
    """Claim and send every pending message (or those of `ids`), a batch at a time, until
    none is left or `budget` seconds have passed; what is left waits for the next run.
    `claimed`: a run and the batch it claimed already (`claim_queued`), sent first.

    A batch is claimed in one UPDATE under a lease that this run renews (a heartbeat) while
    it sends, so an overlapping run never takes a message this one is still sending, and the
    rows of a run that died become claimable when their lease ends. Each batch shares one
    SMTP connection. Commits after each claim and each result, so a crash or a failed send
    never loses a message; a failed one is retried by a later run, up to MAX_ATTEMPTS.
    """
    # A session of its own: its many commits leave the caller's loaded objects alone.
    with _OutboxSession(db_session.get_bind()) as own:
        return _deliver(own, now=now, ids=ids, budget=budget, claimed=claimed)


class _OutboxSession(Session):
    """The sender's own session (see `_commit_without_waiting`, listening on this class: once
    per process, not once per delivery)."""


@sa.event.listens_for(_OutboxSession, "after_begin")
def _commit_without_waiting(db_session, transaction, connection) -> None:
    """The outbox's bookkeeping (claims, leases, "sent") commits without waiting for the
    disk (PostgreSQL's asynchronous commit): each wait is milliseconds, several per sign-up,
    and the data revision's row lock makes every writer wait for them too. A database crash
    can lose the last fraction of a second of them: a message then goes out again when its
    lease ends, which delivery already allows (a run that dies after sending does the same)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _deliver(db_session: Session, *, now, ids, budget, claimed) -> DeliveryReport:
    config = current_app.config
    if claimed is not None:
        run, ready_batch = claimed
    else:
        run = _Run(now, lease=timedelta(seconds=config["MAIL_LEASE_SECONDS"]), budget=budget)
        ready_batch = None
    report = DeliveryReport()
    waiting = None if ids is None else set(ids)
    while not run.out_of_time():
        if ready_batch is not None:
            batch, ready_batch = ready_batch, None
        else:
            batch = _claim_batch(db_session, run, ids, size=config["MAIL_BATCH_SIZE"])
        if not batch:
            break
        with Connection(config) as connection:
            if not _send_batch(db_session, run, batch, connection, report):
                break
        if waiting is not None:
            waiting.difference_update(message.id for message in batch)
            if not waiting:
                # Every message asked for was claimed and tried by this run (sent, failed or
                # counted as left): no claim or count would find any of them again.
                return report
    # Left: what the next batch would have claimed, and what this run gave back untried.
    left = sa.select(sa.func.count()).select_from(OutboundEmail).where(run.ready())
    if ids is not None:
        left = left.where(OutboundEmail.id.in_(ids))
    report.left += db_session.scalar(left)
    db_session.commit()
    return report


def _claim_batch(db_session: Session, run: _Run, ids, *, size: int) -> list[sa.Row]:
    batch = _claim(db_session, run, ids, size=size)
    db_session.commit()
    run.renewed = run.elapsed()
    return batch


def _claim(db_session: Session, run: _Run, ids, *, size: int) -> list[sa.Row]:
    """Claim up to `size` ready messages (of `ids`, when given) for `run`; the caller commits."""
    clock = run.clock()
    ready = run.ready()
    pick = (
        sa.select(OutboundEmail.id)
        .where(ready)
        .order_by(OutboundEmail.id)
        .limit(size)
        .with_for_update(skip_locked=True)  # PostgreSQL: rows another run is claiming
    )
    if ids is not None:
        pick = pick.where(OutboundEmail.id.in_(ids))
    # A materialized CTE, not `IN (subquery)`: PostgreSQL may run a locking subquery with a
    # LIMIT once per row it updates, and so claim every ready message, not one batch.
    picked = pick.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
    # Rows, not ORM objects: the run's many commits then have nothing to expire. The claim
    # returns what sending needs (`attempts` counts this try).
    claimed = db_session.execute(
        sa.update(OutboundEmail)
        # `ready` again: under READ COMMITTED a row claimed meanwhile is re-checked here.
        .where(OutboundEmail.id.in_(sa.select(picked.c.id)), ready)
        .values(
            status=EmailStatus.SENDING,
            lease_owner=run.owner,
            lease_until=clock + run.lease,
            claimed_at=clock,
            attempts=OutboundEmail.attempts + 1,
        )
        .returning(
            OutboundEmail.id,
            OutboundEmail.to_address,
            OutboundEmail.subject,
            OutboundEmail.body,
            OutboundEmail.created_at,
            OutboundEmail.attempts,
            OutboundEmail.qr_text,
        )
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(claimed, key=lambda message: message.id)


def _send_batch(db_session, run: _Run, batch, connection, report: DeliveryReport) -> bool:
    """Send a claimed batch; False when the run must stop (out of time, server unreachable).
    Messages it did not try go back to the outbox as they were (those still ours). Every
    message of the batch counts once in the report: sent, failed or left (untried,
    or its lease lost: another run may have it, or it waits for the next run)."""
    held = {message.id for message in batch}
    for index, message in enumerate(batch):
        if run.out_of_time():
            _release(db_session, run, batch[index:])
            report.left += len(batch) - index
            return False
        if run.renewal_due():
            held = _renew(db_session, run, batch[index:])
        if message.id not in held:
            report.left += 1
            continue  # our lease ran out and another run may have it: never send it twice
        try:
            connection.send(message)
        except Exception as error:  # log it, keep the message, go on with the rest
            cause = error.__cause__ if isinstance(error, MailServerUnreachable) else error
            _finish(db_session, run, message, error=cause)
            report.failed += 1
            if isinstance(error, MailServerUnreachable):
                _release(db_session, run, batch[index + 1 :])
                report.left += len(batch) - index - 1
                return False
        else:
            _finish(db_session, run, message)
            report.sent += 1
    return True


def _mine(run: _Run, messages):
    return sa.and_(
        OutboundEmail.id.in_([m.id for m in messages]),
        OutboundEmail.lease_owner == run.owner,
        OutboundEmail.status == EmailStatus.SENDING,
    )


def _renew(db_session: Session, run: _Run, messages) -> set[int]:
    """Extend the lease on `messages` while it still holds; the ids still ours."""
    clock = run.clock()
    kept = db_session.scalars(
        sa.update(OutboundEmail)
        .where(_mine(run, messages), OutboundEmail.lease_until > clock)
        .values(lease_until=clock + run.lease)
        .returning(OutboundEmail.id)
        .execution_options(synchronize_session=False)
    ).all()
    db_session.commit()
    run.renewed = run.elapsed()
    return set(kept)


def _release(db_session: Session, run: _Run, messages) -> None:
    """Give untried messages back as they were before the claim (those still ours)."""
    if messages:
        db_session.execute(
            sa.update(OutboundEmail)
            .where(_mine(run, messages))
            .values(
                status=EmailStatus.PENDING,
                lease_owner=None,
                lease_until=None,
                attempts=OutboundEmail.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )
    db_session.commit()


def _finish(db_session: Session, run: _Run, message, *, error: BaseException | None = None):
    if error is None:
        # Most messages: a statement built once per process (every sign-up sends it).
        parameters = {"message_id": message.id, "owner": run.owner, "at": run.clock()}
        db_session.execute(_sent_statement(), parameters)
        db_session.commit()
        return
    values: dict = {
        "lease_owner": None,
        "lease_until": None,
        "status": EmailStatus.FAILED if message.attempts >= MAX_ATTEMPTS else EmailStatus.PENDING,
        "last_error": f"{type(error).__name__}: {error}"[:500],
    }
    current_app.logger.warning(
        "email not sent; will retry",
        extra={"fields": {"email_id": message.id, "error": values["last_error"]}},
    )
    db_session.execute(
        sa.update(OutboundEmail)
        .where(_mine(run, [message]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db_session.commit()


@cache
def _sent_statement() -> sa.Update:
    """A message sent: as `_mine` (still ours), status SENT, the lease given back."""
    return (
        sa.update(OutboundEmail)
        .where(
            OutboundEmail.id == sa.bindparam("message_id"),
            OutboundEmail.lease_owner == sa.bindparam("owner"),
            OutboundEmail.status == EmailStatus.SENDING,
        )
        .values(
            status=EmailStatus.SENT,
            sent_at=sa.bindparam("at"),
            lease_owner=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )


def _claimable(now: datetime):
    return sa.or_(
        OutboundEmail.status == EmailStatus.PENDING,
        sa.and_(OutboundEmail.status == EmailStatus.SENDING, OutboundEmail.lease_until < now),
    )
