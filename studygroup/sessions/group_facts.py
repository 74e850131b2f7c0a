"""What a group's page says about the group besides its upcoming sessions: its latest past
sessions, its past years, its organizers and how many members it has, in one statement."""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.db import local_year
from studygroup.groups.models import Group, MemberRole, Membership, MembershipStatus
from studygroup.names import name_order
from studygroup.sessions.models import StudySession


@dataclass
class GroupFacts:
    past: list[StudySession] = field(default_factory=list)  # latest first, slots not loaded
    past_years: list[tuple[int, int]] = field(default_factory=list)  # as `past_years`
    organizers: list[User] = field(default_factory=list)  # active ones, by name
    member_count: int = 0  # active members


def _row(kind: str, session_id=None, user_id=None, number=None, year=None) -> list:
    """One branch's columns, labelled alike (NULL where the branch has nothing to say)."""
    values = {"session_id": session_id, "user_id": user_id, "number": number, "year": year}
    return [sa.literal_column(f"'{kind}'").label("kind")] + [
        (sa.cast(sa.null(), sa.Integer) if value is None else value).label(name)
        for name, value in values.items()
    ]


@cache
def _facts_statement() -> sa.Select:
    """Built once per process (building it cost more than running it), with the group, its
    time zone, the time and the number of past sessions as parameters."""
    group_id, now = sa.bindparam("group_id"), sa.bindparam("now")
    past = (
        sa.select(
            StudySession.id,
            sa.func.row_number()
            .over(order_by=(StudySession.starts_at.desc(), StudySession.id.desc()))
            .label("n"),
        )
        .where(StudySession.group_id == group_id, StudySession.ends_at < now)
        .subquery()
    )
    years = (
        sa.select(
            local_year(StudySession.starts_at, sa.bindparam("zone", type_=sa.String)).label("year")
        )
        .where(StudySession.group_id == group_id, StudySession.ends_at < now)
        .subquery()
    )
    active = sa.and_(Membership.group_id == group_id, Membership.status == MembershipStatus.ACTIVE)
    # One branch per kind of row; each names a session, a user, or a number (and a year).
    rows = sa.union_all(
        sa.select(*_row("past", session_id=past.c.id, number=past.c.n)).where(
            past.c.n <= sa.bindparam("past_limit", type_=sa.Integer)
        ),
        sa.select(*_row("year", number=sa.func.count(), year=years.c.year)).group_by(years.c.year),
        sa.select(*_row("organizer", user_id=Membership.user_id)).where(
            active, Membership.role == MemberRole.ORGANIZER
        ),
        sa.select(*_row("members", number=sa.func.count())).where(active),
    ).subquery()
    return (
        sa.select(rows.c.kind, rows.c.number, rows.c.year, StudySession, User)
        .select_from(rows)
        .outerjoin(StudySession, StudySession.id == rows.c.session_id)
        .outerjoin(User, User.id == rows.c.user_id)
    )


def group_facts(db_session: Session, *, group: Group, now: datetime, past_limit: int) -> GroupFacts:
    """The group's `past_limit` latest past sessions (as `past_sessions`), its past years (as
    `past_years`), its active organizers (as `organizers_of`) and its active member count
    (as `active_member_count`), in one statement."""
    parameters = {
        "group_id": group.id,
        "zone": group.timezone,
        "now": now,
        "past_limit": past_limit,
    }
    facts = GroupFacts()
    past_at: dict[int, int] = {}
    for row_kind, n, row_year, session, user in db_session.execute(_facts_statement(), parameters):
        if row_kind == "past":
            facts.past.append(session)
            past_at[session.id] = n
        elif row_kind == "year":
            facts.past_years.append((row_year, n))
        elif row_kind == "organizer":
            facts.organizers.append(user)
        else:
            facts.member_count = n
    facts.past.sort(key=lambda s: past_at[s.id])
    facts.past_years.sort(reverse=True)
    facts.organizers.sort(key=name_order)
    return facts
