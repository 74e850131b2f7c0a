"""What organizers read in lists: the staffing overview, member records and one member's
places in a group. Each page comes from studygroup.paging in a fixed number of queries,
whatever the page size and however long the group's history.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, joinedload

from studygroup.auth.models import User
from studygroup.groups.models import Group, Membership, MembershipStatus, RoleType
from studygroup.i18n import role_label
from studygroup.names import by_name, name_matches
from studygroup.paging import Page, paginate, paginate_counted
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import LIVE_STATUSES, Assignment, AssignmentStatus, Attendance
from studygroup.signups.records import counts_as_worked

# --- the staffing overview ----------------------------------------------------------------


def _has_gap():
    """SQL: the session has a role with fewer confirmed places than its head-count."""
    confirmed = (
        sa.select(sa.func.count())
        .select_from(Assignment)
        .where(Assignment.slot_id == RoleSlot.id, Assignment.status == AssignmentStatus.CONFIRMED)
        .scalar_subquery()
    )
    return (
        sa.select(RoleSlot.id)
        .where(RoleSlot.session_id == StudySession.id, RoleSlot.headcount > confirmed)
        .exists()
    )


@dataclass(frozen=True)
class Overview:
    sessions: Page[StudySession]
    upcoming: int  # sessions not yet over, cancelled ones included
    with_gaps: int  # of those, held ones that still need people


def staffing_overview(
    db_session: Session, group: Group, *, now: datetime, gaps_only: bool, page: int, size: int
) -> Overview:
    """A page of the group's coming sessions (only those that need people, if asked), with
    how many there are and how many need people, their slots and role types loaded. Two
    queries for any page (and one for the staffing of its slots, `staffing_for`): the counts
    are also the page's total, and the slots come joined to their sessions."""
    needs_people = sa.and_(StudySession.status == SessionStatus.SCHEDULED, _has_gap())
    upcoming, with_gaps = db_session.execute(
        sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((needs_people, 1), else_=0)), 0)
        ).where(StudySession.group_id == group.id, StudySession.ends_at >= now)
    ).one()
    query = (
        sa.select(StudySession)
        .where(StudySession.group_id == group.id, StudySession.ends_at >= now)
        .order_by(StudySession.starts_at, StudySession.id)
        # The group is the page's own (already loaded): no join for it.
        .options(joinedload(StudySession.slots).joinedload(RoleSlot.role_type))
    )
    if gaps_only:
        query = query.where(needs_people)
    sessions = paginate(
        db_session, query, page=page, size=size, total=with_gaps if gaps_only else upcoming
    )
    return Overview(sessions, upcoming, with_gaps)


# --- member records -----------------------------------------------------------------------


@dataclass
class MemberRecord:
    membership: Membership
    sessions_worked: int = 0
    no_shows: int = 0
    last_worked: datetime | None = None
    roles: dict[str, int] = field(default_factory=dict)  # role name -> times worked

    @property
    def user(self) -> User:
        return self.membership.user


def active_members(group: Group, search: str = "") -> sa.Select:
    """The group's active memberships with their users, by reading or name; `search`
    (a name or reading) finds some."""
    query = (
        sa.select(Membership)
        .join(Membership.user)
        .where(Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE)
        .options(contains_eager(Membership.user))
        .order_by(*by_name())
    )
    return query.where(name_matches(search)) if search.strip() else query


def records_of(
    db_session: Session, group: Group, memberships: Sequence[Membership], *, now: datetime
) -> list[MemberRecord]:
    """These members' records in the group, in their order, in one query."""
    records = {m.user_id: MemberRecord(m) for m in memberships}
    if not records:
        return []
    base = (
        sa.select(
            Assignment.user_id,
            RoleType,
            Assignment.attendance,
            StudySession.id,
            StudySession.starts_at,
        )
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(RoleType, RoleType.id == RoleSlot.role_type_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            StudySession.group_id == group.id,
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at <= now,
            Assignment.status == AssignmentStatus.CONFIRMED,
            Assignment.user_id.in_(records.keys()),
        )
        .add_columns(counts_as_worked().label("worked"))
    )
    sessions_worked: dict[int, set[int]] = defaultdict(set)
    for user_id, role_type, attendance, session_id, starts_at, worked in db_session.execute(base):
        record = records[user_id]
        if attendance == Attendance.NO_SHOW:
            record.no_shows += 1
        elif worked:
            sessions_worked[user_id].add(session_id)
            name = role_label(role_type)
            record.roles[name] = record.roles.get(name, 0) + 1
            if record.last_worked is None or starts_at > record.last_worked:
                record.last_worked = starts_at
    for user_id, ids in sessions_worked.items():
        records[user_id].sessions_worked = len(ids)
    return list(records.values())


def member_records(db_session: Session, group: Group, *, now: datetime) -> list[MemberRecord]:
    """Each active member's record in the group, by reading or name, in two queries
    whatever its size (the CSV download)."""
    memberships = list(db_session.scalars(active_members(group)))
    return records_of(db_session, group, memberships, now=now)


def records_page(
    db_session: Session, group: Group, *, now: datetime, search: str, page: int, size: int
) -> Page[MemberRecord]:
    """One page of the active members' records, by reading or name, in three queries."""
    members = paginate(db_session, active_members(group, search), page=page, size=size)
    return members.map(lambda memberships: records_of(db_session, group, memberships, now=now))


# --- one member's places in a group -------------------------------------------------------


def _places_of(user: User, group: Group | None = None) -> sa.Select:
    """A member's places with their role and session (and the session's group when the
    places may be in any of the member's groups)."""
    session = joinedload(Assignment.slot).joinedload(RoleSlot.session)
    query = (
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(Assignment.user_id == user.id)
        .options(
            joinedload(Assignment.slot).joinedload(RoleSlot.role_type),
            session if group is not None else session.joinedload(StudySession.group),
        )
    )
    if group is not None:
        query = query.where(StudySession.group_id == group.id)
    return query


def upcoming_places(
    db_session: Session, user: User, *, now: datetime, group: Group | None = None
) -> list[Assignment]:
    """The member's live places (confirmed, waitlisted, requested) in sessions not yet over
    (in `group`, or in any group), soonest first, in one query."""
    return list(
        db_session.scalars(
            _places_of(user, group)
            .where(StudySession.ends_at >= now, Assignment.status.in_(LIVE_STATUSES))
            .order_by(StudySession.starts_at, Assignment.id)
        )
    )


def my_past_places_page(
    db_session: Session, user: User, *, now: datetime, page: int, size: int
) -> Page[Assignment]:
    """My schedule's record: the member's confirmed places in sessions that are over, in
    every group, latest first (cancelled and not held sessions too, marked so on the page);
    one query for any page that has places (`paginate_counted`)."""
    query = _places_of(user).where(
        StudySession.ends_at < now, Assignment.status == AssignmentStatus.CONFIRMED
    )
    return paginate_counted(
        db_session,
        query.order_by(StudySession.starts_at.desc(), Assignment.id.desc()),
        page=page,
        size=size,
    )


def past_places_page(
    db_session: Session, group: Group, user: User, *, now: datetime, page: int, size: int
) -> Page[Assignment]:
    """The member's confirmed places in the group's past sessions that were held, latest
    first, with attendance: two queries for any page."""
    query = _places_of(user, group).where(
        StudySession.ends_at < now,
        StudySession.status == SessionStatus.SCHEDULED,
        Assignment.status == AssignmentStatus.CONFIRMED,
    )
    return paginate(
        db_session,
        query.order_by(StudySession.starts_at.desc(), Assignment.id.desc()),
        page=page,
        size=size,
    )
