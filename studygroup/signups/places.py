"""Where places stand, and the lock every change to them takes.

Capacity holds under concurrency: every change to a slot's places first takes the slot's row
lock (`lock_slot`), in the database, so it holds across processes. Counting and deciding
happen after the lock, so two requests can never take the last place twice. A partial unique
index stops one member holding two live places in the same slot.

Here too: what a slot holds (`SlotStaffing`, waitlist numbers) and the one overlap rule
(`blocking_place`), read by sign-ups, organizers' actions, offers and the suggested teams.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload

from studygroup.auth.models import User
from studygroup.db import lock_row
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import LIVE_STATUSES, Assignment, AssignmentStatus

# --- locking ------------------------------------------------------------------------------


def lock_slot(db_session: Session, slot_id: int, *, session_id: int | None = None) -> RoleSlot:
    """Take the session's and the slot's row locks (see `lock_row`) and return the slot fresh.
    Every change to places starts here, so changes in one session happen one after another.
    `session_id`: the slot's session, when the caller has read it (saves a query)."""
    if session_id is None:
        session_id = db_session.scalar(sa.select(RoleSlot.session_id).where(RoleSlot.id == slot_id))
        if session_id is None:
            raise RuleViolation(_l("This role is no longer in the session."))
    # The session first, then the slot, in every function: a member's places in one session
    # (the overlap rule) change one request at a time, and two locks never deadlock.
    lock_row(db_session, StudySession, session_id)
    slot = lock_row(db_session, RoleSlot, slot_id)
    if slot is None or slot.session_id != session_id:
        raise RuleViolation(_l("This role is no longer in the session."))
    return slot


def _lock_place(db_session: Session, place: Assignment, *statuses: AssignmentStatus):
    """Lock the place's slot, re-read the place, and check its status after the lock: a
    concurrent request may have changed it meanwhile. Returns the locked slot."""
    slot = lock_slot(db_session, place.slot_id)
    db_session.refresh(place)
    if statuses and place.status not in statuses:
        raise RuleViolation(_l("This place has just changed. Please look again."))
    return slot


# --- what a slot holds --------------------------------------------------------------------


def _places(db_session: Session, slot_id: int, status: AssignmentStatus) -> list[Assignment]:
    order = (
        (Assignment.waitlist_position, Assignment.id)
        if status == AssignmentStatus.WAITLISTED
        else (Assignment.id,)
    )
    return list(
        db_session.scalars(
            sa.select(Assignment)
            .where(Assignment.slot_id == slot_id, Assignment.status == status)
            .options(joinedload(Assignment.user))
            .order_by(*order)
        )
    )


def _confirmed_and_next_position(db_session: Session, slot_id: int) -> tuple[int, int]:
    """The slot's confirmed places and the waitlist position after its last, in one query."""
    return tuple(db_session.execute(_confirmed_and_next_statement(), {"slot_id": slot_id}).one())


@cache
def _confirmed_and_next_statement() -> sa.Select:
    # Built once per process, the slot as a parameter: every sign-up sends it under the lock.
    confirmed = sa.func.count(sa.case((Assignment.status == AssignmentStatus.CONFIRMED, 1)))
    last_position = sa.func.coalesce(sa.func.max(Assignment.waitlist_position), 0)
    return sa.select(confirmed, last_position + 1).where(
        Assignment.slot_id == sa.bindparam("slot_id")
    )


def _confirmed_count(db_session: Session, slot_id: int) -> int:
    return db_session.scalar(
        sa.select(sa.func.count())
        .select_from(Assignment)
        .where(Assignment.slot_id == slot_id, Assignment.status == AssignmentStatus.CONFIRMED)
    )


class HeadCount:
    """How full a slot is, from its `slot` and its `filled` (confirmed places): what the
    staffing pages and the session cards (signups/cards.py) both say of it."""

    slot: RoleSlot
    filled: int

    @property
    def needed(self) -> int:
        return self.slot.headcount

    @property
    def gap(self) -> int:
        return max(self.needed - self.filled, 0)

    @property
    def is_full(self) -> bool:
        return self.filled >= self.needed


@dataclass
class SlotStaffing(HeadCount):
    """Who holds a slot: confirmed places, the waitlist in order, and open requests."""

    slot: RoleSlot
    confirmed: list[Assignment] = field(default_factory=list)
    waitlist: list[Assignment] = field(default_factory=list)
    requested: list[Assignment] = field(default_factory=list)

    @property
    def filled(self) -> int:
        return len(self.confirmed)

    def place_of(self, user_id: int) -> Assignment | None:
        for a in (*self.confirmed, *self.waitlist, *self.requested):
            if a.user_id == user_id:
                return a
        return None

    def waitlist_number(self, assignment: Assignment) -> int | None:
        for number, a in enumerate(self.waitlist, start=1):
            if a.id == assignment.id:
                return number
        return None


def staffing_for(db_session: Session, sessions: list[StudySession]) -> dict[int, SlotStaffing]:
    """Staffing of every slot of these sessions, by slot id, in one query.

    The sessions' slots must be loaded (they are, from the sessions services).
    """
    slots = [slot for s in sessions for slot in s.slots]
    if not slots:
        return {}
    places = db_session.scalars(
        sa.select(Assignment)
        .where(live_place_in(slot.id for slot in slots))
        .options(joinedload(Assignment.user))
        .order_by(Assignment.id)
    )
    return staffing_from(slots, places)


def live_place_in(slot_ids: Iterable[int] | sa.BindParameter) -> sa.ColumnElement[bool]:
    """SQL: the place is a live one (confirmed, waitlisted, requested) in one of these slots
    (ids, or an expanding bind parameter for a statement built once)."""
    if not isinstance(slot_ids, sa.BindParameter):
        slot_ids = list(slot_ids)
    return Assignment.slot_id.in_(slot_ids) & Assignment.status.in_(LIVE_STATUSES)


def staffing_from(
    slots: Iterable[RoleSlot], places: Iterable[Assignment]
) -> dict[int, SlotStaffing]:
    """Staffing by slot id, from the slots and their live places (`live_place_in`) read in
    any order, with their holders loaded."""
    result = {slot.id: SlotStaffing(slot) for slot in slots}
    for place in places:
        staffing = result[place.slot_id]
        {
            AssignmentStatus.CONFIRMED: staffing.confirmed,
            AssignmentStatus.WAITLISTED: staffing.waitlist,
            AssignmentStatus.REQUESTED: staffing.requested,
        }[place.status].append(place)
    # Confirmed in the order they got their place, the waitlist in line (the same on every
    # engine: databases sort NULL positions differently).
    for staffing in result.values():
        staffing.confirmed.sort(key=lambda p: (p.confirmed_at or p.created_at, p.id))
        staffing.waitlist.sort(key=lambda p: (p.waitlist_position or 0, p.id))
    return result


def waitlist_numbers(db_session: Session, places: list[Assignment]) -> dict[int, int]:
    """For waitlisted places: their number in line (1 = next), in one query."""
    waiting = [p for p in places if p.status == AssignmentStatus.WAITLISTED]
    if not waiting:
        return {}
    slot_ids = {p.slot_id for p in waiting}
    queue = db_session.execute(
        sa.select(Assignment.id, Assignment.slot_id)
        .where(Assignment.slot_id.in_(slot_ids), Assignment.status == AssignmentStatus.WAITLISTED)
        .order_by(Assignment.slot_id, Assignment.waitlist_position, Assignment.id)
    ).all()
    numbers: dict[int, int] = {}
    counters: dict[int, int] = defaultdict(int)
    for place_id, slot_id in queue:
        counters[slot_id] += 1
        numbers[place_id] = counters[slot_id]
    return {p.id: numbers[p.id] for p in waiting}


# --- the overlap rule ---------------------------------------------------------------------


# A place holds its member's time only when it is confirmed. A waitlist place is not a place
# yet (it may never come), nor is a request (it may be declined): neither stops the member
# taking another role, and neither can be made for a time the member already holds. When one
# would become a place that overlaps, the waitlist promotion passes the member by, and an
# organizer who approves or promotes it is asked first (`Concerns`).
BLOCKING_STATUSES = (AssignmentStatus.CONFIRMED,)


def windows_overlap(slot: RoleSlot, other: RoleSlot) -> bool:
    """Two roles of one session collide when their windows overlap (touching is fine)."""
    return (
        slot.id != other.id
        and slot.session_id == other.session_id
        and slot.starts_at < other.ends_at
        and other.starts_at < slot.ends_at
    )


def blocking_place(places, slot: RoleSlot) -> Assignment | None:
    """The one overlap rule: which of a member's `places` stops them taking `slot` (a
    confirmed place in another role of the session whose window overlaps), or None. The
    places' slots must be loaded."""
    for place in places:
        if place.status in BLOCKING_STATUSES and windows_overlap(slot, place.slot):
            return place
    return None


def places_in_session(
    db_session: Session, user_ids, session_id: int, statuses=LIVE_STATUSES
) -> dict[int, list[Assignment]]:
    """These members' places with one of `statuses` in the session, by member (every member
    given has a list), slots and roles loaded, in one query."""
    by_user: dict[int, list[Assignment]] = {u: [] for u in sorted(set(user_ids))}
    if not by_user:
        return by_user
    places = db_session.scalars(
        _places_in_session_statement(tuple(statuses)),
        {"user_ids": list(by_user), "session_id": session_id},
    )
    for place in places:
        by_user[place.user_id].append(place)
    return by_user


@cache
def _places_in_session_statement(statuses: tuple[AssignmentStatus, ...]) -> sa.Select:
    """`places_in_session`'s statement, built once per set of statuses (every sign-up sends
    it: building it cost more than sending it), the members and the session as parameters."""
    return (
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(
            Assignment.user_id.in_(sa.bindparam("user_ids", expanding=True)),
            Assignment.status.in_(statuses),
            RoleSlot.session_id == sa.bindparam("session_id"),
        )
        .options(joinedload(Assignment.slot).joinedload(RoleSlot.role_type))
        .order_by(Assignment.id)
    )


def _blocking_candidates(
    db_session: Session, user_ids, session_id: int
) -> dict[int, list[Assignment]]:
    """The places that may block these members in this session (see `blocking_place`), by
    member, in one query. Call with the session locked (`lock_slot`), so the answer holds
    until the commit."""
    return places_in_session(db_session, user_ids, session_id, BLOCKING_STATUSES)


def _overlapping_place(
    db_session: Session, user: User, slot: RoleSlot, *, ignore: Assignment | None = None
) -> Assignment | None:
    """The member's place that blocks `slot` (see `blocking_place`), read from the database."""
    places = _blocking_candidates(db_session, [user.id], slot.session_id)[user.id]
    return blocking_place([p for p in places if ignore is None or p.id != ignore.id], slot)
