"""What waits for an organizer, across every group they organize: the top of /organize.

One plain function, `needs_attention`, in a fixed number of queries whatever the number of
groups, sessions and people.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from studygroup.auth.models import User
from studygroup.groups.models import Group, MemberRole, Membership, MembershipStatus
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
    """For every group `organizer` organizes (by name), what waits for an organizer:

    - requests to answer (places that need approval: talks, members over the no-show limit)
      in sessions not cancelled and not over, soonest first;
    - waitlists of roles in sessions still to come, with how much room the role has now;
    - sessions starting within `GAPS_AHEAD` with roles short of confirmed people;
    - sessions that have started (not cancelled, within `ATTENDANCE_LOOKBACK`) whose attendance
      is not confirmed, latest first;
    - requests to join the group, oldest first;
    - thank-you notes a recipient reported and no organizer has removed, oldest report first.

    Five queries, whatever the number of groups and sessions.
    """
    # The organizer's own memberships and the requests to join their groups, in one query.
    organized = sa.select(Membership.group_id).where(
        Membership.user_id == organizer.id,
        Membership.role == MemberRole.ORGANIZER,
        Membership.status == MembershipStatus.ACTIVE,
    )
    rows = db_session.scalars(
        sa.select(Membership)
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
    groups = sorted(
        (m.group for m in rows if m.user_id == organizer.id), key=lambda g: (g.name, g.id)
    )
    needs = {g.id: GroupNeeds(g) for g in groups}
    if not needs:
        return []
    for membership in rows:
        if membership.status == MembershipStatus.PENDING:
            needs[membership.group_id].join_requests.append(membership)

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

    short = db_session.execute(
        sa.select(RoleSlot, filled)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            scheduled,
            StudySession.starts_at > now,
            StudySession.starts_at <= now + GAPS_AHEAD,
            RoleSlot.headcount > filled,
        )
        .options(*slot_options)
        .order_by(StudySession.starts_at, StudySession.id, RoleSlot.position, RoleSlot.id)
    ).all()
    by_session: dict[int, SessionGaps] = {}
    for slot, count in short:
        gaps = by_session.get(slot.session_id)
        if gaps is None:
            gaps = by_session[slot.session_id] = SessionGaps(slot.session)
            needs[slot.session.group_id].gaps.append(gaps)
        gaps.roles.append(RoleCount(slot, count))

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
    for session, count in db_session.execute(
        sa.select(StudySession, unmarked)
        .where(
            scheduled,
            StudySession.starts_at <= now,
            StudySession.ends_at > now - ATTENDANCE_LOOKBACK,
            StudySession.attendance_confirmed_at.is_(None),
        )
        .order_by(StudySession.starts_at.desc(), StudySession.id)
    ):
        needs[session.group_id].attendance.append(AttendanceDue(session, count))

    # Reported notes wait until an organizer removes them (a removal is the only answer).
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

    return [needs[g.id] for g in groups]
