"""Sending queued webhook deliveries: after the change's commit, and `flask send-webhooks`.

A sender claims one row at a time with a conditional UPDATE under a lease (as the email
outbox does), so two senders never post the same row at once; it posts with the guard's
pinned, timed-out POST and records the attempt. A 2xx marks the row delivered, written only
while the sender's lease holds, and a delivered row is never claimed again. Anything else is
retried with backoff (RETRY_AFTER), up to MAX_ATTEMPTS. A webhook failing for
WEBHOOK_PAUSE_AFTER_DAYS is paused and its organizers are told by email.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.services import organizers_of
from studygroup.mail.delivery import claim_queued, send_queued
from studygroup.mail.services import Link, queue_email
from studygroup.webhooks.guard import post
from studygroup.webhooks.models import (
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookFormat,
)
from studygroup.webhooks.services import pause_webhook, queue_gap_events

# Wait before the next try, after the 1st, 2nd... failed attempt (the last repeats).
RETRY_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
MAX_ATTEMPTS = 10  # about four days of tries: past the pause after three days of failures


def retry_after(attempts: int) -> timedelta:
    return RETRY_AFTER[min(attempts, len(RETRY_AFTER)) - 1]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` and the hex HMAC-SHA256 of "<timestamp>.<body>" with the webhook's secret."""
    signed = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass
class Report:
    delivered: int = 0
    failed: int = 0  # attempts that did not get a 2xx (the row may be retried)
    paused: int = 0


def deliver_due(
    db_session: Session, *, now: datetime, ids: list[int] | None = None, budget: float = 50
) -> Report:
    """Post every delivery that is due (or those of `ids`), one at a time, until none is
    left or `budget` seconds have passed. Uses a database session of its own, committing
    after each claim and each result."""
    report = Report()
    started = time.monotonic()
    with Session(db_session.get_bind()) as own:
        tried: set[int] = set()
        while time.monotonic() - started < budget:
            clock = now + timedelta(seconds=time.monotonic() - started)
            claimed = _claim(own, clock, ids, exclude=tried)
            if claimed is None:
                break
            tried.add(claimed.id)
            _attempt(own, claimed, now=clock, report=report)
    return report


def _ready(now: datetime):
    return sa.or_(
        sa.and_(
            WebhookDelivery.status == DeliveryStatus.QUEUED,
            WebhookDelivery.next_attempt_at <= now,
        ),
        sa.and_(
            WebhookDelivery.status == DeliveryStatus.DELIVERING,
            WebhookDelivery.lease_until < now,
        ),
    )


def _claim(db_session: Session, now: datetime, ids, *, exclude: set[int]):
    """Claim the next due delivery of a live webhook (of `ids`), not one this run tried."""
    lease = timedelta(seconds=current_app.config["WEBHOOK_LEASE_SECONDS"])
    live = sa.select(Webhook.id).where(Webhook.paused_at.is_(None), Webhook.archived_at.is_(None))
    pick = (
        sa.select(WebhookDelivery.id)
        .where(_ready(now), WebhookDelivery.webhook_id.in_(live.scalar_subquery()))
        .order_by(WebhookDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        pick = pick.where(WebhookDelivery.id.in_(ids))
    if exclude:
        pick = pick.where(WebhookDelivery.id.not_in(exclude))
    owner = secrets.token_hex(16)
    row = db_session.execute(
        sa.update(WebhookDelivery)
        # `_ready` again: under READ COMMITTED a row claimed meanwhile is checked again here.
        .where(WebhookDelivery.id == pick.scalar_subquery(), _ready(now))
        .values(
            status=DeliveryStatus.DELIVERING,
            lease_owner=owner,
            lease_until=now + lease,
            attempts=WebhookDelivery.attempts + 1,
        )
        .returning(
            WebhookDelivery.id,
            WebhookDelivery.webhook_id,
            WebhookDelivery.event,
            WebhookDelivery.payload,
            WebhookDelivery.attempts,
            WebhookDelivery.lease_owner,
        )
        .execution_options(synchronize_session=False)
    ).first()
    db_session.commit()
    return row


def _attempt(db_session: Session, claimed, *, now: datetime, report: Report) -> None:
    config = current_app.config
    webhook = db_session.get(Webhook, claimed.webhook_id)
    body = claimed.payload.encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "studygroup-webhooks/1",
        "X-Studygroup-Event": claimed.event,
        "X-Studygroup-Delivery": str(claimed.id),
    }
    if webhook.format == WebhookFormat.JSON:
        headers["X-Studygroup-Timestamp"] = str(timestamp)
        headers["X-Studygroup-Signature"] = signature(webhook.secret, timestamp, body)
    answer = post(
        webhook.url,
        body,
        headers,
        timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
        allow_private=config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"],
    )
    done = answer.status is not None and 200 <= answer.status < 300
    error = answer.error or ("" if done else f"HTTP {answer.status}")
    mine = sa.and_(
        WebhookDelivery.id == claimed.id,
        WebhookDelivery.lease_owner == claimed.lease_owner,
        WebhookDelivery.status == DeliveryStatus.DELIVERING,
    )
    values: dict = {"lease_owner": None, "lease_until": None, "last_status": answer.status}
    if done:
        values.update(status=DeliveryStatus.DELIVERED, delivered_at=now, last_error="")
        report.delivered += 1
    else:
        gave_up = claimed.attempts >= MAX_ATTEMPTS
        values.update(
            status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.QUEUED,
            next_attempt_at=now + retry_after(claimed.attempts),
            last_error=error[:300],
        )
        report.failed += 1
    db_session.execute(
        sa.update(WebhookDelivery)
        .where(mine)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db_session.add(
        WebhookAttempt(
            webhook_id=webhook.id,
            delivery_id=claimed.id,
            at=now,
            status_code=answer.status,
            error=error[:300],
            duration_ms=answer.duration_ms,
        )
    )
    # Only a change of state writes the webhook's row (it is what organizers' pages show).
    if done and webhook.failing_since is not None:
        webhook.failing_since = None
    elif not done and webhook.failing_since is None:
        webhook.failing_since = now
    db_session.commit()
    if not done:
        current_app.logger.warning(
            "webhook not delivered; will retry",
            extra={"fields": {"delivery_id": claimed.id, "error": error[:300]}},
        )


def pause_failing(db_session: Session, *, now: datetime) -> list[Webhook]:
    """Pause every live webhook failing since WEBHOOK_PAUSE_AFTER_DAYS or longer and queue
    an email to each of its group's organizers. The caller commits, then sends the mail."""
    since = now - timedelta(days=current_app.config["WEBHOOK_PAUSE_AFTER_DAYS"])
    failing = db_session.scalars(
        sa.select(Webhook)
        .where(
            Webhook.failing_since <= since,
            Webhook.paused_at.is_(None),
            Webhook.archived_at.is_(None),
        )
        .order_by(Webhook.id)
        .with_for_update(skip_locked=True)
    ).all()
    for webhook in failing:
        pause_webhook(webhook, now=now, for_failing=True)
        for organizer in organizers_of(db_session, webhook.group):
            queue_email(
                db_session,
                user=organizer,
                kind="webhook_paused",
                group=webhook.group,
                note=webhook.url,
                link=Link("webhooks.show", {"slug": webhook.group.slug, "webhook_id": webhook.id}),
                now=now,
            )
    return failing


def send_committed(app, ids: list[int]) -> None:
    """Post what a request's committed change queued, after its response is sent
    (`response.call_on_close`): a slow receiver never slows the organizer's page. What is
    not delivered now waits for `send-webhooks`. Never raises."""
    with app.app_context():
        try:
            deliver_due(
                db.session, now=utcnow(), ids=ids, budget=app.config["WEBHOOK_TIMEOUT_SECONDS"] * 2
            )
        except Exception:
            app.logger.exception("sending webhooks after the response failed")
        finally:
            db.session.remove()


@click.command("send-webhooks")
@with_appcontext
def send_webhooks_command() -> None:
    """Queue "a role still has gaps" events, post every due delivery within
    WEBHOOK_RUN_BUDGET_SECONDS, pause webhooks failing for days (telling their organizers).
    Run by cron every minute."""
    now = utcnow()
    queued = queue_gap_events(db.session, now=now)
    db.session.commit()
    report = deliver_due(
        db.session, now=utcnow(), budget=current_app.config["WEBHOOK_RUN_BUDGET_SECONDS"]
    )
    paused = pause_failing(db.session, now=utcnow())
    claim_queued(db.session, now=utcnow())
    db.session.commit()
    send_queued(db.session, now=utcnow())
    click.echo(
        f"gap events queued: {queued}; delivered {report.delivered}, "
        f"failed attempts {report.failed}; paused {len(paused)}"
    )
