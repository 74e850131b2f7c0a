"""Test data made through the app's own services, so tests start from states the app makes."""

import itertools
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import object_session

from studygroup.auth.services import HashCost, register_user
from studygroup.groups.models import (
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    Visibility,
)
from studygroup.groups.services import create_group
from studygroup.sessions.models import RoleSlot
from studygroup.sessions.services import create_session, to_utc

PASSWORD = "correct horse battery"
CHEAP = HashCost(time_cost=1, memory_cost=8, parallelism=1)
_numbers = itertools.count(1)


def slots_of(study_session) -> dict[str, RoleSlot]:
    """A session's role slots by role key ("setup", "reception", "speaker"; a custom role by
    its name), in the session page's order. Read from the database, so it sees what requests
    committed since the session was loaded."""
    found = object_session(study_session).scalars(
        sa.select(RoleSlot)
        .where(RoleSlot.session_id == study_session.id)
        .order_by(RoleSlot.position, RoleSlot.id)
    )
    return {slot.role_type.key or slot.role_type.name: slot for slot in found}


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
        user = user or self.user()
        self.db.add(
            Membership(
                user_id=user.id,
                group_id=group.id,
                role=role,
                status=MembershipStatus.ACTIVE,
                joined_at=datetime.now(UTC),
            )
        )
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
