"""What waits for an organizer, across every group they organize: the top of /organize.

One plain function, `organize_page` (its needs alone: `needs_attention`), in a fixed number of
queries whatever the number of groups, sessions and people.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from studygroup.auth.models import User
from studygroup.groups.models import Group, MemberRole, Membership, MembershipStatus, RoleType
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus, Attendance
from studygroup.thanks.models import ThanksNote

# Sessions starting this soon with a role short of people are worth a look now.
GAPS_AHEAD = timedelta(days=14)
# Sessions that ended this long ago and more are left out of "attendance to confirm": until
# confirmed, their places count as worked, so an old one needs nobody any more.
ATTENDANCE_LOOKBACK = timedelta(days=60)


@dataclass
class RoleCount:
    """One role of one session with how many hold a confirmed place in it."""

    slot: RoleSlot
    filled: int

    @property
    def missing(self) -> int:
        return max(self.slot.headcount - self.filled, 0)


@dataclass
class Waitlist:
    """People waiting for a role, in line; `room` places are free for them now."""

    role: RoleCount
    people: list[Assignment] = field(default_factory=list)

    @property
    def room(self) -> int:
        return self.role.missing


@dataclass
class SessionGaps:
    """A session coming soon with the roles still short of people, in the session's order."""

    session: StudySession
    roles: list[RoleCount] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(r.missing for r in self.roles)


@dataclass
class AttendanceDue:
    """A session that has started and whose attendance no organizer has confirmed yet."""

    session: StudySession
    unmarked: int  # confirmed places with no worked / no-show mark yet


@dataclass
class GroupNeeds:
    group: Group
    membership: Membership | None = None  # the organizer's own
    requests: list[Assignment] = field(default_factory=list)
    waitlists: list[Waitlist] = field(default_factory=list)
    gaps: list[SessionGaps] = field(default_factory=list)
    attendance: list[AttendanceDue] = field(default_factory=list)
    join_requests: list[Membership] = field(default_factory=list)
    reported_notes: list[ThanksNote] = field(default_factory=list)
    # Confirmed places per slot of the requests: a request into a full role says so.
    filled: dict[int, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return (
            len(self.requests)
            + len(self.waitlists)
            + len(self.gaps)
            + len(self.attendance)
            + len(self.join_requests)
            + len(self.reported_notes)
        )


def needs_attention(db_session: Session, organizer: User, now: datetime) -> list[GroupNeeds]:
    """What waits for `organizer` in each group they organize: `organize_page(...).needs`."""
    return organize_page(db_session, organizer, now).needs


@dataclass
class OrganizePage:
    """/organize: what needs the organizer (`needs`, one per group they organize, by name),
    each group's next sessions (`by_group`, slots and role types loaded), how many sessions
    each group has still to come (`upcoming`) and the confirmed places per slot shown
    (`filled`)."""

    needs: list[GroupNeeds]
    by_group: dict[int, list[StudySession]]
    upcoming: dict[int, int]
    filled: dict[int, int]


def organize_page(
    db_session: Session, organizer: User, now: datetime, *, per_group: int = 6
) -> OrganizePage:
    """For every group `organizer` organizes (by name), what waits for an organizer:

    - requests to answer (places that need approval: talks, members over the no-show limit)
      in sessions not cancelled and not over, soonest first;
    - waitlists of roles in sessions still to come, with how much room the role has now;
    - sessions starting within `GAPS_AHEAD` with roles short of confirmed people;
    - sessions that have started (not cancelled, within `ATTENDANCE_LOOKBACK`) whose attendance
      is not confirmed, latest first;
    - requests to join the group, oldest first;
    - thank-you notes a recipient reported and no organizer has removed, oldest report first;

    and the next `per_group` sessions of each group (a busy group never hides another).

    Three queries whatever the number of groups and sessions (a fourth only when a note is
    reported): the memberships; the sessions (the next ones, those with gaps to look at and
    those with attendance to confirm) with their slots and counts; the places waiting.
    """
    # The organizer's own memberships and the requests to join their groups, in one query,
    # with each group's count of reported notes (rare: their own query only when there are).
    organized = sa.select(Membership.group_id).where(
        Membership.user_id == organizer.id,
        Membership.role == MemberRole.ORGANIZER,
        Membership.status == MembershipStatus.ACTIVE,
    )
    reported = (
        sa.select(sa.func.count())
        .select_from(ThanksNote)
        .join(StudySession, StudySession.id == ThanksNote.session_id)
        .where(
            StudySession.group_id == Membership.group_id,
            ThanksNote.reported_at.is_not(None),
            ThanksNote.removed_at.is_(None),
        )
        .correlate(Membership)
        .scalar_subquery()
    )
    rows = db_session.execute(
        sa.select(Membership, sa.case((Membership.user_id == organizer.id, reported), else_=0))
        .where(
            Membership.group_id.in_(organized),
            sa.or_(
                Membership.user_id == organizer.id,
                Membership.status == MembershipStatus.PENDING,
            ),
        )
        .options(joinedload(Membership.group), joinedload(Membership.user))
        .order_by(Membership.created_at, Membership.id)
    ).all()
    own = sorted(
        (m for m, _ in rows if m.user_id == organizer.id), key=lambda m: (m.group.name, m.group.id)
    )
    needs = {m.group_id: GroupNeeds(m.group, m) for m in own}
    if not needs:
        return OrganizePage([], {}, {}, {})
    any_reported = False
    for membership, reported_count in rows:
        if membership.status == MembershipStatus.PENDING:
            needs[membership.group_id].join_requests.append(membership)
        any_reported = any_reported or bool(reported_count)

    scheduled = sa.and_(
        StudySession.group_id.in_(list(needs)), StudySession.status == SessionStatus.SCHEDULED
    )
    filled = (
        sa.select(sa.func.count())
        .select_from(Assignment)
        .where(Assignment.slot_id == RoleSlot.id, Assignment.status == AssignmentStatus.CONFIRMED)
        .correlate(RoleSlot)
        .scalar_subquery()
    )
    slot_options = (joinedload(RoleSlot.role_type), joinedload(RoleSlot.session))

    # Requests (until the session is over) and waitlists (until it starts), in one query.
    waiting = db_session.execute(
        sa.select(Assignment, filled)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            scheduled,
            sa.or_(
                sa.and_(
                    Assignment.status == AssignmentStatus.REQUESTED, StudySession.ends_at > now
                ),
                sa.and_(
                    Assignment.status == AssignmentStatus.WAITLISTED,
                    StudySession.starts_at > now,
                ),
            ),
        )
        .options(joinedload(Assignment.user), joinedload(Assignment.slot).options(*slot_options))
        .order_by(
            StudySession.starts_at,
            StudySession.id,
            RoleSlot.position,
            RoleSlot.id,
            Assignment.waitlist_position,
            Assignment.id,
        )
    ).all()
    lines: dict[int, Waitlist] = {}
    for place, count in waiting:
        group_needs = needs[place.slot.session.group_id]
        if place.status == AssignmentStatus.REQUESTED:
            group_needs.requests.append(place)
            group_needs.filled[place.slot_id] = count
            continue
        line = lines.get(place.slot_id)
        if line is None:
            line = lines[place.slot_id] = Waitlist(RoleCount(place.slot, count))
            group_needs.waitlists.append(line)
        line.people.append(place)

    page = _sessions_to_show(db_session, needs, now=now, per_group=per_group)

    # Reported notes wait until an organizer removes them (a removal is the only answer).
    if any_reported:
        for note in db_session.scalars(
            sa.select(ThanksNote)
            .join(StudySession, StudySession.id == ThanksNote.session_id)
            .where(
                StudySession.group_id.in_(list(needs)),
                ThanksNote.reported_at.is_not(None),
                ThanksNote.removed_at.is_(None),
            )
            .options(joinedload(ThanksNote.session), joinedload(ThanksNote.recipient))
            .order_by(ThanksNote.reported_at, ThanksNote.id)
        ):
            needs[note.session.group_id].reported_notes.append(note)

    page.needs = [needs[m.group_id] for m in own]
    return page


def _sessions_to_show(
    db_session: Session, needs: dict[int, GroupNeeds], *, now: datetime, per_group: int
) -> OrganizePage:
    """One query for every session /organize shows, a row per slot: each group's next
    `per_group`, those starting within GAPS_AHEAD (gaps), and those started whose attendance
    waits (with their unmarked places). Fills the needs' gaps and attendance."""
    group_ids = list(needs)
    ranked = (
        sa.select(
            StudySession.id,
            sa.func.row_number()
            .over(
                partition_by=StudySession.group_id,
                order_by=(StudySession.starts_at, StudySession.id),
            )
            .label("n"),
            sa.func.count().over(partition_by=StudySession.group_id).label("upcoming"),
        )
        .where(StudySession.group_id.in_(group_ids), StudySession.ends_at >= now)
        .subquery()
    )
    held = StudySession.status == SessionStatus.SCHEDULED
    gaps_window = (
        held & (StudySession.starts_at > now) & (StudySession.starts_at <= now + GAPS_AHEAD)
    )
    attendance_due = (
        held
        & (StudySession.starts_at <= now)
        & (StudySession.ends_at > now - ATTENDANCE_LOOKBACK)
        & StudySession.attendance_confirmed_at.is_(None)
    )
    unmarked = (
        sa.select(sa.func.count())
        .select_from(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(
            RoleSlot.session_id == StudySession.id,
            Assignment.status == AssignmentStatus.CONFIRMED,
            Assignment.attendance == Attendance.UNKNOWN,
        )
        .correlate(StudySession)
        .scalar_subquery()
    )
    slot = aliased(RoleSlot)
    filled_here = (
        sa.select(sa.func.count())
        .select_from(Assignment)
        .where(Assignment.slot_id == slot.id, Assignment.status == AssignmentStatus.CONFIRMED)
        .correlate(slot)
        .scalar_subquery()
    )
    rows = db_session.execute(
        sa.select(
            StudySession,
            ranked.c.n,
            ranked.c.upcoming,
            gaps_window,
            sa.case((attendance_due, unmarked), else_=None),
            slot,
            RoleType,
            filled_here,
        )
        .outerjoin(ranked, ranked.c.id == StudySession.id)
        .outerjoin(slot, slot.session_id == StudySession.id)
        .outerjoin(RoleType, RoleType.id == slot.role_type_id)
        .where(
            StudySession.group_id.in_(group_ids),
            sa.or_(ranked.c.n <= per_group, gaps_window, attendance_due),
        )
        .order_by(StudySession.starts_at, StudySession.id, slot.position, slot.id)
    ).all()
    by_group: dict[int, list[StudySession]] = {gid: [] for gid in group_ids}
    upcoming = dict.fromkeys(group_ids, 0)
    filled_by_slot: dict[int, int] = {}
    slots: dict[int, list[RoleSlot]] = {}
    gaps: dict[int, SessionGaps] = {}
    attendance: list[AttendanceDue] = []
    for (
        session,
        n,
        group_upcoming,
        in_gaps_window,
        unmarked_count,
        role_slot,
        role_type,
        count,
    ) in rows:
        if session.id not in slots:
            slots[session.id] = []
            if n is not None and n <= per_group:
                by_group[session.group_id].append(session)
                upcoming[session.group_id] = group_upcoming
            if unmarked_count is not None:
                attendance.append(AttendanceDue(session, unmarked_count))
        if role_slot is None:
            continue
        # Tie the rows' objects together: the identity map holds them only weakly.
        set_committed_value(role_slot, "role_type", role_type)
        set_committed_value(role_slot, "session", session)
        slots[session.id].append(role_slot)
        filled_by_slot[role_slot.id] = count
        if in_gaps_window and role_slot.headcount > count:
            if session.id not in gaps:
                gaps[session.id] = SessionGaps(session)
                needs[session.group_id].gaps.append(gaps[session.id])
            gaps[session.id].roles.append(RoleCount(role_slot, count))
    for session in {row[0].id: row[0] for row in rows}.values():
        set_committed_value(session, "slots", slots[session.id])
    # Attendance to confirm: latest first.
    attendance.sort(key=lambda due: (-due.session.starts_at.timestamp(), due.session.id))
    for due in attendance:
        needs[due.session.group_id].attendance.append(due)
    return OrganizePage([], by_group, upcoming, filled_by_slot)
