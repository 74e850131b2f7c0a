"""The organizers' side of participants: a session's participant settings, its questions, the
participant list with answers, and cancelling a participant.

Services take the database session and plain values and never read the request; they flush,
the view commits. Registering, cancelling and moving up from the waitlist are the rules of
`participants.services` (an organizer's cancel is its `cancel_registration`). A capacity
change takes the session's row lock (`studygroup.db.lock_row`), the lock registration takes,
so a capacity change and a registration never both count the same free seat.
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session, joinedload

from studygroup.auth.models import User
from studygroup.db import lock_row
from studygroup.names import name_matches
from studygroup.participants.models import (
    CODE_ALPHABET,
    LIVE_PARTICIPANT_STATUSES,
    Participant,
    ParticipantAnswer,
    ParticipantQuestion,
    ParticipantStatus,
    QuestionKind,
)
from studygroup.participants.services import (
    fill_participants_from_waitlist,
    questions_of,
    session_counts,
    tell_let_in,
)
from studygroup.rules import RuleViolation
from studygroup.sessions.models import StudySession

MAX_QUESTIONS = 10
QUESTION_MAX_LENGTH = 200
MAX_CAPACITY = 10000
# Each part of the list shows this many until the organizer asks for all of it.
PARTICIPANTS_SHOWN = 100


# --- settings -------------------------------------------------------------------------------


def change_participant_settings(
    db_session: Session,
    session: StudySession,
    *,
    takes: bool,
    capacity: int | None,
    cancel_hours_before: int,
    now: datetime,
) -> list[Participant]:
    """Set whether the session takes participants, its capacity and its cancel deadline.

    Refused (RuleViolation next to the field) when it would stop taking participants while
    some are registered or waiting (their registrations stay as they are), or when the
    capacity goes below the number registered (nobody loses a seat they hold). A larger
    capacity moves people up from the waitlist, in waitlist order; they are returned.
    Holds the session's row lock until the caller commits.
    """
    if not takes and not session.takes_participants:
        session.participant_cancel_hours_before = cancel_hours_before
        return []  # nobody can be registered: no lock needed
    lock_row(db_session, StudySession, session.id)
    counts = session_counts(db_session, session)
    registered = counts[ParticipantStatus.REGISTERED]
    live = registered + counts[ParticipantStatus.WAITLISTED]
    if not takes:
        if live:
            raise RuleViolation(
                lazy_ngettext(
                    "%(num)d person is registered or waiting: cancel their registration first.",
                    "%(num)d people are registered or waiting: cancel their registrations first.",
                    live,
                ),
                field="takes_participants",
            )
        session.participant_capacity = None
        session.participant_cancel_hours_before = cancel_hours_before
        db_session.flush()
        return []
    if capacity is None or not 1 <= capacity <= MAX_CAPACITY:
        raise RuleViolation(
            _l("Give the number of seats, from 1 to %(max)d.", max=MAX_CAPACITY),
            field="participant_capacity",
        )
    if capacity < registered:
        raise RuleViolation(
            lazy_ngettext(
                "%(num)d person is registered already: the capacity cannot be lower.",
                "%(num)d people are registered already: the capacity cannot be lower than that.",
                registered,
            ),
            field="participant_capacity",
        )
    session.participant_capacity = capacity
    session.participant_cancel_hours_before = cancel_hours_before
    db_session.flush()
    # The one promotion rule (waitlist order; each one moved up is emailed).
    return fill_participants_from_waitlist(db_session, session, now=now)


def let_in_from_waitlist(
    db_session: Session, participant: Participant, *, now: datetime
) -> Participant:
    """An organizer registers someone from the waitlist now, ahead of the line and over the
    capacity if it is full (a speaker's colleague, someone who helps at the door). The
    capacity stays: nobody else moves up until a seat is free under it again. Refused once
    the session started (reception lets people in then) or when they are not waiting.
    Emailed the registration's confirmation with its QR code; under the session's row
    lock."""
    session = lock_row(db_session, StudySession, participant.session_id)
    db_session.refresh(participant)
    if participant.status != ParticipantStatus.WAITLISTED:
        raise RuleViolation(_l("Only someone on the waitlist can be let in."))
    if not session.is_scheduled or session.starts_at <= now:
        raise RuleViolation(_l("This session has already started or is over."))
    participant.status = ParticipantStatus.REGISTERED
    participant.registered_at = now
    participant.updated_at = now
    tell_let_in(db_session, participant, session, now=now)
    db_session.flush()
    return participant


# --- questions ------------------------------------------------------------------------------


def _checked_text(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise RuleViolation(_l("Please fill this in."), field="text")
    if len(text) > QUESTION_MAX_LENGTH:
        raise RuleViolation(
            _l("At most %(max)d characters.", max=QUESTION_MAX_LENGTH), field="text"
        )
    return text


def add_question(
    db_session: Session,
    session: StudySession,
    *,
    text: str,
    kind: QuestionKind,
    required: bool,
    now: datetime,
) -> ParticipantQuestion:
    """Add a question at the end. At most MAX_QUESTIONS are asked at once (retired ones do
    not count); the session's row lock keeps two organizers from adding the eleventh."""
    text = _checked_text(text)
    lock_row(db_session, StudySession, session.id)
    asked = questions_of(db_session, session)
    if len(asked) >= MAX_QUESTIONS:
        raise RuleViolation(
            _l("A session asks at most %(max)d questions.", max=MAX_QUESTIONS), field="text"
        )
    question = ParticipantQuestion(
        session_id=session.id,
        text=text,
        kind=kind,
        required=required,
        position=(asked[-1].position + 1) if asked else 0,
        created_at=now,
    )
    db_session.add(question)
    db_session.flush()
    return question


def edit_question(
    db_session: Session, question: ParticipantQuestion, *, text: str, required: bool
) -> None:
    """Change a question's wording and whether it must be answered (not its kind: answers
    already given stay answers to the same kind of question)."""
    question.text = _checked_text(text)
    question.required = required
    db_session.flush()


def move_question(db_session: Session, question: ParticipantQuestion, *, up: bool) -> bool:
    """Swap the question with the one before (`up`) or after it. False at either end."""
    session = db_session.get(StudySession, question.session_id)
    lock_row(db_session, StudySession, question.session_id)
    asked = questions_of(db_session, session)
    if question not in asked:
        return False
    # Numbered afresh, so questions added at the same moment still have an order.
    for position, each in enumerate(asked):
        each.position = position
    at = asked.index(question)
    other = at - 1 if up else at + 1
    if not 0 <= other < len(asked):
        db_session.flush()
        return False
    asked[at].position, asked[other].position = other, at
    db_session.flush()
    return True


def is_answered(db_session: Session, question: ParticipantQuestion) -> bool:
    return bool(
        db_session.scalar(
            sa.select(
                sa.exists().where(
                    ParticipantAnswer.question_id == question.id,
                    ParticipantAnswer.answer != "",
                )
            )
        )
    )


def remove_question(db_session: Session, question: ParticipantQuestion, *, now: datetime) -> bool:
    """Stop asking a question. One nobody answered yet is deleted; one with answers is
    retired, so the answers keep their question (the list and CSV still show them).
    Returns True when it was deleted. Under the session's row lock, which registration
    takes before it writes answers, so an answer cannot arrive between the check and the
    delete."""
    lock_row(db_session, StudySession, question.session_id)
    if is_answered(db_session, question):
        question.retired_at = now
        db_session.flush()
        return False
    # Empty answers (a question skipped) go with it.
    db_session.execute(
        sa.delete(ParticipantAnswer).where(ParticipantAnswer.question_id == question.id)
    )
    db_session.delete(question)
    db_session.flush()
    return True


def answered_question_ids(db_session: Session, session: StudySession) -> set[int]:
    """Ids of the session's questions someone answered (their removal retires them)."""
    return set(
        db_session.scalars(
            sa.select(ParticipantAnswer.question_id)
            .join(ParticipantQuestion, ParticipantQuestion.id == ParticipantAnswer.question_id)
            .where(ParticipantQuestion.session_id == session.id, ParticipantAnswer.answer != "")
            .distinct()
        )
    )


# --- the list -------------------------------------------------------------------------------


@dataclass
class ParticipantRow:
    participant: Participant
    answers: dict[int, str] = field(default_factory=dict)

    @property
    def user(self) -> User:
        return self.participant.user


@dataclass
class ParticipantPart:
    """One part of the list (registered, waitlist or cancelled): the rows shown and how many
    there are in all (more than shown until the organizer asks for all)."""

    rows: list[ParticipantRow]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class ParticipantList:
    questions: list[ParticipantQuestion]
    registered: ParticipantPart
    waitlist: ParticipantPart
    cancelled: ParticipantPart
    # The whole session's counts, whatever the search.
    counts: dict[ParticipantStatus, int]
    checked_in: int
    # Participant id -> number on the waitlist (from 1), counted over the whole waitlist.
    in_line: dict[int, int] = field(default_factory=dict)


_ORDER = {
    ParticipantStatus.REGISTERED: (Participant.registered_at, Participant.id),
    ParticipantStatus.WAITLISTED: (Participant.waitlist_position.nulls_last(), Participant.id),
    ParticipantStatus.CANCELLED: (Participant.cancelled_at.desc(), Participant.id),
}


def _matching(session: StudySession, search: str) -> sa.Select:
    query = (
        sa.select(Participant)
        .join(User, User.id == Participant.user_id)
        .where(Participant.session_id == session.id)
    )
    if search:
        code = search.strip().upper()
        by_code = [Participant.code == code] if code and set(code) <= set(CODE_ALPHABET) else []
        query = query.where(sa.or_(name_matches(search), *by_code))
    return query


def participant_list(
    db_session: Session,
    session: StudySession,
    *,
    search: str = "",
    limit: int | None = PARTICIPANTS_SHOWN,
) -> ParticipantList:
    """The session's participants for its organizers: registered (in the order they
    registered), the waitlist (in its order) and the cancelled, each with their answers,
    matching `search` (name, reading or short code), at most `limit` per part (None: all).

    A fixed number of queries whatever the number of participants: the counts (and those
    found by the search), the questions, one per part (with the users joined), one for all
    the answers shown, the waitlist's order and the checked-in count."""
    base = _matching(session, search)
    counts = session_counts(db_session, session)
    found = counts
    if search.strip():
        matching = base.subquery()
        found = dict.fromkeys(ParticipantStatus, 0)
        found.update(
            db_session.execute(
                sa.select(matching.c.status, sa.func.count()).group_by(matching.c.status)
            ).all()
        )
    questions = questions_of(db_session, session, include_retired=True)
    parts = {}
    for status, order in _ORDER.items():
        rows_query = base.where(Participant.status == status).order_by(*order)
        if limit is not None:
            rows_query = rows_query.limit(limit)
        shown = db_session.scalars(rows_query.options(joinedload(Participant.user))).all()
        parts[status] = ParticipantPart([ParticipantRow(p) for p in shown], found[status])
    rows = {row.participant.id: row for part in parts.values() for row in part.rows}
    if rows and questions:
        for participant_id, question_id, answer in db_session.execute(
            sa.select(
                ParticipantAnswer.participant_id,
                ParticipantAnswer.question_id,
                ParticipantAnswer.answer,
            ).where(ParticipantAnswer.participant_id.in_(rows))
        ):
            rows[participant_id].answers[question_id] = answer
    # Ids only, so a search or a shortened list still shows each one's true number in line.
    waiting_ids = db_session.scalars(
        sa.select(Participant.id)
        .where(
            Participant.session_id == session.id,
            Participant.status == ParticipantStatus.WAITLISTED,
        )
        .order_by(*_ORDER[ParticipantStatus.WAITLISTED])
    )
    in_line = {participant_id: n for n, participant_id in enumerate(waiting_ids, start=1)}
    checked_in = db_session.scalar(
        sa.select(sa.func.count())
        .select_from(Participant)
        .where(
            Participant.session_id == session.id,
            Participant.status.in_(LIVE_PARTICIPANT_STATUSES),
            Participant.checked_in_at.is_not(None),
        )
    )
    return ParticipantList(
        questions=questions,
        registered=parts[ParticipantStatus.REGISTERED],
        waitlist=parts[ParticipantStatus.WAITLISTED],
        cancelled=parts[ParticipantStatus.CANCELLED],
        counts=counts,
        checked_in=checked_in or 0,
        in_line=in_line,
    )


def get_participant(
    db_session: Session, session: StudySession, participant_id: int
) -> Participant | None:
    """The participant if they belong to `session` (another session's id gives None)."""
    return db_session.scalar(
        sa.select(Participant)
        .where(Participant.id == participant_id, Participant.session_id == session.id)
        .options(joinedload(Participant.user))
    )


def get_question(
    db_session: Session, session: StudySession, question_id: int
) -> ParticipantQuestion | None:
    return db_session.scalar(
        sa.select(ParticipantQuestion).where(
            ParticipantQuestion.id == question_id, ParticipantQuestion.session_id == session.id
        )
    )
