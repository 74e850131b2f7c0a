"""Participants' reminders: who is due one now, by the rule of places' reminders, and the
outbox key that claims each once (`signups.reminders` sends them with the staff's)."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.sessions.models import SessionStatus, StudySession
from studygroup.signups.reminders import (
    longest_reminder_lead,
    reminder_lead_due,
    unclaimed_reminders,
)


def participant_reminder_key(participant: Participant, lead: int) -> str:
    return f"participant-reminder:{participant.id}:{lead}"


def due_participant_reminders(db_session: Session, *, now: datetime):
    """Registered participants whose reminder is due now, with the lead time (hours) it is
    for, by the rule of places (`signups.reminders.reminder_lead_due`: the nearest lead that
    has passed, none for a lead that had passed when they got their seat), none an earlier
    run claimed already (the outbox's dedupe key)."""
    longest = longest_reminder_lead(db_session)
    if not longest:
        return []
    participants = db_session.scalars(
        sa.select(Participant)
        .join(StudySession, StudySession.id == Participant.session_id)
        .where(
            Participant.status == ParticipantStatus.REGISTERED,
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at > now,
            StudySession.starts_at <= now + timedelta(hours=longest),
        )
        .options(
            joinedload(Participant.user),
            joinedload(Participant.session).joinedload(StudySession.group),
        )
    ).all()
    due = [
        (participant, lead)
        for participant in participants
        if (lead := reminder_lead_due(participant.session, participant.registered_at, now))
        is not None
    ]
    return unclaimed_reminders(db_session, due, participant_reminder_key)
