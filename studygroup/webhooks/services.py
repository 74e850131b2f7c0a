"""Webhooks: organizers' settings, and events queued in the transaction of the change.

The sessions and sign-ups services say what happened (`studygroup.events`); the receivers
here write one `WebhookDelivery` per live webhook of the group that wants the event, in the
same transaction, so an event is queued if and only if its change commits. The ids queued
are kept in `db_session.info` for delivery after the commit (studygroup.webhooks.delivery).
"""

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, joinedload, object_session

from studygroup import events
from studygroup.auth.models import User
from studygroup.db import insert_ignoring
from studygroup.groups.models import Group
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.webhooks.guard import vet_url
from studygroup.webhooks.models import (
    EVENTS,
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookFormat,
    new_secret,
)
from studygroup.webhooks.payloads import body_for, event_data, role_data, session_data

QUEUED = "queued_webhooks"  # db_session.info: ids queued in this transaction
COMMITTED = "committed_webhooks"  # ... and committed, waiting to be sent
ATTEMPTS_SHOWN = 50


# --- organizers' settings -----------------------------------------------------------------


def check_url(url: str) -> None:
    """Refuse (guard.UnsafeURL) a URL that may not receive webhooks, resolving it now."""
    vet_url(url, allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"])


def create_webhook(
    db_session: Session,
    *,
    group: Group,
    creator: User,
    url: str,
    events: list[str],
    format: WebhookFormat,
    language: str,
    gap_days_before: int,
    now: datetime,
) -> Webhook:
    """A new live webhook with a random secret; the caller checked the URL (`check_url`)."""
    webhook = Webhook(
        group_id=group.id,
        url=url.strip(),
        events=[e for e in EVENTS if e in events],
        format=format,
        language=language,
        gap_days_before=gap_days_before,
        secret=new_secret(),
        created_by_id=creator.id,
        created_at=now,
    )
    db_session.add(webhook)
    db_session.flush()
    return webhook


def update_webhook(
    webhook: Webhook,
    *,
    url: str,
    events: list[str],
    format: WebhookFormat,
    language: str,
    gap_days_before: int,
) -> None:
    """Change what the webhook gets from now on; deliveries already queued keep their body.
    (An archived webhook has no edit page.)"""
    webhook.url = url.strip()
    webhook.events = [e for e in EVENTS if e in events]
    webhook.format = format
    webhook.language = language
    webhook.gap_days_before = gap_days_before


def pause_webhook(webhook: Webhook, *, now: datetime, for_failing: bool = False) -> bool:
    """Stop sending to it (no new events; queued ones wait). False when it was paused."""
    if webhook.paused_at is not None or webhook.archived_at is not None:
        return False
    webhook.paused_at = now
    webhook.paused_for_failing = for_failing
    return True


def resume_webhook(db_session: Session, webhook: Webhook, *, now: datetime) -> None:
    """Send to it again: its queued deliveries are due now, its failing clock starts over."""
    if webhook.archived_at is not None:
        return
    webhook.paused_at = None
    webhook.paused_for_failing = False
    webhook.failing_since = None
    db_session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == webhook.id,
            WebhookDelivery.status == DeliveryStatus.QUEUED,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )


def archive_webhook(db_session: Session, webhook: Webhook, *, now: datetime) -> None:
    """Stop it for good, keeping it and its history; what was still queued is given up."""
    if webhook.archived_at is not None:
        return
    webhook.archived_at = now
    db_session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == webhook.id,
            WebhookDelivery.status == DeliveryStatus.QUEUED,
        )
        .values(status=DeliveryStatus.FAILED, last_error="archived")
        .execution_options(synchronize_session=False)
    )


def new_secret_for(webhook: Webhook) -> str:
    webhook.secret = new_secret()
    return webhook.secret


def webhooks_of(db_session: Session, group: Group) -> list[Webhook]:
    """The group's webhooks, archived last."""
    return list(
        db_session.scalars(
            sa.select(Webhook)
            .where(Webhook.group_id == group.id)
            .order_by(Webhook.archived_at.is_not(None), Webhook.id)
        )
    )


def webhook_of(db_session: Session, group: Group, webhook_id: int) -> Webhook | None:
    return db_session.scalar(
        sa.select(Webhook).where(Webhook.id == webhook_id, Webhook.group_id == group.id)
    )


def last_attempts(db_session: Session, webhook: Webhook) -> list[WebhookAttempt]:
    """The webhook's last ATTEMPTS_SHOWN attempts, newest first, with their deliveries."""
    return list(
        db_session.scalars(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.webhook_id == webhook.id)
            .options(joinedload(WebhookAttempt.delivery))
            .order_by(WebhookAttempt.id.desc())
            .limit(ATTEMPTS_SHOWN)
        )
    )


# --- queueing events ----------------------------------------------------------------------


def queue_event(
    db_session: Session,
    *,
    webhooks: list[Webhook],
    event: str,
    key: str,
    data: dict,
    now: datetime,
) -> list[int]:
    """Queue `data` for each of `webhooks` once: a webhook that has a delivery with this
    `key` already is left out (insert on the unique key, so two writers cannot both queue
    it). The ids queued, also noted for delivery after the commit."""
    rows = [
        {
            "webhook_id": webhook.id,
            "event": event,
            "event_key": key,
            "payload": body_for(webhook, data),
            "status": DeliveryStatus.QUEUED,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
        }
        for webhook in webhooks
    ]
    if not rows:
        return []
    ids = insert_ignoring(
        db_session,
        WebhookDelivery,
        rows,
        index_elements=[WebhookDelivery.webhook_id, WebhookDelivery.event_key],
        returning=WebhookDelivery.id,
    )
    db_session.info.setdefault(QUEUED, []).extend(ids)
    return ids


def _listening(db_session: Session, group_id: int, event: str) -> list[Webhook]:
    return [
        webhook
        for webhook in db_session.scalars(
            sa.select(Webhook).where(
                Webhook.group_id == group_id,
                Webhook.paused_at.is_(None),
                Webhook.archived_at.is_(None),
            )
        )
        if webhook.wants(event)
    ]


def _queue_about(study_session: StudySession, event: str, key: str, now: datetime, /, **about):
    db_session = object_session(study_session)
    webhooks = _listening(db_session, study_session.group_id, event)
    if webhooks:
        data = event_data(event, key, group=study_session.group, now=now, **about)
        queue_event(db_session, webhooks=webhooks, event=event, key=key, data=data, now=now)


@events.session_posted.connect
def _session_posted(session: StudySession, *, now: datetime, **_) -> None:
    _queue_about(
        session, "session.posted", f"posted:{session.id}", now, session=session_data(session)
    )


@events.series_posted.connect
def _series_posted(series, *, sessions: list[StudySession], now: datetime, **_) -> None:
    if not sessions:
        return
    first = sessions[0]
    db_session = object_session(first)
    webhooks = _listening(db_session, first.group_id, "session.posted")
    if not webhooks:
        return
    key = f"series:{series.id}"
    data = event_data(
        "series.posted",
        key,
        group=first.group,
        now=now,
        series={"id": series.id, "title": series.title, "rule": series.rrule},
        sessions=[session_data(s) for s in sessions],
    )
    queue_event(db_session, webhooks=webhooks, event="series.posted", key=key, data=data, now=now)


@events.session_moved.connect
def _session_moved(session: StudySession, *, now: datetime, **previous) -> None:
    _queue_about(
        session,
        "session.moved",
        f"moved:{session.id}:{session.sequence}",
        now,
        session=session_data(session),
        previous_starts_at=_iso(previous.get("previous_starts_at")),
        previous_ends_at=_iso(previous.get("previous_ends_at")),
    )


@events.session_cancelled.connect
def _session_cancelled(session: StudySession, *, now: datetime, **_) -> None:
    _queue_about(
        session,
        "session.cancelled",
        f"cancelled:{session.id}:{session.sequence}",
        now,
        session=session_data(session),
    )


@events.place_freed.connect
def _place_freed(place: Assignment, *, now: datetime, **_) -> None:
    slot = place.slot
    db_session = object_session(place)
    if not _listening(db_session, slot.session.group_id, "place.freed"):
        return
    filled = _confirmed_counts(db_session, [slot.id]).get(slot.id, 0)
    _queue_about(
        slot.session,
        "place.freed",
        f"freed:{place.id}",
        now,
        session=session_data(slot.session),
        role=role_data(slot, filled=filled),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _confirmed_counts(db_session: Session, slot_ids: list[int]) -> dict[int, int]:
    rows = db_session.execute(
        sa.select(Assignment.slot_id, sa.func.count())
        .where(
            Assignment.slot_id.in_(slot_ids),
            Assignment.status == AssignmentStatus.CONFIRMED,
        )
        .group_by(Assignment.slot_id)
    )
    return dict(rows.all())


def queue_gap_events(db_session: Session, *, now: datetime) -> int:
    """ "A role still has gaps N days before": for each live webhook that wants it, every
    role of a scheduled session starting within its `gap_days_before` that has fewer
    confirmed places than it needs, queued once per role and webhook (`gaps:<slot>`; a run
    again later finds it queued). Returns how many were queued; the caller commits."""
    webhooks = [
        w
        for w in db_session.scalars(
            sa.select(Webhook)
            .where(Webhook.paused_at.is_(None), Webhook.archived_at.is_(None))
            .options(joinedload(Webhook.group))
        )
        if w.wants("role.gaps")
    ]
    queued = 0
    for webhook in webhooks:
        slots = db_session.scalars(
            sa.select(RoleSlot)
            .join(StudySession, StudySession.id == RoleSlot.session_id)
            .where(
                StudySession.group_id == webhook.group_id,
                StudySession.status == SessionStatus.SCHEDULED,
                StudySession.starts_at > now,
                StudySession.starts_at <= now + timedelta(days=webhook.gap_days_before),
            )
            .options(joinedload(RoleSlot.session), joinedload(RoleSlot.role_type))
            .order_by(StudySession.starts_at, RoleSlot.position, RoleSlot.id)
        ).all()
        if not slots:
            continue
        known = set(
            db_session.scalars(
                sa.select(WebhookDelivery.event_key).where(
                    WebhookDelivery.webhook_id == webhook.id,
                    WebhookDelivery.event_key.in_([f"gaps:{s.id}" for s in slots]),
                )
            )
        )
        filled = _confirmed_counts(db_session, [s.id for s in slots])
        for slot in slots:
            key = f"gaps:{slot.id}"
            if key in known or filled.get(slot.id, 0) >= slot.headcount:
                continue
            data = event_data(
                "role.gaps",
                key,
                group=webhook.group,
                now=now,
                session=session_data(slot.session),
                role=role_data(slot, filled=filled.get(slot.id, 0)),
            )
            queued += len(
                queue_event(
                    db_session, webhooks=[webhook], event="role.gaps", key=key, data=data, now=now
                )
            )
    return queued


def queue_test_event(db_session: Session, webhook: Webhook, *, now: datetime) -> int:
    """A test event for this webhook alone; the delivery's id. Sent only while the webhook
    is live (a paused one's deliveries wait)."""
    key = f"test:{uuid.uuid4().hex}"
    data = event_data("test", key, group=webhook.group, now=now)
    [delivery_id] = queue_event(
        db_session, webhooks=[webhook], event="test", key=key, data=data, now=now
    )
    return delivery_id


# --- after the commit ---------------------------------------------------------------------


@sa.event.listens_for(Session, "after_commit")
def _queued_are_committed(db_session: Session) -> None:
    queued = db_session.info.pop(QUEUED, None)
    if queued:
        db_session.info.setdefault(COMMITTED, []).extend(queued)


@sa.event.listens_for(Session, "after_rollback")
def _queued_are_gone(db_session: Session) -> None:
    db_session.info.pop(QUEUED, None)
