"""Who may open a session's check-in page, and when: organizers of the group, and members
holding a confirmed reception place, during the session's day (`Access`). No request access.
"""

import enum
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.groups.models import Group, Membership, RoleType
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus

RECEPTION_KEY = "reception"


class Access(enum.Enum):
    OPEN = "open"
    NOT_FOUND = "not_found"  # not a member of the group: the page does not exist for them
    FORBIDDEN = "forbidden"  # a member without a reception place
    NOT_TODAY = "not_today"  # allowed, but not on this day
    NOT_HELD = "not_held"  # cancelled or marked not held: nobody to check in


def checkin_window(session: StudySession, tz: str, *, organizer: bool) -> tuple[datetime, datetime]:
    """From 00:00 of the session's day (the group's clock) until the day ends, or until the
    session ends when it runs past midnight. Generous on purpose: reception comes early and
    late-comers still get in. Organizers may also open it the day before, to try the page
    with their team before the doors open."""
    zone = ZoneInfo(tz)
    day = session.starts_at.astimezone(zone).date()
    opens = datetime.combine(day, time(0), zone)
    closes = datetime.combine(day + timedelta(days=1), time(0), zone)
    if organizer:
        opens = datetime.combine(day - timedelta(days=1), time(0), zone)
    return opens, max(closes, session.ends_at)


def access_for(
    *,
    session: StudySession,
    group: Group,
    membership: Membership | None,
    holds_reception: bool,
    now: datetime,
) -> Access:
    """The rule, on data the caller has: organizers of the group, and members holding a
    confirmed reception place in the session, during the session's day."""
    if membership is None or not membership.is_active or membership.group_id != group.id:
        return Access.NOT_FOUND
    organizer = membership.is_organizer
    if not (organizer or holds_reception):
        return Access.FORBIDDEN
    if not session.is_scheduled:
        return Access.NOT_HELD
    opens, closes = checkin_window(session, group.timezone, organizer=organizer)
    if not opens <= now < closes:
        return Access.NOT_TODAY
    return Access.OPEN


def holds_reception_place(db_session: Session, user: User, session: StudySession) -> bool:
    """A confirmed place in the session's reception role (by its key: a group may have
    renamed the role, the key stays)."""
    return bool(
        db_session.scalar(
            sa.select(sa.literal(True))
            .select_from(Assignment)
            .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
            .join(RoleType, RoleType.id == RoleSlot.role_type_id)
            .where(
                RoleSlot.session_id == session.id,
                RoleType.key == RECEPTION_KEY,
                Assignment.user_id == user.id,
                Assignment.status == AssignmentStatus.CONFIRMED,
            )
            .limit(1)
        )
    )


def check_in_access(
    db_session: Session,
    user: User | None,
    session: StudySession,
    now: datetime,
    *,
    membership: Membership | None = None,
) -> Access:
    """`membership`: the user's in the session's group, when the caller has it loaded."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Access.NOT_FOUND
    group = session.group
    if membership is None or membership.user_id != user.id:
        membership = db_session.scalar(
            sa.select(Membership).where(
                Membership.user_id == user.id, Membership.group_id == group.id
            )
        )
    holds = (
        membership is not None
        and membership.is_active
        and not membership.is_organizer
        and holds_reception_place(db_session, user, session)
    )
    return access_for(
        session=session, group=group, membership=membership, holds_reception=holds, now=now
    )


def may_check_in(db_session: Session, user: User | None, session: StudySession, now) -> bool:
    return check_in_access(db_session, user, session, now) == Access.OPEN
