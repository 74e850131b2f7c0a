"""Test data made through the app's own services, so tests and benchmarks start from states
the app makes: `Factories(db.session).user()`, `.group(...)`, `.member(...)`, `.session(...)`."""

import itertools
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.auth.services import HashCost, register_user
from studygroup.groups.models import (
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    Visibility,
)
from studygroup.groups.services import create_group, join_group, set_member_role
from studygroup.sessions.models import RoleSlot
from studygroup.sessions.services import create_session, to_utc
from studygroup.signups.models import Assignment, AssignmentStatus

PASSWORD = "correct horse battery"
CHEAP = HashCost(time_cost=1, memory_cost=8, parallelism=1)
_numbers = itertools.count(1)


class Factories:
    def __init__(self, db_session):
        self.db = db_session

    def user(self, email=None, *, display_name=None, password=PASSWORD, locale=None):
        n = next(_numbers)
        user = register_user(
            self.db,
            email=email or f"user{n}@example.com",
            password=password,
            display_name=display_name or f"Member {n}",
            locale=locale,
            cost=CHEAP,
        )
        self.db.commit()
        return user

    def group(
        self,
        organizer=None,
        *,
        slug=None,
        name=None,
        timezone="Asia/Tokyo",
        join_policy=JoinPolicy.OPEN,
        visibility=Visibility.PUBLIC,
    ):
        n = next(_numbers)
        group = create_group(
            self.db,
            creator=organizer or self.user(),
            name=name or f"Study group {n}",
            slug=slug or f"group-{n}",
            timezone=timezone,
            join_policy=join_policy,
            visibility=visibility,
            default_venue="Community hall",
            now=datetime.now(UTC),
        )
        self.db.commit()
        return group

    def member(self, group, user=None, *, role=MemberRole.MEMBER):
        """`user` (a new one by default) joins `group` as the join page joins them, through the
        group's invitation link so that an approval or invitation-only group takes them at
        once; an organizer is then promoted as the members page does."""
        user = user or self.user()
        now = datetime.now(UTC)
        membership = join_group(
            self.db, user=user, group=group, now=now, invite_token=group.invite_token
        )
        if role != MemberRole.MEMBER:
            set_member_role(self.db, membership, MemberRole(role))
        self.db.commit()
        return user

    def session(self, group, *, day=None, start=time(10), end=time(12), title="Monthly meetup"):
        day = day or (date.today() + timedelta(days=30))
        session = create_session(
            self.db,
            group=group,
            title=title,
            starts_at=to_utc(day, start, group.timezone),
            ends_at=to_utc(day, end, group.timezone),
            venue="Community hall",
            now=datetime.now(UTC),
        )
        self.db.commit()
        return session


def due_reminders_for(make: Factories, count: int) -> list[User]:
    """`count` members, each with a confirmed place in a session 12 hours from now, taken
    days ago: each has its 24-hour reminder due. Rows in bulk (services would take minutes)."""
    db_session = make.db
    group = make.group()
    session = make.session(group, day=date.today() + timedelta(days=3))
    session.starts_at = datetime.now(UTC) + timedelta(hours=12)
    session.ends_at = session.starts_at + timedelta(hours=2)
    slot = db_session.scalar(sa.select(RoleSlot).where(RoleSlot.session_id == session.id))
    slot.headcount = count
    long_ago = datetime.now(UTC) - timedelta(days=5)
    users = [
        User(
            email=f"due{n}@example.com",
            password_hash="not-a-hash",
            display_name=f"Due {n}",
            locale="en",
        )
        for n in range(count)
    ]
    db_session.add_all(users)
    db_session.flush()
    db_session.add_all(
        Membership(
            user_id=u.id,
            group_id=group.id,
            role=MemberRole.MEMBER,
            status=MembershipStatus.ACTIVE,
            joined_at=long_ago,
        )
        for u in users
    )
    db_session.add_all(
        Assignment(
            slot_id=slot.id,
            user_id=u.id,
            status=AssignmentStatus.CONFIRMED,
            created_at=long_ago,
            confirmed_at=long_ago,
        )
        for u in users
    )
    db_session.commit()
    return users
