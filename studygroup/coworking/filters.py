"""What the co-worker page's filter offers: the groups and the years of a member's history
that the viewer may see (`filter_choices`, `history_years`), each in one query.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.coworking.visibility import history_groups
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment
from studygroup.signups.records import counts_as_worked


def history_years(
    db_session: Session, member: User, *, viewer: User | None, now: datetime
) -> range:
    """The years the member's co-working page can filter by, latest first: from the year of
    their first worked session or first membership, whichever is earlier, to this year (in
    their time zone). Only the groups whose history `viewer` may see count
    (`history_groups`, as for the page's rows): the filter tells no one when the member's
    history elsewhere began. One query."""
    first_worked, first_joined = _first_dates(member, history_groups(member, viewer), now)
    worked, joined = db_session.execute(sa.select(first_worked, first_joined)).one()
    return _years(member, now, worked, joined)


def filter_choices(
    db_session: Session, member: User, *, viewer: User | None, now: datetime
) -> tuple[list[Group], range]:
    """What the co-worker page's filter offers: the groups the member is an active member of
    whose history `viewer` may see (`history_groups`), by name, and `history_years`. One
    query (the page has few to spare)."""
    groups = history_groups(member, viewer)
    first_worked, first_joined = _first_dates(member, groups, now)
    dates = sa.select(first_worked.label("worked"), first_joined.label("joined")).subquery()
    mine = [Membership.user_id == member.id, Membership.status == MembershipStatus.ACTIVE]
    if groups is not None:
        mine.append(Membership.group_id.in_(groups))
    rows = db_session.execute(
        sa.select(dates.c.worked, dates.c.joined, Group)
        .select_from(dates)
        .outerjoin(Membership, sa.and_(*mine))  # one row with no group when there is none
        .outerjoin(Group, Group.id == Membership.group_id)
        .order_by(Group.name, Group.id)
    ).all()
    worked, joined = rows[0][:2]
    return [group for *_dates, group in rows if group is not None], _years(
        member, now, worked, joined
    )


def _first_dates(member: User, groups, now: datetime):
    """SQL: the start of the member's first worked session and their first joining, in
    `groups` (None: all)."""

    def seen(group_id) -> list:
        return [] if groups is None else [group_id.in_(groups)]

    first_worked = (
        sa.select(sa.func.min(StudySession.starts_at))
        .select_from(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            Assignment.user_id == member.id,
            counts_as_worked(Assignment, StudySession),
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at <= now,
            *seen(StudySession.group_id),
        )
        .scalar_subquery()
    )
    first_joined = (
        sa.select(sa.func.min(Membership.joined_at))
        .where(Membership.user_id == member.id, *seen(Membership.group_id))
        .scalar_subquery()
    )
    return first_worked, first_joined


def _years(member: User, now: datetime, worked, joined) -> range:
    zone = ZoneInfo(member.timezone)
    this_year = now.astimezone(zone).year
    starts = [value.astimezone(zone).year for value in (worked, joined) if value]
    first = min(starts, default=this_year)
    return range(this_year, min(first, this_year) - 1, -1)
