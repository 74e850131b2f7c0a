"""Sign-ups, waitlists, approvals and attendance as plain functions: (db session, ...) -> data.

Capacity holds under concurrency: every change to a slot's places first takes the slot's row
lock (`lock_slot`), in the database, so it holds across processes. Counting and deciding
happen after the lock, so two requests can never take the last place twice. A partial unique
index stops one member holding two live places in the same slot.

Functions flush; the caller commits, then sends the queued emails (studygroup.mail).
Nothing is deleted: places are cancelled, declined or marked.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session, joinedload

from studygroup import events
from studygroup.auth.models import User
from studygroup.db import lock_row
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.groups.services import tell_organizers
from studygroup.i18n import role_label
from studygroup.mail.models import OutboundEmail
from studygroup.mail.services import Link, queue_email
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.sessions.services import update_slot
from studygroup.signups.models import (
    LIVE_STATUSES,
    Assignment,
    AssignmentStatus,
    Attendance,
    StaffingChange,
)
from studygroup.signups.records import HISTORY_PEOPLE, _detail, _log, _parse_detail, no_show_count

# --- locking and reading ------------------------------------------------------------------


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


def _active_membership(db_session: Session, user: User, group: Group) -> Membership | None:
    return db_session.scalar(
        sa.select(Membership).where(
            Membership.user_id == user.id,
            Membership.group_id == group.id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )


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


# --- members ------------------------------------------------------------------------------


def signup_window(group: Group, session: StudySession) -> tuple[datetime, datetime]:
    """When members may sign up for this session: (opens, closes)."""
    opens = session.starts_at - timedelta(days=group.signup_opens_days_before)
    closes = session.starts_at - timedelta(hours=group.signup_closes_hours_before)
    return opens, closes


def self_cancel_deadline(group: Group, session: StudySession) -> datetime:
    return session.starts_at - timedelta(hours=group.self_cancel_hours_before)


def _check_takes_place(session: StudySession) -> None:
    if session.is_cancelled:
        raise RuleViolation(_l("This session is cancelled."))
    if session.is_not_held:
        raise RuleViolation(_l("This session is marked as not held."))


def _check_open_for_places(slot: RoleSlot, now: datetime) -> None:
    session = slot.session
    if session.is_cancelled:
        raise RuleViolation(_l("This session is cancelled."))
    if session.starts_at <= now:
        raise RuleViolation(_l("This session has already started or is over."))
    if slot.role_type.is_retired:
        raise RuleViolation(_l("This role is retired."))


def sign_up(
    db_session: Session,
    *,
    member: User,
    slot: RoleSlot,
    now: datetime,
    talk_title: str = "",
    talk_abstract: str = "",
    membership: Membership | None = None,
) -> Assignment:
    """Give `member` a place in `slot`: confirmed while there is room, else on the waitlist.

    A role that needs approval, or a member over the group's no-show limit, makes a request
    instead. Refuses (RuleViolation) a role the organizers form the team for
    (`RoleType.is_formed`: members say they can help instead, and it has no waitlist),
    outside the group's sign-up window, for a cancelled or
    past session, a retired role, a second place in the same role, and a role whose time
    window overlaps another role the member holds in the session (a collision).
    Locks the slot row first, after every check that needs no lock; the caller commits.
    `membership`: the member's in the group, when the caller has it (saves a query).

    Many members may sign up for one role at the same moment and the session's lock lets
    them through one at a time, so the part under it is kept to a few statements.
    """
    session = slot.session
    group = session.group
    # Held here: the lock below reloads the slot, and the role is needed after it (the email).
    role_type = slot.role_type
    if membership is None or membership.user_id != member.id or membership.group_id != group.id:
        membership = _active_membership(db_session, member, group)
    if membership is None or membership.status != MembershipStatus.ACTIVE:
        raise RuleViolation(_l("Join the group to sign up."))
    _check_open_for_places(slot, now)
    if slot.role_type.is_formed:
        # Organizers place members in it (assign, the suggested team), never first come.
        raise RuleViolation(_l("Organizers form the team for this role: say you can help instead."))
    opens, closes = signup_window(group, session)
    # Organizers are not bound by the group's sign-up window.
    if not membership.is_organizer and now < opens:
        raise RuleViolation(_l("Sign-up for this session has not opened yet."))
    if not membership.is_organizer and now > closes:
        raise RuleViolation(_l("Sign-up for this session has closed. Ask an organizer."))
    needs_approval = slot.role_type.requires_approval or (
        group.no_show_limit is not None
        and no_show_count(db_session, member, group) >= group.no_show_limit
    )
    if slot.role_type.requires_approval and not talk_title.strip():
        raise RuleViolation(_l("Give a title for what you will present."), "talk_title")

    slot = lock_slot(db_session, slot.id, session_id=session.id)
    # The member's places in the session answer both "already here" and the overlap rule.
    places = places_in_session(db_session, [member.id], session.id)[member.id]
    if any(p.slot_id == slot.id for p in places):
        raise RuleViolation(_l("You already have a place in this role."))
    clash = blocking_place(places, slot)
    if clash is not None:
        raise RuleViolation(
            _l(
                "This overlaps with your place as %(role)s at the same session. "
                "One person can hold several roles only when their times do not overlap.",
                role=_role_name(clash.slot),
            )
        )

    confirmed, next_position = _confirmed_and_next_position(db_session, slot.id)
    if needs_approval:
        status = AssignmentStatus.REQUESTED
    elif confirmed < slot.headcount:
        status = AssignmentStatus.CONFIRMED
    else:
        status = AssignmentStatus.WAITLISTED
    place = Assignment(
        slot_id=slot.id,
        user_id=member.id,
        status=status,
        waitlist_position=next_position if status == AssignmentStatus.WAITLISTED else None,
        talk_title=talk_title.strip()[:200],
        talk_abstract=talk_abstract.strip(),
        created_at=now,
        updated_at=now,
        confirmed_at=now if status == AssignmentStatus.CONFIRMED else None,
    )
    db_session.add(place)
    db_session.flush()
    _log(db_session, session.id, _ACTION_FOR[status], actor=member, assignment=place, now=now)
    queue_email(db_session, user=member, kind=_EMAIL_FOR[status], place=place, now=now)
    if status == AssignmentStatus.REQUESTED:
        tell_organizers(
            db_session,
            group,
            kind="talk_request" if role_type.requires_approval else "approval_request",
            about=member,
            place=place,
            answer_at=Link(
                "signups.session_staffing",
                {"slug": group.slug, "session_id": session.id},
                f"place-{place.id}",
            ),
            now=now,
        )
    return place


_ACTION_FOR = {
    AssignmentStatus.CONFIRMED: "signed_up",
    AssignmentStatus.WAITLISTED: "waitlisted",
    AssignmentStatus.REQUESTED: "requested",
}
_EMAIL_FOR = {
    AssignmentStatus.CONFIRMED: "signup_confirmed",
    AssignmentStatus.WAITLISTED: "waitlist_joined",
    AssignmentStatus.REQUESTED: "request_received",
}


def _role_name(slot: RoleSlot) -> str:
    return role_label(slot.role_type)


# What a member hears after giving up their own place, by what the place was.
_GIVEN_UP_EMAIL = {
    AssignmentStatus.CONFIRMED: "place_cancelled",
    AssignmentStatus.WAITLISTED: "waitlist_withdrawn",
    AssignmentStatus.REQUESTED: "request_withdrawn",
}


def cancel_place(
    db_session: Session, *, place: Assignment, actor: User, now: datetime, by_organizer: bool
) -> list[Assignment]:
    """Give up a place (or withdraw from the waitlist or a request).

    Members may give up a confirmed place until the group's self-cancel deadline; organizers
    any time. A freed place goes to the first on the waitlist, who is told by email; in a
    formed role of a session whose team was accepted, to the next suggestion
    (`forming.refill_from_team`).
    Returns the places promoted.
    """
    if not place.is_live:
        raise RuleViolation(_l("This place is already cancelled."))
    slot = _lock_place(db_session, place, *LIVE_STATUSES)
    session = slot.session
    if (
        not by_organizer
        and place.status == AssignmentStatus.CONFIRMED
        and now > self_cancel_deadline(session.group, session)
    ):
        raise RuleViolation(
            lazy_ngettext(
                "Cancelling yourself is possible until %(num)d hour before the start. "
                "Please tell an organizer.",
                "Cancelling yourself is possible until %(num)d hours before the start. "
                "Please tell an organizer.",
                session.group.self_cancel_hours_before,
            )
        )
    was = place.status
    was_confirmed = was == AssignmentStatus.CONFIRMED
    place.status = AssignmentStatus.CANCELLED
    place.cancelled_at = now
    place.updated_at = now
    action = "removed" if by_organizer and actor.id != place.user_id else "cancelled"
    _log(db_session, session.id, action, actor=actor, assignment=place, now=now)
    if place.user_id == actor.id:
        kind = _GIVEN_UP_EMAIL[was]
        queue_email(db_session, user=place.user, kind=kind, place=place, now=now)
    else:
        queue_email(db_session, user=place.user, kind="place_removed", place=place, now=now)
    db_session.flush()
    promoted = fill_from_waitlist(db_session, slot, now=now) if was_confirmed else []
    if was_confirmed and not promoted:
        # A formed role of a session whose team was accepted: the next suggestion fills it.
        # (Imported here: forming imports this module.)
        from studygroup.signups.forming import refill_from_team

        refilled = refill_from_team(db_session, slot, given_up=place, now=now)
        if refilled is None and session.is_scheduled and session.starts_at > now:
            events.place_freed.send(place, now=now)
    return promoted


def fill_from_waitlist(
    db_session: Session, slot: RoleSlot, *, now: datetime, actor: User | None = None
) -> list[Assignment]:
    """Promote waitlisted members, first in line first, while the slot has room.

    A member whose confirmed place in another role of the session overlaps this one (see
    `blocking_place`) is passed by: they keep their number on the waitlist, and the next in
    line gets the place. That is logged and they are told by email once per place that blocks
    them, however often the waitlist moves meanwhile. Call with the slot locked (`lock_slot`:
    the session's row, then the slot's), so nobody's places in the session change meanwhile.
    Sessions that are cancelled, not held or over promote nobody. Reads in a fixed number of
    queries however long the waitlist.
    """
    if not slot.session.is_scheduled or slot.session.starts_at <= now:
        return []
    room = slot.headcount - _confirmed_count(db_session, slot.id)
    promoted: list[Assignment] = []
    if room <= 0:
        return promoted
    waiting = _places(db_session, slot.id, AssignmentStatus.WAITLISTED)
    blocking = _blocking_candidates(db_session, (p.user_id for p in waiting), slot.session_id)
    clashes = {p.id: blocking_place(blocking[p.user_id], slot) for p in waiting}
    told = _passed_over_before(
        db_session, [(p.id, clash.id) for p in waiting if (clash := clashes[p.id])]
    )
    for place in waiting:
        if len(promoted) >= room:
            break
        clash = clashes[place.id]
        if clash is not None:
            if (place.id, clash.id) not in told:
                _pass_by(db_session, place, clash, actor=actor, now=now)
            continue
        _confirm(place, now)
        _log(db_session, slot.session_id, "promoted", actor=actor, assignment=place, now=now)
        queue_email(db_session, user=place.user, kind="waitlist_promoted", place=place, now=now)
        promoted.append(place)
    db_session.flush()
    return promoted


def _passed_over_key(place_id: int, clash_id: int) -> str:
    return f"passed-over:{place_id}:{clash_id}"


def _passed_over_before(db_session: Session, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (waitlisted place, blocking place) pairs were passed over before: logged, or
    told by email (logs written before details were data name no place). Two queries, or
    none when nobody is blocked."""
    if not pairs:
        return set()
    logged = db_session.execute(
        sa.select(StaffingChange.assignment_id, StaffingChange.detail).where(
            StaffingChange.action == "passed_over",
            StaffingChange.assignment_id.in_({place_id for place_id, _ in pairs}),
        )
    )
    done = {
        (place_id, detail["place"])
        for place_id, text in logged
        if isinstance(detail := _parse_detail(text), dict) and "place" in detail
    }
    keys = {_passed_over_key(*pair): pair for pair in pairs}
    emailed = db_session.scalars(
        sa.select(OutboundEmail.dedupe_key).where(OutboundEmail.dedupe_key.in_(keys))
    )
    return done | {keys[key] for key in emailed}


def _pass_by(
    db_session: Session, place: Assignment, clash: Assignment, *, actor: User | None, now
) -> None:
    """Leave a waitlisted member where they are because `clash` overlaps; log and tell them."""
    _log(
        db_session,
        place.slot.session_id,
        "passed_over",
        actor=actor,
        assignment=place,
        detail=_detail(slot=clash.slot_id, place=clash.id),
        now=now,
    )
    queue_email(  # once per place that blocks them: the outbox keeps the key unique
        db_session,
        user=place.user,
        kind="waitlist_passed_over",
        place=place,
        other_place=clash,
        dedupe_key=_passed_over_key(place.id, clash.id),
        now=now,
    )


def _overlap_warning(member: User, clash: Assignment):
    return _l(
        "%(name)s also holds %(role)s at an overlapping time.",
        name=member.display_name,
        role=_role_name(clash.slot),
    )


def _lock_place(db_session: Session, place: Assignment, *statuses: AssignmentStatus):
    """Lock the place's slot, re-read the place, and check its status after the lock: a
    concurrent request may have changed it meanwhile. Returns the locked slot."""
    slot = lock_slot(db_session, place.slot_id)
    db_session.refresh(place)
    if statuses and place.status not in statuses:
        raise RuleViolation(_l("This place has just changed. Please look again."))
    return slot


def _confirm(place: Assignment, now: datetime) -> None:
    place.status = AssignmentStatus.CONFIRMED
    place.confirmed_at = now
    place.updated_at = now


def cancel_future_places(
    db_session: Session, *, member: User, group: Group, actor: User, now: datetime
) -> int:
    """When a member leaves or is removed: their places in sessions still to come are
    cancelled (the waitlist moves up), so nobody counts on them. Past places stay."""
    places = db_session.scalars(
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            Assignment.user_id == member.id,
            Assignment.status.in_(LIVE_STATUSES),
            StudySession.group_id == group.id,
            StudySession.starts_at > now,
        )
    ).all()
    for place in places:
        cancel_place(db_session, place=place, actor=actor, now=now, by_organizer=True)
    return len(places)


# --- organizers ---------------------------------------------------------------------------


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
