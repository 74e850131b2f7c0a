"""What a group's page says about the group besides its upcoming sessions: its latest past
sessions, its past years, its organizers and how many members it has, in one statement."""

from dataclasses import dataclass, field
from datetime import datetime

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


def group_facts(db_session: Session, *, group: Group, now: datetime, past_limit: int) -> GroupFacts:
    """The group's `past_limit` latest past sessions (as `past_sessions`), its past years (as
    `past_years`), its active organizers (as `organizers_of`) and its active member count
    (as `active_member_count`).

    One statement: a UNION ALL of one branch per kind of row, each row naming a session, a
    user, or a year with its count."""
    past = (
        sa.select(
            StudySession.id,
            sa.func.row_number()
            .over(order_by=(StudySession.starts_at.desc(), StudySession.id.desc()))
            .label("n"),
        )
        .where(StudySession.group_id == group.id, StudySession.ends_at < now)
        .subquery()
    )
    years = (
        sa.select(local_year(StudySession.starts_at, group.timezone).label("year"))
        .where(StudySession.group_id == group.id, StudySession.ends_at < now)
        .subquery()
    )
    active = sa.and_(Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE)
    # Columns of every branch: kind, session id, user id, number (position or count), year.
    rows = sa.union_all(
        sa.select(*_row("past", session_id=past.c.id, number=past.c.n)).where(
            past.c.n <= past_limit
        ),
        sa.select(*_row("year", number=sa.func.count(), year=years.c.year)).group_by(years.c.year),
        sa.select(*_row("organizer", user_id=Membership.user_id)).where(
            active, Membership.role == MemberRole.ORGANIZER
        ),
        sa.select(*_row("members", number=sa.func.count())).where(active),
    ).subquery()
    kind, session_id, user_id, number, year = rows.c
    facts = GroupFacts()
    past_at: dict[int, int] = {}
    for row_kind, n, row_year, session, user in db_session.execute(
        sa.select(kind, number, year, StudySession, User)
        .select_from(rows)
        .outerjoin(StudySession, StudySession.id == session_id)
        .outerjoin(User, User.id == user_id)
    ):
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
