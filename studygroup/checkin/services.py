"""Reception check-in on the session's day (受付): participants by short code or search, staff
by search, walk-ins registered at the door. Who may open the page: `checkin.access`; the
search and the counts: `checkin.search`. No request access here.

Idempotent by person: a check-in is one conditional UPDATE ... WHERE checked_in_at IS NULL,
so two receptionists at once, or a request retried after a lost answer, check a person in
once; the others are told when and by whom it happened.
"""

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.auth.reset import queue_welcome_email
from studygroup.auth.services import HashCost, normalize_email, register_user
from studygroup.db import lock_row
from studygroup.groups.models import (
    Group,
    JoinPolicy,
    Membership,
    MembershipStatus,
    RoleType,
)
from studygroup.groups.services import join_group
from studygroup.names import fold
from studygroup.participants.codes import unused_code
from studygroup.participants.models import (
    CODE_ALPHABET,
    CODE_LENGTH,
    LIVE_PARTICIPANT_STATUSES,
    Participant,
    ParticipantStatus,
)
from studygroup.participants.services import may_register, tell_let_in
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    StaffingChange,
)

# A phone's queue retries every few seconds; a connection can stay bad for some minutes.
JUST_NOW = timedelta(minutes=10)


# --- results --------------------------------------------------------------------------------


class Outcome(enum.StrEnum):
    NOW = "now"  # this request checked them in
    ALREADY = "already"  # someone (or an earlier try of this request) did before


@dataclass(frozen=True)
class CheckInResult:
    kind: str  # "participant" or "staff"
    id: int  # the participant's or the place's id
    name: str
    outcome: Outcome
    checked_in_at: datetime
    checked_in_by: str | None  # the receptionist's name
    role: RoleType | None = None  # staff: the role of the place
    walk_in: bool = False
    new_account: bool = False
    checked_in_by_id: int | None = None

    @property
    def now(self) -> bool:
        return self.outcome == Outcome.NOW

    def by_just_now(self, user: User, now: datetime) -> bool:
        """Checked in before by `user` themselves, within JUST_NOW: most likely their own
        earlier try, whose answer was lost (a bad connection), so the retry is told as a
        check-in rather than as someone else's."""
        return (
            self.outcome == Outcome.ALREADY
            and self.checked_in_by_id == user.id
            and timedelta(0) <= now - self.checked_in_at <= JUST_NOW
        )


class NoSuchCode(RuleViolation):
    def __init__(self, code: str):
        super().__init__(
            _l("No participant with code %(code)s in this session.", code=code), field="code"
        )


class NotRegistered(RuleViolation):
    """A waitlisted (or cancelled) participant: reception may let a waitlisted one in."""

    def __init__(self, participant: Participant, name: str):
        self.participant = participant
        self.name = name
        if participant.status == ParticipantStatus.WAITLISTED:
            message = _l(
                "%(name)s is on the waitlist, not registered. Let them in if there is room.",
                name=name,
            )
        else:
            message = _l("%(name)s cancelled their registration.", name=name)
        super().__init__(message)

    @property
    def waitlisted(self) -> bool:
        return self.participant.status == ParticipantStatus.WAITLISTED


def normalize_code(text: str) -> str:
    """A code as typed or scanned: any width or case, spaces and hyphens left out."""
    return "".join(fold(text).upper().replace("-", "").split())


def looks_like_code(text: str) -> bool:
    code = normalize_code(text)
    return len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


# --- participants ---------------------------------------------------------------------------


def _name_of(db_session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return db_session.scalar(sa.select(User.display_name).where(User.id == user_id))


def _participant_result(
    db_session: Session, participant: Participant, outcome: Outcome, **extra
) -> CheckInResult:
    names = dict(
        db_session.execute(
            sa.select(User.id, User.display_name).where(
                User.id.in_({participant.user_id, participant.checked_in_by_id} - {None})
            )
        ).all()
    )
    return CheckInResult(
        kind="participant",
        id=participant.id,
        name=names[participant.user_id],
        outcome=outcome,
        checked_in_at=participant.checked_in_at,
        checked_in_by=names.get(participant.checked_in_by_id),
        checked_in_by_id=participant.checked_in_by_id,
        **extra,
    )


def _mark_participant(
    db_session: Session, participant: Participant, *, by: User, now: datetime, **extra
) -> CheckInResult:
    """The conditional UPDATE: the first one sets the time; any later one finds it set."""
    done = db_session.execute(
        sa.update(Participant)
        .where(
            Participant.id == participant.id,
            Participant.status == ParticipantStatus.REGISTERED,
            Participant.checked_in_at.is_(None),
        )
        .values(checked_in_at=now, checked_in_by_id=by.id, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    # Fresh from the database: the winner's time and name, whoever won.
    db_session.refresh(participant)
    if participant.status != ParticipantStatus.REGISTERED:
        raise NotRegistered(participant, _name_of(db_session, participant.user_id) or "?")
    outcome = Outcome.NOW if done == 1 else Outcome.ALREADY
    return _participant_result(db_session, participant, outcome, **extra)


def check_in(
    db_session: Session,
    *,
    session: StudySession,
    code: str | None = None,
    participant_id: int | None = None,
    by: User,
    now: datetime,
) -> CheckInResult:
    """Check a registered participant of `session` in, found by short code or id.

    Raises NoSuchCode for a code no participant of this session has (another session's code
    included), RuleViolation for an id not in this session, NotRegistered for a waitlisted
    or cancelled one. The caller commits.
    """
    query = sa.select(Participant).where(Participant.session_id == session.id)
    if code is not None:
        typed = normalize_code(code)
        participant = db_session.scalar(query.where(Participant.code == typed)) if typed else None
        if participant is None:
            raise NoSuchCode(code.strip()[:20] or "-")
    else:
        participant = db_session.scalar(query.where(Participant.id == participant_id))
        if participant is None:
            raise RuleViolation(_l("This person is not a participant of this session."))
    if participant.status != ParticipantStatus.REGISTERED:
        raise NotRegistered(participant, _name_of(db_session, participant.user_id) or "?")
    return _mark_participant(db_session, participant, by=by, now=now)


def admit_waitlisted(
    db_session: Session, *, session: StudySession, participant_id: int, by: User, now: datetime
) -> CheckInResult:
    """Reception lets a waitlisted participant in: registered over capacity (they are in the
    room) and checked in, and emailed the registration's confirmation (its code and QR code,
    for the record; through the outbox's next run). Under the session's row lock, as every
    registration change."""
    lock_row(db_session, StudySession, session.id)
    participant = db_session.scalar(
        sa.select(Participant)
        .where(Participant.id == participant_id, Participant.session_id == session.id)
        .execution_options(populate_existing=True)
    )
    if participant is None:
        raise RuleViolation(_l("This person is not a participant of this session."))
    if participant.status == ParticipantStatus.WAITLISTED:
        participant.status = ParticipantStatus.REGISTERED
        participant.registered_at = now
        participant.added_by_id = by.id
        participant.updated_at = now
        tell_let_in(db_session, participant, session, now=now)
        db_session.flush()
    return _mark_participant(db_session, participant, by=by, now=now)


# --- staff ----------------------------------------------------------------------------------


def check_in_staff(db_session: Session, *, place: Assignment, by: User, now: datetime):
    """Check a confirmed staff place in: it counts as worked (the attendance organizers would
    otherwise mark after the session), set through the ORM so that co-working ties see it.
    Idempotent as a participant's check-in."""
    done = db_session.execute(
        sa.update(Assignment)
        .where(
            Assignment.id == place.id,
            Assignment.status == AssignmentStatus.CONFIRMED,
            Assignment.checked_in_at.is_(None),
        )
        .values(checked_in_at=now, checked_in_by_id=by.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db_session.refresh(place)
    if place.status != AssignmentStatus.CONFIRMED:
        raise RuleViolation(_l("Only confirmed places can be checked in."))
    if done == 1:
        place.attendance = Attendance.WORKED
        place.attendance_marked_at = now
        place.updated_at = now
        slot = db_session.get(RoleSlot, place.slot_id)
        db_session.add(
            StaffingChange(
                session_id=slot.session_id,
                assignment_id=place.id,
                actor_id=by.id,
                action=Attendance.WORKED.value,
                detail="checked in",
                created_at=now,
            )
        )
        db_session.flush()
    names = dict(
        db_session.execute(
            sa.select(User.id, User.display_name).where(
                User.id.in_({place.user_id, place.checked_in_by_id} - {None})
            )
        ).all()
    )
    role = db_session.scalar(sa.select(RoleType).join(RoleSlot).where(RoleSlot.id == place.slot_id))
    return CheckInResult(
        kind="staff",
        id=place.id,
        name=names[place.user_id],
        outcome=Outcome.NOW if done == 1 else Outcome.ALREADY,
        checked_in_at=place.checked_in_at,
        checked_in_by=names.get(place.checked_in_by_id),
        checked_in_by_id=place.checked_in_by_id,
        role=role,
    )


def staff_place(db_session: Session, session: StudySession, place_id: int) -> Assignment:
    place = db_session.scalar(
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(Assignment.id == place_id, RoleSlot.session_id == session.id)
    )
    if place is None:
        raise RuleViolation(_l("This person is not on the staff of this session."))
    return place


# --- walk-ins -------------------------------------------------------------------------------


def walk_in(
    db_session: Session,
    *,
    session: StudySession,
    by: User,
    by_organizer: bool,
    now: datetime,
    cost: HashCost,
    user: User | None = None,
    email: str | None = None,
    display_name: str | None = None,
    locale: str | None = None,
) -> CheckInResult:
    """Register someone at the door and check them in at once, over capacity if need be
    (they are in the room).

    `user`: a member found by search. Else `email`: an existing account with that address is
    used; a new person gets an account (name, email) with a random password nobody knows,
    and a welcome email in `locale` (the receptionist's page language, our best guess) with
    their code and a link to choose their password (studygroup.auth.reset).

    Group rules (our choice): whoever may register beforehand may come in (`may_register`:
    a public group open to all takes any account); else the person must be an active
    member, and one who is not becomes one by the group's join policy: an open group takes
    them; an approval or invitation group only when an organizer is at reception (as if
    invited). Nobody an organizer removed.
    Takes the session's row lock; the caller commits.
    """
    group = session.group
    if not session.takes_participants:
        raise RuleViolation(_l("This session does not take participants."))
    new_account = False
    # First the lock: two taps on "register" for one new person make one account.
    lock_row(db_session, StudySession, session.id)
    if user is None:
        address = normalize_email(email or "")
        user = db_session.scalar(sa.select(User).where(User.email == address))
        if user is None:
            user = register_user(
                db_session,
                email=address,
                password=secrets.token_urlsafe(32),
                display_name=display_name or address.split("@")[0],
                cost=cost,
                page_locale=locale,
                timezone=group.timezone,
            )
            new_account = True
    _admit_to_group(db_session, group=group, user=user, by_organizer=by_organizer, now=now)
    participant = db_session.scalar(
        sa.select(Participant)
        .where(
            Participant.session_id == session.id,
            Participant.user_id == user.id,
            Participant.status.in_(LIVE_PARTICIPANT_STATUSES),
        )
        .execution_options(populate_existing=True)
    )
    if participant is None:
        participant = Participant(
            session_id=session.id,
            user_id=user.id,
            status=ParticipantStatus.REGISTERED,
            code=unused_code(db_session, session.id),
            walk_in=True,
            added_by_id=by.id,
            registered_at=now,
            created_at=now,
            updated_at=now,
        )
        db_session.add(participant)
    elif participant.status == ParticipantStatus.WAITLISTED:  # let in, as admit_waitlisted
        participant.status = ParticipantStatus.REGISTERED
        participant.registered_at = now
        participant.added_by_id = by.id
        participant.updated_at = now
        tell_let_in(db_session, participant, session, now=now)
    db_session.flush()
    result = _mark_participant(
        db_session, participant, by=by, now=now, walk_in=True, new_account=new_account
    )
    if new_account:
        queue_welcome_email(
            db_session,
            user,
            session=session,
            participant=participant,
            secret_key=current_app.config["SECRET_KEY"],
            now=now,
        )
    return result


def _admit_to_group(
    db_session: Session, *, group: Group, user: User, by_organizer: bool, now: datetime
) -> None:
    membership = db_session.scalar(
        sa.select(Membership).where(Membership.user_id == user.id, Membership.group_id == group.id)
    )
    if membership is not None and membership.is_active:
        return
    if membership is not None and membership.status == MembershipStatus.REMOVED:
        raise RuleViolation(_l("An organizer removed this person from the group."))
    if may_register(group, membership):  # open to all (a public group): no membership needed
        return
    if group.join_policy != JoinPolicy.OPEN and not by_organizer:
        raise RuleViolation(
            _l(
                "Only members of this group can take part, and it takes new members by approval "
                "or invitation: ask an organizer to register this person."
            )
        )
    # The group's own link: an open group takes them as it takes anyone; an approval or
    # invitation group gets here only with an organizer at reception, who admits them.
    join_group(db_session, user=user, group=group, now=now, invite_token=group.invite_token)
