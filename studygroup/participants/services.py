"""Participants (参加者) as plain functions: (db session, ...) -> data.

Capacity holds under concurrency as it does for places: every change to a session's
participants first takes the session's row lock (`studygroup.db.lock_row` on StudySession,
the same lock places take), then counts and decides. A partial unique index stops one member
holding two live registrations for a session.

Functions flush; the caller commits, then sends the queued emails (studygroup.mail).
Nothing is deleted: registrations are cancelled. Participants are not co-workers: nothing
here touches places or co-working.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session, joinedload

from studygroup.auth.models import User
from studygroup.db import lock_row
from studygroup.groups.models import Group, Visibility
from studygroup.groups.services import membership_of
from studygroup.mail.services import queue_email
from studygroup.participants.codes import unused_code
from studygroup.participants.models import (
    LIVE_PARTICIPANT_STATUSES,
    Participant,
    ParticipantAnswer,
    ParticipantQuestion,
    ParticipantStatus,
    QuestionKind,
)
from studygroup.rules import RuleViolation
from studygroup.sessions.models import SessionStatus, StudySession
from studygroup.signups.services import signup_window

MAX_ANSWER_LENGTH = 500
YES_NO = ("yes", "no")


def answer_field(question: ParticipantQuestion) -> str:
    """The form field (and RuleViolation field) of a question's answer."""
    return f"q_{question.id}"


# --- reading ------------------------------------------------------------------------------


def questions_of(
    db_session: Session, session: StudySession, *, include_retired: bool = False
) -> list[ParticipantQuestion]:
    """The questions participants answer now, in the organizers' order; with
    `include_retired` the retired ones after them (the organizers' list and CSV still show
    their answers)."""
    query = sa.select(ParticipantQuestion).where(ParticipantQuestion.session_id == session.id)
    if not include_retired:
        query = query.where(ParticipantQuestion.retired_at.is_(None))
    return list(
        db_session.scalars(
            query.order_by(
                ParticipantQuestion.retired_at.is_not(None),
                ParticipantQuestion.position,
                ParticipantQuestion.id,
            )
        )
    )


def status_counts(
    db_session: Session,
    session_ids: Iterable[int],
    *,
    statuses: Iterable[ParticipantStatus] = tuple(ParticipantStatus),
) -> dict[int, dict[ParticipantStatus, int]]:
    """{session id: {status: how many}} for every one of `session_ids` and `statuses` (0 where
    none), in one query whatever the number of sessions."""
    ids, statuses = list(session_ids), list(statuses)
    counts = {session_id: dict.fromkeys(statuses, 0) for session_id in ids}
    if not ids:
        return counts
    rows = db_session.execute(
        sa.select(Participant.session_id, Participant.status, sa.func.count())
        .where(Participant.session_id.in_(ids), Participant.status.in_(statuses))
        .group_by(Participant.session_id, Participant.status)
    )
    for session_id, status, n in rows:
        counts[session_id][ParticipantStatus(status)] = n
    return counts


def session_counts(db_session: Session, session: StudySession) -> dict[ParticipantStatus, int]:
    """One session's participants by status, cancelled ones too (`status_counts` for one),
    whether or not it takes participants now."""
    return status_counts(db_session, [session.id])[session.id]


def participant_counts(db_session: Session, sessions) -> dict[int, tuple[int, int, int]]:
    """{session id: (registered, capacity, waitlisted)} for those of `sessions` that take
    participants, in one query whatever their number (none when no session takes them)."""
    capacities = {s.id: s.participant_capacity for s in sessions if s.takes_participants}
    if not capacities:
        return {}
    counts = status_counts(db_session, capacities, statuses=LIVE_PARTICIPANT_STATUSES)
    return {
        session_id: (
            by_status[ParticipantStatus.REGISTERED],
            capacities[session_id],
            by_status[ParticipantStatus.WAITLISTED],
        )
        for session_id, by_status in counts.items()
    }


def my_registration(db_session: Session, member: User | None, session: StudySession):
    """The member's registration for the session: the live one, else the latest cancelled
    one (the confirmation page still says it was cancelled), else None."""
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return db_session.scalar(registration_of(member.id, session.id))


def registration_of(member_id: int, session_id: int) -> sa.Select:
    """SQL: `my_registration`'s row (the live one first, then the latest), for pages that read
    it inside a statement of their own."""
    return (
        sa.select(Participant)
        .where(Participant.session_id == session_id, Participant.user_id == member_id)
        .order_by(
            sa.case((Participant.status.in_(LIVE_PARTICIPANT_STATUSES), 0), else_=1),
            Participant.id.desc(),
        )
        .limit(1)
    )


def answers_of(db_session: Session, participant: Participant) -> list[ParticipantAnswer]:
    """The participant's answers with their questions, in the questions' order."""
    return list(
        db_session.scalars(
            sa.select(ParticipantAnswer)
            .join(ParticipantQuestion, ParticipantQuestion.id == ParticipantAnswer.question_id)
            .where(ParticipantAnswer.participant_id == participant.id)
            .order_by(ParticipantQuestion.position, ParticipantQuestion.id)
        ).unique()
    )


def waitlist_numbers(db_session: Session, participants) -> dict[int, int]:
    """For waitlisted participants: their number in line (1 = next), in one query."""
    waiting = [p for p in participants if p.status == ParticipantStatus.WAITLISTED]
    if not waiting:
        return {}
    queue = db_session.execute(
        sa.select(Participant.id, Participant.session_id)
        .where(
            Participant.session_id.in_({p.session_id for p in waiting}),
            Participant.status == ParticipantStatus.WAITLISTED,
        )
        .order_by(Participant.session_id, Participant.waitlist_position, Participant.id)
    ).all()
    numbers: dict[int, int] = {}
    counters: dict[int, int] = defaultdict(int)
    for participant_id, session_id in queue:
        counters[session_id] += 1
        numbers[participant_id] = counters[session_id]
    return {p.id: numbers[p.id] for p in waiting}


def upcoming_registrations(db_session: Session, member: User, *, now: datetime):
    """The member's live registrations for sessions still to come (cancelled sessions too,
    so they see it), soonest first, sessions and groups loaded: one query."""
    return list(
        db_session.scalars(
            sa.select(Participant)
            .join(StudySession, StudySession.id == Participant.session_id)
            .where(
                Participant.user_id == member.id,
                Participant.status.in_(LIVE_PARTICIPANT_STATUSES),
                StudySession.ends_at > now,
            )
            .options(joinedload(Participant.session).joinedload(StudySession.group))
            .order_by(StudySession.starts_at, Participant.id)
        )
    )


def cancel_deadline(session: StudySession) -> datetime:
    """Until when a registered member may cancel themselves."""
    return session.starts_at - timedelta(hours=session.participant_cancel_hours_before)


# --- registering --------------------------------------------------------------------------


def _check_open(session: StudySession, now: datetime) -> None:
    if not session.takes_participants:
        raise RuleViolation(_l("This session does not take participants."))
    if session.is_cancelled:
        raise RuleViolation(_l("This session is cancelled."))
    if session.status == SessionStatus.NOT_HELD:
        raise RuleViolation(_l("This session is marked as not held."))
    if session.starts_at <= now:
        raise RuleViolation(_l("This session has already started or is over."))


def may_register(group: Group, membership) -> bool:
    """Whether someone with this membership (or none) may register for the group's sessions:
    active members, or anyone with an account when the group opens participation to all
    (a members-only group's sessions stay hidden from outsiders all the same)."""
    if membership is not None and membership.is_active:
        return True
    return group.participants_open_to_all and group.visibility == Visibility.PUBLIC


def clean_answers(questions: list[ParticipantQuestion], answers: dict) -> dict[int, str]:
    """The answers to keep, by question id, each checked: a required question answered, a
    yes-no question answered yes or no, text not too long. Raises RuleViolation naming the
    first question's field that fails. Answers to other questions are left out."""
    cleaned: dict[int, str] = {}
    for question in questions:
        value = answers.get(question.id)
        value = " ".join(str(value).split()) if value is not None else ""
        field = answer_field(question)
        if question.kind == QuestionKind.YES_NO:
            if value and value not in YES_NO:
                raise RuleViolation(_l("Choose yes or no."), field)
        elif len(value) > MAX_ANSWER_LENGTH:
            raise RuleViolation(_l("Use at most %(n)d characters.", n=MAX_ANSWER_LENGTH), field)
        if question.required and not value:
            raise RuleViolation(_l("Please answer this question."), field)
        cleaned[question.id] = value
    return cleaned


def _count(db_session: Session, session_id: int, status: ParticipantStatus) -> int:
    return db_session.scalar(
        sa.select(sa.func.count())
        .select_from(Participant)
        .where(Participant.session_id == session_id, Participant.status == status)
    )


def _next_position(db_session: Session, session_id: int) -> int:
    return db_session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(Participant.waitlist_position), 0) + 1).where(
            Participant.session_id == session_id
        )
    )


def _live_registration(db_session: Session, member: User, session_id: int):
    return db_session.scalar(
        sa.select(Participant).where(
            Participant.session_id == session_id,
            Participant.user_id == member.id,
            Participant.status.in_(LIVE_PARTICIPANT_STATUSES),
        )
    )


def register(
    db_session: Session,
    *,
    member: User,
    session: StudySession,
    answers: dict[int, str],
    now: datetime,
) -> Participant:
    """Register `member` to come to `session`: registered while there is room, else on the
    waitlist with the next number.

    Refuses (RuleViolation, with the answer's field where it belongs) a session that takes no
    participants, is cancelled, not held or has started; outside the group's sign-up window
    (organizers are not bound); someone who may not register (`may_register`); a second live
    registration; missing required answers and a yes-no answer other than yes or no.
    Takes the session's row lock (the one places take) before counting, so two requests can
    never take the last seat twice. Draws the short code under the lock. Queues the email;
    the caller commits.
    """
    group = session.group
    membership = membership_of(db_session, member, group)
    if not may_register(group, membership):
        raise RuleViolation(_l("Join the group to register."))
    _check_open(session, now)
    opens, closes = signup_window(group, session)
    # Organizers are not bound by the group's sign-up window, as for places.
    if not (membership is not None and membership.is_organizer):
        if now < opens:
            raise RuleViolation(_l("Registration for this session has not opened yet."))
        if now > closes:
            raise RuleViolation(_l("Registration for this session has closed."))
    cleaned = clean_answers(questions_of(db_session, session), answers)

    session = lock_row(db_session, StudySession, session.id)
    _check_open(session, now)  # capacity or status may have changed until the lock
    if _live_registration(db_session, member, session.id) is not None:
        raise RuleViolation(_l("You are already registered for this session."))
    if _count(db_session, session.id, ParticipantStatus.REGISTERED) < session.participant_capacity:
        status = ParticipantStatus.REGISTERED
    else:
        status = ParticipantStatus.WAITLISTED
    participant = Participant(
        session_id=session.id,
        user_id=member.id,
        status=status,
        waitlist_position=(
            _next_position(db_session, session.id)
            if status == ParticipantStatus.WAITLISTED
            else None
        ),
        code=unused_code(db_session, session.id),
        created_at=now,
        updated_at=now,
        registered_at=now if status == ParticipantStatus.REGISTERED else None,
    )
    db_session.add(participant)
    db_session.flush()
    db_session.add_all(
        ParticipantAnswer(participant_id=participant.id, question_id=qid, answer=text)
        for qid, text in cleaned.items()
    )
    kind = (
        "participant_registered"
        if status == ParticipantStatus.REGISTERED
        else "participant_waitlisted"
    )
    queue_email(
        db_session, user=member, kind=kind, participant=participant, session=session, now=now
    )
    db_session.flush()
    return participant


# --- cancelling and the waitlist ----------------------------------------------------------


def cancel_registration(
    db_session: Session, *, participant: Participant, actor: User, now: datetime
) -> list[Participant]:
    """Cancel a registration (or leave the waitlist).

    The member may cancel a registered place until `cancel_deadline` (the session's
    `participant_cancel_hours_before`), and leave the waitlist any time before the start;
    organizers may cancel anyone's before the start. A freed seat goes to the first on the
    waitlist (`fill_participants_from_waitlist`). A registration an organizer cancels is
    emailed to its member (their `email_signups` choice applies). Takes the session's row
    lock and re-reads the registration under it. Returns those promoted; the caller commits.
    """
    session = lock_row(db_session, StudySession, participant.session_id)
    db_session.refresh(participant)
    if not participant.is_live:
        raise RuleViolation(_l("This registration is already cancelled."))
    membership = membership_of(db_session, actor, session.group)
    organizer = membership is not None and membership.is_organizer
    if actor.id != participant.user_id and not organizer:
        raise RuleViolation(_l("Only the member or an organizer can cancel this registration."))
    if session.starts_at <= now:
        raise RuleViolation(_l("This session has already started or is over."))
    was = participant.status
    if not organizer and was == ParticipantStatus.REGISTERED and now > cancel_deadline(session):
        raise RuleViolation(
            lazy_ngettext(
                "Cancelling yourself is possible until %(num)d hour before the start. "
                "Please tell an organizer.",
                "Cancelling yourself is possible until %(num)d hours before the start. "
                "Please tell an organizer.",
                session.participant_cancel_hours_before,
            )
        )
    participant.status = ParticipantStatus.CANCELLED
    participant.cancelled_at = now
    participant.updated_at = now
    if actor.id != participant.user_id:  # they did not do it themselves: tell them
        queue_email(
            db_session,
            user=db_session.get(User, participant.user_id),
            kind="participant_cancelled_by_org",
            participant=participant,
            session=session,
            now=now,
        )
    db_session.flush()
    if was != ParticipantStatus.REGISTERED:
        return []
    return fill_participants_from_waitlist(db_session, session, now=now)


def fill_participants_from_waitlist(
    db_session: Session, session: StudySession, *, now: datetime
) -> list[Participant]:
    """Register waitlisted members, first in line first, while the session has seats: after
    a cancellation, and when organizers raise the capacity. Takes the session's row lock
    (again, harmless when the caller holds it). Sessions that take no participants, are
    cancelled, not held or have started promote nobody. Each promoted member is emailed.
    Returns those promoted, in line order."""
    session = lock_row(db_session, StudySession, session.id)
    if not session.takes_participants or not session.is_scheduled or session.starts_at <= now:
        return []
    room = session.participant_capacity - _count(
        db_session, session.id, ParticipantStatus.REGISTERED
    )
    if room <= 0:
        return []
    waiting = db_session.scalars(
        sa.select(Participant)
        .where(
            Participant.session_id == session.id,
            Participant.status == ParticipantStatus.WAITLISTED,
        )
        .options(joinedload(Participant.user))
        .order_by(Participant.waitlist_position, Participant.id)
        .limit(room)
    ).all()
    for participant in waiting:
        participant.status = ParticipantStatus.REGISTERED
        participant.registered_at = now
        participant.updated_at = now
        queue_email(
            db_session,
            user=participant.user,
            kind="participant_promoted",
            participant=participant,
            session=session,
            now=now,
        )
    db_session.flush()
    return list(waiting)


# --- telling participants -----------------------------------------------------------------


def tell_let_in(
    db_session: Session, participant: Participant, session: StudySession, *, now: datetime
) -> None:
    """Queue the registration's confirmation (its code and QR code) for someone let in from
    the waitlist ahead of the line, by an organizer or at reception: nobody cancelled for
    them, so it is not the move-up email."""
    queue_email(
        db_session,
        user=db_session.get(User, participant.user_id),  # from the identity map when loaded
        kind="participant_registered",
        participant=participant,
        session=session,
        now=now,
    )


def notify_participants_of_change(
    db_session: Session,
    session: StudySession,
    *,
    changes: tuple[str, ...],
    now: datetime,
    already_told: set[int] | frozenset[int] = frozenset(),
) -> int:
    """Email the session's live participants (registered and waitlisted) that it was
    cancelled, put back on or moved (`changes` names what), in each one's language, as
    `signups.reminders.notify_session_change` does for staff; called next to it, with the
    staff it told as `already_told`, so someone on both lists gets one email. Their
    `email_session_changes` choice applies. Returns the number of emails queued; the
    caller commits."""
    participants = db_session.scalars(
        sa.select(Participant)
        .where(
            Participant.session_id == session.id,
            Participant.status.in_(LIVE_PARTICIPANT_STATUSES),
        )
        .options(joinedload(Participant.user))
        .order_by(Participant.id)
    ).all()
    kind = (
        "participant_session_cancelled" if session.is_cancelled else "participant_session_changed"
    )
    told = 0
    for participant in participants:
        if participant.user_id in already_told:
            continue
        message = queue_email(
            db_session,
            user=participant.user,
            kind=kind,
            participant=participant,
            session=session,
            changes=changes,
            now=now,
        )
        told += message is not None
    return told
