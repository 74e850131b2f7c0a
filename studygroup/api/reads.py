"""What the API reads: plain functions over a db session (no request), each a fixed number
of statements whatever the page size. The rules stay where the pages keep them: who may see
a group (groups.services.can_view_group), whose names show (coworking.visibility.visible_names),
how full a role is (signups.places.staffing_for / HeadCount)."""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from studygroup.auth.models import User
from studygroup.coworking.visibility import visible_names
from studygroup.groups.models import Group, Membership, MembershipStatus, Visibility
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.lists import _has_gap
from studygroup.signups.places import SlotStaffing, staffing_for


@dataclass
class GroupRow:
    group: Group
    membership: Membership | None  # the caller's active one


def groups_page(
    db_session: Session, viewer: User | None, *, after: tuple[str, int] | None, limit: int
) -> tuple[list[GroupRow], tuple[str, int] | None]:
    """The public groups and the viewer's own (active memberships), by name then id: the
    `limit` after the key `after`, and the key to continue from (None at the end). One
    statement."""
    mine = (
        sa.and_(
            Membership.user_id == viewer.id,
            Membership.group_id == Group.id,
            Membership.status == MembershipStatus.ACTIVE,
        )
        if viewer is not None
        else sa.false()
    )
    query = (
        sa.select(Group, Membership)
        .outerjoin(Membership, mine)
        .where(sa.or_(Group.visibility == Visibility.PUBLIC, Membership.id.is_not(None)))
        .order_by(Group.name, Group.id)
        .limit(limit + 1)
    )
    if after is not None:
        name, group_id = after
        query = query.where(
            sa.or_(Group.name > name, sa.and_(Group.name == name, Group.id > group_id))
        )
    rows = [GroupRow(g, m) for g, m in db_session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].group.name, rows[-1].group.id) if more else None)


@dataclass
class SessionDetails:
    """Sessions with what the API says of them, read together."""

    sessions: list[StudySession]
    staffing: dict[int, SlotStaffing] = field(default_factory=dict)  # by slot id
    # {session id: (registered, capacity, waitlisted)} for sessions taking participants
    participants: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    names: dict[int, str | None] = field(default_factory=dict)  # by user id, as viewer sees


def _session_details(
    db_session: Session, sessions: list[StudySession], *, viewer: User | None, is_member: bool
) -> SessionDetails:
    details = SessionDetails(sessions, staffing=staffing_for(db_session, sessions))
    taking = [s for s in sessions if s.takes_participants]
    if taking:
        counts = dict.fromkeys(((s.id, st) for s in taking for st in ParticipantStatus), 0)
        rows = db_session.execute(
            sa.select(Participant.session_id, Participant.status, sa.func.count())
            .where(Participant.session_id.in_([s.id for s in taking]))
            .group_by(Participant.session_id, Participant.status)
        )
        counts.update({(sid, st): n for sid, st, n in rows})
        details.participants = {
            s.id: (
                counts[s.id, ParticipantStatus.REGISTERED],
                s.participant_capacity or 0,
                counts[s.id, ParticipantStatus.WAITLISTED],
            )
            for s in taking
        }
    if is_member and sessions:
        people = {
            p.user_id: p.user for staffing in details.staffing.values() for p in staffing.confirmed
        }
        details.names = visible_names(
            db_session, viewer, people.values(), group_id=sessions[0].group_id
        )
    return details


def _with_slots(query: sa.Select) -> sa.Select:
    # The group is the caller's, already in the identity map: no join for it.
    return query.options(selectinload(StudySession.slots).joinedload(RoleSlot.role_type))


def upcoming_sessions_page(
    db_session: Session,
    group: Group,
    *,
    viewer: User | None,
    is_member: bool,
    now: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
    gaps_only: bool = False,
) -> tuple[SessionDetails, tuple[datetime, int] | None]:
    """The group's sessions not yet over (cancelled ones too), soonest first, `limit` after
    the key `after`; with `gaps_only`, those taking place with a role short of people (as the
    staffing page's filter). Five statements at most for any page size."""
    query = (
        sa.select(StudySession)
        .where(StudySession.group_id == group.id, StudySession.ends_at >= now)
        .order_by(StudySession.starts_at, StudySession.id)
        .limit(limit + 1)
    )
    if gaps_only:
        query = query.where(StudySession.status == SessionStatus.SCHEDULED, _has_gap())
    if after is not None:
        starts_at, session_id = after
        query = query.where(
            sa.or_(
                StudySession.starts_at > starts_at,
                sa.and_(StudySession.starts_at == starts_at, StudySession.id > session_id),
            )
        )
    sessions = list(db_session.scalars(_with_slots(query)))
    more = len(sessions) > limit
    sessions = sessions[:limit]
    details = _session_details(db_session, sessions, viewer=viewer, is_member=is_member)
    last = sessions[-1] if more else None
    return details, ((last.starts_at, last.id) if last else None)


def one_session(
    db_session: Session, group: Group, session_id: int, *, viewer: User | None, is_member: bool
) -> SessionDetails | None:
    """One session of `group` (None: not this group's), as `upcoming_sessions_page` reads."""
    session = (
        db_session.execute(
            sa.select(StudySession)
            .where(StudySession.id == session_id, StudySession.group_id == group.id)
            .options(joinedload(StudySession.slots).joinedload(RoleSlot.role_type))
        )
        .unique()
        .scalar_one_or_none()
    )
    if session is None:
        return None
    return _session_details(db_session, [session], viewer=viewer, is_member=is_member)


def sessions_by_id(
    db_session: Session, group: Group, ids: list[int], *, viewer: User | None, is_member: bool
) -> SessionDetails:
    """Sessions of `group` by id, soonest first, as `upcoming_sessions_page` reads them (a
    fixed number of statements however many)."""
    query = (
        sa.select(StudySession)
        .where(StudySession.id.in_(ids), StudySession.group_id == group.id)
        .order_by(StudySession.starts_at, StudySession.id)
    )
    sessions = list(db_session.scalars(_with_slots(query)))
    return _session_details(db_session, sessions, viewer=viewer, is_member=is_member)
