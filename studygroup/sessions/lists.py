"""Sessions listed: the upcoming ones of some groups, and a group's past by year, each with
its slots loaded in a fixed number of queries.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from studygroup.db import local_year
from studygroup.groups.models import Group
from studygroup.paging import Page, paginate
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession


def _with_slots(query):
    return query.options(
        selectinload(StudySession.slots).joinedload(RoleSlot.role_type),
        joinedload(StudySession.group),
    )


def upcoming_sessions(
    db_session: Session,
    *,
    group_ids: Iterable[int],
    now: datetime,
    limit: int = 20,
    include_cancelled: bool = True,
) -> list[StudySession]:
    """Sessions not yet over in these groups, soonest first, with slots and role types loaded
    (three queries whatever the number of sessions)."""
    group_ids = list(group_ids)
    if not group_ids:
        return []
    query = _upcoming(group_ids, now)
    if not include_cancelled:
        query = query.where(StudySession.status == SessionStatus.SCHEDULED)
    return list(db_session.scalars(_with_slots(query.limit(limit))))


def _upcoming(group_ids: list[int], now: datetime) -> sa.Select:
    return (
        sa.select(StudySession)
        .where(StudySession.group_id.in_(group_ids), StudySession.ends_at >= now)
        .order_by(StudySession.starts_at, StudySession.id)
    )


def upcoming_page(
    db_session: Session,
    *,
    group_ids: Iterable[int],
    now: datetime,
    page: int,
    size: int,
    where: sa.ColumnElement[bool] | None = None,
) -> Page[StudySession]:
    """One page of the sessions not yet over in these groups (cancelled ones too, marked;
    only those `where` holds for, if given), soonest first, with slots and role types
    loaded: four queries for any page."""
    query = _upcoming(list(group_ids), now)
    if where is not None:
        query = query.where(where)
    return paginate(db_session, _with_slots(query), page=page, size=size)


def past_sessions(
    db_session: Session, *, group: Group, now: datetime, limit: int = 12
) -> list[StudySession]:
    """The group's latest past sessions, without their slots (one query)."""
    query = (
        sa.select(StudySession)
        .where(StudySession.group_id == group.id, StudySession.ends_at < now)
        .order_by(StudySession.starts_at.desc(), StudySession.id.desc())
        .limit(limit)
    )
    return list(db_session.scalars(query))


def past_years(db_session: Session, *, group: Group, now: datetime) -> list[tuple[int, int]]:
    """(year, number of sessions) for each year of the group's past, newest first; years
    are the group's local ones. One aggregate query: a row per year, however long the past."""
    past = (
        sa.select(local_year(StudySession.starts_at, group.timezone).label("year"))
        .where(StudySession.group_id == group.id, StudySession.ends_at < now)
        .subquery()
    )
    counts = sa.select(past.c.year, sa.func.count()).group_by(past.c.year)
    return [tuple(row) for row in db_session.execute(counts.order_by(past.c.year.desc()))]


def past_page(
    db_session: Session, *, group: Group, now: datetime, year: int, page: int, size: int
) -> Page[StudySession]:
    """One page of the group's past sessions in one of its local years, latest first, with
    slots loaded (four queries for any page)."""
    zone = ZoneInfo(group.timezone)
    query = (
        sa.select(StudySession)
        .where(
            StudySession.group_id == group.id,
            StudySession.ends_at < now,
            StudySession.starts_at >= datetime(year, 1, 1, tzinfo=zone).astimezone(UTC),
            StudySession.starts_at < datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC),
        )
        .order_by(StudySession.starts_at.desc(), StudySession.id.desc())
    )
    return paginate(db_session, _with_slots(query), page=page, size=size)
