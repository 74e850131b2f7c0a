"""A group's role types (setup, reception, speaker and the organizers' own): the built-in
defaults every new group starts with, listing, adding, changing, retiring and restoring.
Functions flush; the caller commits. A role type is never deleted, only retired."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.groups.models import Anchor, FillMode, Group, RoleType


@dataclass(frozen=True)
class RoleDefault:
    key: str
    headcount: int
    start_anchor: Anchor
    start_offset: int
    end_anchor: Anchor
    end_offset: int
    requires_approval: bool = False


# Every new group starts with these three; organizers add their own (streaming, cleanup...).
BUILT_IN_ROLES = (
    RoleDefault("setup", 3, Anchor.START, -60, Anchor.START, 0),
    RoleDefault("reception", 2, Anchor.START, -30, Anchor.START, 30),
    RoleDefault("speaker", 1, Anchor.START, 0, Anchor.END, 0, requires_approval=True),
)


def role_types_of(
    db_session: Session, group: Group, *, include_retired: bool = False
) -> list[RoleType]:
    query = sa.select(RoleType).where(RoleType.group_id == group.id)
    if not include_retired:
        query = query.where(RoleType.retired_at.is_(None))
    return list(db_session.scalars(query.order_by(RoleType.position, RoleType.id)))


def add_role_type(
    db_session: Session,
    *,
    group: Group,
    name: str,
    default_headcount: int,
    start_anchor: Anchor,
    start_offset_minutes: int,
    end_anchor: Anchor,
    end_offset_minutes: int,
    requires_approval: bool,
    now: datetime,
    description: str = "",
    fill_mode: FillMode | None = None,
) -> RoleType:
    position = db_session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(RoleType.position), -1) + 1).where(
            RoleType.group_id == group.id
        )
    )
    role_type = RoleType(
        group_id=group.id,
        key=None,
        name=name.strip(),
        description=description,
        default_headcount=default_headcount,
        start_anchor=start_anchor,
        start_offset_minutes=start_offset_minutes,
        end_anchor=end_anchor,
        end_offset_minutes=end_offset_minutes,
        requires_approval=requires_approval,
        fill_mode=fill_mode,
        position=position,
        created_at=now,
    )
    db_session.add(role_type)
    db_session.flush()
    return role_type


# What an organizer chooses for a role: add_role_type's keywords, and the role form's fields
# (the edit page copies them with populate_obj). Sessions posted afterwards use them; existing
# slots keep theirs. An empty name on a built-in role shows its name in each reader's language.
ROLE_SETTINGS = (
    "name",
    "description",
    "default_headcount",
    "start_anchor",
    "start_offset_minutes",
    "end_anchor",
    "end_offset_minutes",
    "requires_approval",
    "fill_mode",
)


def retire_role_type(role_type: RoleType, *, now: datetime) -> None:
    """No new sessions get this role; past and planned slots keep it."""
    if role_type.retired_at is None:
        role_type.retired_at = now


def restore_role_type(role_type: RoleType) -> None:
    role_type.retired_at = None
