"""What members holding or waiting for a place hear about the session itself: word that it
changed or was cancelled (`notify_session_change`), and reminders before it (which are due:
the one rule for places and participants; claiming them into the outbox).

`flask send-reminders`: run by cron (e.g. every 15 minutes). It also forgets login
attempts that no throttling rule reads any more, and adds the sessions started since the last
run to the co-working ties (`studygroup.coworking.ties.advance_ties`)."""

import time
from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session, joinedload

from studygroup.auth.throttle import forget_old_attempts
from studygroup.coworking.ties import advance_ties
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Group
from studygroup.mail.delivery import deliver
from studygroup.mail.models import OutboundEmail
from studygroup.mail.services import claim_in_chunks, compose_email, queue_email
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import LIVE_STATUSES, Assignment, AssignmentStatus


def notify_session_change(
    db_session: Session, session: StudySession, *, changes: tuple[str, ...], now: datetime
) -> set[int]:
    """Email everyone holding or waiting for a place that the session changed or was
    cancelled (what changed is named), each member once. Returns the ids of the members
    told, so participants who are staff too are not told twice
    (`participants.services.notify_participants_of_change`)."""
    places = db_session.scalars(
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(RoleSlot.session_id == session.id, Assignment.status.in_(LIVE_STATUSES))
        .options(joinedload(Assignment.user), joinedload(Assignment.slot))
        .order_by(Assignment.id)
    ).all()
    kind = "session_cancelled" if session.is_cancelled else "session_changed"
    told: set[int] = set()
    for place in places:
        if place.user_id in told:
            continue
        told.add(place.user_id)
        queue_email(db_session, user=place.user, kind=kind, place=place, changes=changes, now=now)
    return told


def longest_reminder_lead(db_session: Session) -> int:
    """The longest reminder lead (hours) any group sets; 0 when no group sends reminders."""
    groups = db_session.scalars(sa.select(Group)).all()
    return max((max(g.reminder_leads, default=0) for g in groups), default=0)


def reminder_lead_due(session: StudySession, got_it_at: datetime | None, now: datetime):
    """The lead (hours) whose reminder is due now for someone coming to `session`, or None.

    Only the nearest lead that has passed counts (so a run that was down for a day sends one
    reminder, not two), and none for a lead that had already passed when the member got
    their place or seat (`got_it_at`): their confirmation email said it all. The one rule
    for places and participants.
    """
    starts = session.starts_at
    passed = [h for h in session.group.reminder_leads if starts - timedelta(hours=h) <= now]
    if not passed:
        return None
    lead = min(passed)
    if got_it_at is not None and got_it_at > starts - timedelta(hours=lead):
        return None
    return lead


def unclaimed_reminders(db_session: Session, due: list, key) -> list:
    """`due` ((place or participant, lead) pairs) less those an earlier run already wrote
    into the outbox (its dedupe key `key(item, lead)`): each run then only does new work."""
    if not due:
        return due
    keys = {key(item, lead) for item, lead in due}
    claimed = set(
        db_session.scalars(
            sa.select(OutboundEmail.dedupe_key).where(OutboundEmail.dedupe_key.in_(keys))
        )
    )
    return [(item, lead) for item, lead in due if key(item, lead) not in claimed]


def reminder_key(place: Assignment, lead: int) -> str:
    return f"reminder:{place.id}:{lead}"


def due_reminders(db_session: Session, *, now: datetime) -> list[tuple[Assignment, int]]:
    """Confirmed places whose reminder is due now, with the lead time (hours) it is for
    (`reminder_lead_due`), none an earlier run claimed already."""
    longest = longest_reminder_lead(db_session)
    if not longest:
        return []
    places = db_session.scalars(
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            Assignment.status == AssignmentStatus.CONFIRMED,
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at > now,
            StudySession.starts_at <= now + timedelta(hours=longest),
        )
        .options(
            joinedload(Assignment.user),
            joinedload(Assignment.slot).joinedload(RoleSlot.session).joinedload(StudySession.group),
        )
    ).all()
    due = [
        (place, lead)
        for place in places
        if (lead := reminder_lead_due(place.slot.session, place.confirmed_at, now)) is not None
    ]
    return unclaimed_reminders(db_session, due, reminder_key)


def claim_reminders(db_session, *, now) -> int:
    """Write each due reminder (places, then participants) into the outbox once. The
    outbox's unique `dedupe_key` (place or participant, and lead time) is the claim: when
    two runs overlap, a reminder the other run wrote first is left out of this run's
    insert, so no reminder is ever written twice.
    Composes them all, then writes them in chunks (a transaction each). Returns how many it
    claimed."""
    messages = []
    for place, lead in due_reminders(db_session, now=now):
        message = compose_email(
            user=place.user,
            kind="reminder",
            place=place,
            now=now,
            dedupe_key=reminder_key(place, lead),
        )
        if message is not None:
            messages.append(message)
    # Participants' reminders, claimed the same way (their own dedupe keys). Imported here:
    # participants.reminders imports this module.
    from studygroup.participants.reminders import (
        due_participant_reminders,
        participant_reminder_key,
    )

    for participant, lead in due_participant_reminders(db_session, now=now):
        message = compose_email(
            user=participant.user,
            kind="participant_reminder",
            participant=participant,
            session=participant.session,
            now=now,
            dedupe_key=participant_reminder_key(participant, lead),
        )
        if message is not None:
            messages.append(message)
    return claim_in_chunks(db_session, messages)


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Queue due reminders, then send every pending email (retrying failed ones) within
    MAIL_RUN_BUDGET_SECONDS."""
    # The command is the cron's door, not a rule of this layer: coworking sits above signups.

    started = time.monotonic()
    now = utcnow()
    ties = advance_ties(db.session, now=now)
    db.session.commit()
    claimed = claim_reminders(db.session, now=now)
    budget = current_app.config["MAIL_RUN_BUDGET_SECONDS"] - (time.monotonic() - started)
    report = deliver(db.session, now=utcnow(), budget=max(budget, 0))
    forgotten = forget_old_attempts(db.session, now=utcnow(), config=current_app.config)
    db.session.commit()
    click.echo(
        f"reminders queued: {claimed}; "
        f"sent {report.sent}, left {report.left}, failed {report.failed}; "
        f"old login records deleted: {forgotten}; "
        f"sessions added to the co-working ties: {ties.sessions}"
    )
