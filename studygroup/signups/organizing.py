"""What organizers do to places: assign, move, promote by hand, answer requests, change a
role's head-count and window, reorder the waitlist, and record attendance.

Acting against the usual order (a full role, people waiting, an overlapping role) asks first
(`AskFirst`): nothing changes until the organizer confirms exactly what they saw. Every
change takes the slot's lock first (`places.lock_slot`). Functions flush; the caller
commits, then sends the queued emails (studygroup.mail). Nothing is deleted.
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.mail.services import queue_email
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.sessions.services import update_slot
from studygroup.signups.models import LIVE_STATUSES, Assignment, AssignmentStatus, Attendance
from studygroup.signups.places import (
    _confirmed_count,
    _lock_place,
    _overlapping_place,
    _places,
    lock_slot,
)
from studygroup.signups.records import HISTORY_PEOPLE, _detail, _log
from studygroup.signups.services import (
    _active_membership,
    _check_takes_place,
    _confirm,
    _role_name,
    fill_from_waitlist,
)


def _overlap_warning(member: User, clash: Assignment):
    return _l(
        "%(name)s also holds %(role)s at an overlapping time.",
        name=member.display_name,
        role=_role_name(clash.slot),
    )


@dataclass
class Outcome:
    place: Assignment
    warnings: list = field(default_factory=list)
    promoted: list[Assignment] = field(default_factory=list)


@dataclass
class Concerns:
    """What an organizer sees before putting `member` in `slot` against the usual order: the
    role is full (`filled` of its head-count), people wait on its waitlist (ahead of the
    member, when the member waits too), or the member holds a role whose time overlaps.
    `key` names this situation: a confirmation given for it does not cover another."""

    member: User
    slot: RoleSlot
    filled: int
    waiting: list[Assignment] = field(default_factory=list)
    overlap: Assignment | None = None

    @property
    def full(self) -> bool:
        return self.filled >= self.slot.headcount

    @property
    def any(self) -> bool:
        return self.full or bool(self.waiting) or self.overlap is not None

    @property
    def key(self) -> str:
        parts = []
        if self.full:
            parts.append(f"full:{self.filled}/{self.slot.headcount}")
        if self.waiting:
            parts.append("waiting:" + ".".join(str(p.id) for p in self.waiting))
        if self.overlap is not None:
            parts.append(f"overlap:{self.overlap.id}")
        return " ".join(parts)


class AskFirst(RuleViolation):
    """Nothing was done: the organizer has to see `concerns` first, then repeat the action
    with `confirmed=concerns.key`."""

    def __init__(self, concerns: Concerns):
        super().__init__(_l("Please look at this first and confirm."))
        self.concerns = concerns


def _ask_first(
    db_session: Session,
    *,
    member: User,
    slot: RoleSlot,
    confirmed: str | None,
    place: Assignment | None = None,
    moving: Assignment | None = None,
) -> None:
    """Raise `AskFirst` unless putting `member` in `slot` concerns nobody, or the organizer
    confirmed exactly this situation. `place` is the member's live place in `slot` (a request
    or a waitlist place), `moving` the place a move takes them from. Call with the slot
    locked and before changing anything, so that nothing is saved until it is confirmed."""
    waitlist = _places(db_session, slot.id, AssignmentStatus.WAITLISTED)
    ahead = next(
        (i for i, p in enumerate(waitlist) if place is not None and p.id == place.id), None
    )
    concerns = Concerns(
        member=member,
        slot=slot,
        filled=_confirmed_count(db_session, slot.id),
        waiting=[p for p in waitlist[:ahead] if p.user_id != member.id],
        overlap=_overlapping_place(db_session, member, slot, ignore=moving),
    )
    if concerns.any and confirmed != concerns.key:
        raise AskFirst(concerns)


def _live_place(db_session: Session, slot: RoleSlot, member: User) -> Assignment | None:
    return db_session.scalar(
        sa.select(Assignment).where(
            Assignment.slot_id == slot.id,
            Assignment.user_id == member.id,
            Assignment.status.in_(LIVE_STATUSES),
        )
    )


def _place_member(
    db_session: Session,
    *,
    organizer: User,
    member: User,
    slot: RoleSlot,
    existing: Assignment | None,
    now: datetime,
) -> Assignment:
    """Confirm `existing` (the member waiting or asking in `slot`), else a new place."""
    if existing is not None:
        _confirm(existing, now)
        existing.added_by_id = organizer.id
        db_session.flush()
        return existing
    place = Assignment(
        slot_id=slot.id,
        user_id=member.id,
        status=AssignmentStatus.CONFIRMED,
        added_by_id=organizer.id,
        created_at=now,
        updated_at=now,
        confirmed_at=now,
    )
    db_session.add(place)
    db_session.flush()
    return place


def assign(
    db_session: Session,
    *,
    organizer: User,
    member: User,
    slot: RoleSlot,
    now: datetime,
    helper: bool = False,
    confirmed: str | None = None,
) -> Outcome:
    """Put a member in a slot as confirmed, overriding capacity, the waitlist and windows.

    Asks first: when the role is full, people wait on its waitlist or the member holds an
    overlapping role, nothing changes and `AskFirst` says what the organizer should know;
    repeating with `confirmed=` its key does it (unless the situation changed meanwhile:
    then it asks again). A member already waiting or requesting in this slot is confirmed in
    place. A `helper` (someone who helped a session that has started) is recorded without
    asking; an overlap only warns.
    """
    session = slot.session
    if _active_membership(db_session, member, session.group) is None:
        raise RuleViolation(_l("Only members of the group can be assigned."))
    _check_takes_place(session)
    slot = lock_slot(db_session, slot.id)
    existing = _live_place(db_session, slot, member)
    if existing is not None and existing.status == AssignmentStatus.CONFIRMED:
        raise RuleViolation(_l("%(name)s already has this place.", name=member.display_name))
    warnings = []
    if helper:
        clash = _overlapping_place(db_session, member, slot)
        if clash is not None:
            warnings.append(_overlap_warning(member, clash))
    else:
        _ask_first(db_session, member=member, slot=slot, place=existing, confirmed=confirmed)
    place = _place_member(
        db_session, organizer=organizer, member=member, slot=slot, existing=existing, now=now
    )
    _log(db_session, session.id, "assigned", actor=organizer, assignment=place, now=now)
    if not helper:  # a helper recorded afterwards needs no "you were assigned" email
        queue_email(db_session, user=member, kind="assigned", place=place, now=now)
    return Outcome(place, warnings)


def move_place(
    db_session: Session,
    *,
    organizer: User,
    place: Assignment,
    to_slot: RoleSlot,
    now: datetime,
    confirmed: str | None = None,
) -> Outcome:
    """Move a member's place to another role of the same session (confirmed there).

    What the member gave for the place moves with them: a talk's title and abstract stay on
    their place (shown only in roles that take a talk), so moving a speaker to another role
    and back gives the talk back. Asks first as `assign` does, before anything changes.
    """
    if to_slot.session_id != place.slot.session_id:
        raise RuleViolation(_l("A place can only move within its session."))
    if to_slot.id == place.slot_id:
        raise RuleViolation(_l("This is already the member's role."))
    if not place.is_live:
        raise RuleViolation(_l("This place is already cancelled."))
    old_slot = _lock_place(db_session, place, *LIVE_STATUSES)
    _check_takes_place(old_slot.session)
    member = place.user
    to_slot = lock_slot(db_session, to_slot.id)
    existing = _live_place(db_session, to_slot, member)
    if existing is not None and existing.status == AssignmentStatus.CONFIRMED:
        raise RuleViolation(_l("%(name)s already has this place.", name=member.display_name))
    _ask_first(
        db_session,
        member=member,
        slot=to_slot,
        place=existing,
        moving=place,
        confirmed=confirmed,
    )
    was_confirmed = place.status == AssignmentStatus.CONFIRMED
    place.status = AssignmentStatus.CANCELLED
    place.cancelled_at = now
    place.updated_at = now
    db_session.flush()
    moved = _place_member(
        db_session, organizer=organizer, member=member, slot=to_slot, existing=existing, now=now
    )
    if not (moved.talk_title or moved.talk_abstract):
        moved.talk_title, moved.talk_abstract = place.talk_title, place.talk_abstract
    _log(
        db_session,
        old_slot.session_id,
        "moved",
        actor=organizer,
        assignment=moved,
        detail=_detail(**{"from": old_slot.id, "to": to_slot.id}),
        now=now,
    )
    queue_email(db_session, user=member, kind="assigned", place=moved, now=now)
    outcome = Outcome(moved)
    if was_confirmed:
        outcome.promoted = fill_from_waitlist(db_session, old_slot, now=now, actor=organizer)
    return outcome


def promote_by_hand(
    db_session: Session,
    *,
    organizer: User,
    place: Assignment,
    now: datetime,
    confirmed: str | None = None,
) -> Outcome:
    """Confirm a waitlisted place now. Asks first (`AskFirst`, as `assign`) when the role is
    full, others wait ahead, or the member holds an overlapping role."""
    if place.status != AssignmentStatus.WAITLISTED:
        raise RuleViolation(_l("Only a place on the waitlist can be promoted."))
    slot = _lock_place(db_session, place, AssignmentStatus.WAITLISTED)
    _ask_first(db_session, member=place.user, slot=slot, place=place, confirmed=confirmed)
    _confirm(place, now)
    _log(db_session, slot.session_id, "promoted", actor=organizer, assignment=place, now=now)
    queue_email(db_session, user=place.user, kind="waitlist_promoted", place=place, now=now)
    db_session.flush()
    return Outcome(place)


@dataclass
class SlotEdit:
    """What `change_slot` did. Not `saved`: the new head-count is below the people confirmed
    and the organizer has not confirmed that yet; `over` says who would be over it."""

    saved: bool
    over: list[Assignment] = field(default_factory=list)
    promoted: list[Assignment] = field(default_factory=list)


def change_slot(
    db_session: Session,
    *,
    organizer: User,
    slot: RoleSlot,
    headcount: int,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    confirmed_over: list[int] | None = None,
) -> SlotEdit:
    """Change a role's head-count and window in one step: lock (the session's row, then the
    slot's), change, then promote from the waitlist if there is more room.

    Lowering the head-count below the confirmed places changes nothing until the organizer
    has seen who would be over it: `over` lists them, the last to get a place first, and
    the call must be repeated with `confirmed_over` naming exactly those places (if they
    changed meanwhile, it asks again). Nobody is removed: over the head-count they keep
    their places, and the page shows them as such.
    """
    slot = lock_slot(db_session, slot.id)
    confirmed = sorted(
        _places(db_session, slot.id, AssignmentStatus.CONFIRMED),
        key=lambda p: (p.confirmed_at or p.created_at, p.id),
    )
    over = list(reversed(confirmed[max(headcount, 0) :]))
    lowered_below = bool(over) and headcount < slot.headcount
    if lowered_below and sorted(confirmed_over or []) != sorted(p.id for p in over):
        return SlotEdit(saved=False, over=over)
    before = slot.headcount
    update_slot(
        db_session, slot, headcount=headcount, starts_at=starts_at, ends_at=ends_at, now=now
    )
    if lowered_below:
        _log(
            db_session,
            slot.session_id,
            "headcount_lowered",
            actor=organizer,
            detail=_detail(
                slot=slot.id,
                before=before,
                after=headcount,
                over=[p.user_id for p in over[:HISTORY_PEOPLE]],
            ),
            now=now,
        )
    promoted = fill_from_waitlist(db_session, slot, now=now, actor=organizer)
    return SlotEdit(saved=True, over=over if lowered_below else [], promoted=promoted)


def move_in_waitlist(
    db_session: Session, *, organizer: User, place: Assignment, up: bool, now: datetime
) -> None:
    """Swap a waitlisted place with its neighbour above (up) or below."""
    if place.status != AssignmentStatus.WAITLISTED:
        raise RuleViolation(_l("Only a place on the waitlist can be moved."))
    _lock_place(db_session, place, AssignmentStatus.WAITLISTED)
    waitlist = _places(db_session, place.slot_id, AssignmentStatus.WAITLISTED)
    index = next(i for i, p in enumerate(waitlist) if p.id == place.id)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(waitlist):
        return
    # Renumber 1..n first, so equal positions (two joined at once) swap cleanly.
    for number, p in enumerate(waitlist, start=1):
        p.waitlist_position = number
    waitlist[index].waitlist_position, waitlist[other].waitlist_position = (
        waitlist[other].waitlist_position,
        waitlist[index].waitlist_position,
    )
    _log(
        db_session,
        place.slot.session_id,
        "reordered",
        actor=organizer,
        assignment=place,
        detail="up" if up else "down",
        now=now,
    )
    db_session.flush()


def answer_request(
    db_session: Session,
    *,
    organizer: User,
    place: Assignment,
    approve: bool,
    now: datetime,
    confirmed: str | None = None,
) -> Outcome:
    """Confirm or decline a request (a talk, or a member over the no-show limit).

    Approving asks first (`AskFirst`, as `assign`) when the role is already full, people
    wait on its waitlist, or the member holds a role whose time overlaps (a request holds no
    time, so they may have taken one meanwhile). Declining never asks. A request made by
    taking a member's offered place, approved while the offer is open, hands that place over
    (`offers.approve_offer_request`): the head-count does not move.
    """
    if place.status != AssignmentStatus.REQUESTED:
        raise RuleViolation(_l("This request was already answered."))
    slot = _lock_place(db_session, place, AssignmentStatus.REQUESTED)
    if approve:
        # A request to take a member's offered place: approving it hands the place over.
        # (Imported here: offers imports this module.)
        from studygroup.signups.offers import approve_offer_request

        if approve_offer_request(
            db_session, organizer=organizer, place=place, slot=slot, now=now, confirmed=confirmed
        ):
            return Outcome(place)
        _ask_first(db_session, member=place.user, slot=slot, place=place, confirmed=confirmed)
        _confirm(place, now)
        kind, action = "request_approved", "approved"
    else:
        place.status = AssignmentStatus.DECLINED
        place.updated_at = now
        kind, action = "request_declined", "declined"
    _log(db_session, slot.session_id, action, actor=organizer, assignment=place, now=now)
    queue_email(db_session, user=place.user, kind=kind, place=place, now=now)
    db_session.flush()
    return Outcome(place)


def set_attendance(
    db_session: Session,
    *,
    organizer: User,
    place: Assignment,
    attendance: Attendance,
    now: datetime,
) -> None:
    """Mark a confirmed place as worked or no-show, once the session has started."""
    if place.status != AssignmentStatus.CONFIRMED:
        raise RuleViolation(_l("Only confirmed places have attendance."))
    _lock_place(db_session, place, AssignmentStatus.CONFIRMED)
    if place.slot.session.starts_at > now:
        raise RuleViolation(_l("Attendance is recorded once the session has started."))
    _check_takes_place(place.slot.session)
    place.attendance = attendance
    place.attendance_marked_at = now
    place.updated_at = now
    _log(
        db_session,
        place.slot.session_id,
        attendance.value,
        actor=organizer,
        assignment=place,
        now=now,
    )
    db_session.flush()


def confirm_attendance(
    db_session: Session, *, organizer: User, session: StudySession, now: datetime
) -> int:
    """One click after the session: every confirmed place not marked yet counts as worked.

    Returns how many places were marked.
    """
    if session.starts_at > now:
        raise RuleViolation(_l("Attendance is recorded once the session has started."))
    _check_takes_place(session)
    result = db_session.execute(
        sa.update(Assignment)
        .where(
            Assignment.slot_id.in_(sa.select(RoleSlot.id).where(RoleSlot.session_id == session.id)),
            Assignment.status == AssignmentStatus.CONFIRMED,
            Assignment.attendance == Attendance.UNKNOWN,
        )
        .values(attendance=Attendance.WORKED, attendance_marked_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.attendance_confirmed_at = now
    _log(
        db_session,
        session.id,
        "attendance_confirmed",
        actor=organizer,
        detail=str(result.rowcount),
        now=now,
    )
    db_session.flush()
    return result.rowcount


def add_helper(
    db_session: Session, *, organizer: User, member: User, slot: RoleSlot, now: datetime
) -> Outcome:
    """Record someone who helped without signing up: a confirmed, worked place."""
    outcome = assign(
        db_session, organizer=organizer, member=member, slot=slot, now=now, helper=True
    )
    outcome.place.attendance = Attendance.WORKED
    outcome.place.attendance_marked_at = now
    db_session.flush()
    return outcome
