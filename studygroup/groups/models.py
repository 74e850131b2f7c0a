import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from studygroup.config import DEFAULT_TIMEZONE
from studygroup.db import UTCDateTime, string_enum, utcnow
from studygroup.extensions import db
from studygroup.input import is_ascii_number


class JoinPolicy(enum.StrEnum):
    OPEN = "open"
    APPROVAL = "approval"
    INVITE = "invite"


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"


class MemberRole(enum.StrEnum):
    MEMBER = "member"
    ORGANIZER = "organizer"


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"  # asked to join a group with organizer approval
    ACTIVE = "active"
    LEFT = "left"
    REMOVED = "removed"
    DECLINED = "declined"


class FillMode(enum.StrEnum):
    """How a role's places are filled: members take them (first come), or members say they
    can help and the organizers form the team from a suggestion (studygroup.signups.teams)."""

    FIRST_COME = "first_come"
    FORMED = "formed"


class Anchor(enum.StrEnum):
    START = "start"
    END = "end"


def new_invite_token() -> str:
    return secrets.token_urlsafe(24)


class Group(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default=DEFAULT_TIMEZONE)
    default_venue: Mapped[str] = mapped_column(sa.String(200), default="")
    join_policy: Mapped[JoinPolicy] = mapped_column(
        string_enum(JoinPolicy, "join_policy"), default=JoinPolicy.OPEN
    )
    visibility: Mapped[Visibility] = mapped_column(
        string_enum(Visibility, "visibility"), default=Visibility.PUBLIC
    )
    # Sign-up rules for members (organizers are not bound by them).
    signup_opens_days_before: Mapped[int] = mapped_column(default=60, server_default="60")
    signup_closes_hours_before: Mapped[int] = mapped_column(default=0, server_default="0")
    self_cancel_hours_before: Mapped[int] = mapped_column(default=24, server_default="24")
    # After this many no-shows a member's sign-ups wait for approval; None: no limit.
    no_show_limit: Mapped[int | None] = mapped_column()
    # How places are filled, unless a role says otherwise (RoleType.fill_mode).
    fill_mode: Mapped[FillMode] = mapped_column(
        string_enum(FillMode, "fill_mode"), default=FillMode.FIRST_COME, server_default="first_come"
    )
    # Formed roles: the organizers get the suggested team this many days before the session.
    team_days_before: Mapped[int] = mapped_column(default=10, server_default="10")
    # Participants: False, only members may register for sessions; True, anyone with an
    # account (the group's join policy still governs membership).
    participants_open_to_all: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Reminder lead times in hours before the start, comma-separated ("144,24": 6 days, 1 day).
    reminder_lead_hours: Mapped[str] = mapped_column(
        sa.String(64), default="144,24", server_default="144,24"
    )
    # Shown to organizers so they can share it again; rotating it revokes the old link.
    invite_token: Mapped[str] = mapped_column(sa.String(64), default=new_invite_token)
    # Part of every member's link to a members-only group's feed; a new one retires them all.
    calendar_token_salt: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Raised by the database on every UPDATE. Feed versions sum it, so an edit always gives
    # a new version, whatever the app servers' clocks say about updated_at.
    revision: Mapped[int] = mapped_column(
        default=0, server_default="0", onupdate=sa.text("revision + 1")
    )

    role_types: Mapped[list["RoleType"]] = relationship(
        back_populates="group", order_by="RoleType.position, RoleType.id", lazy="raise_on_sql"
    )

    @property
    def reminder_leads(self) -> list[int]:
        """Reminder lead times in hours, e.g. [144, 24]."""
        return [int(h) for h in self.reminder_lead_hours.split(",") if is_ascii_number(h.strip())]

    def __repr__(self) -> str:
        return f"<Group {self.slug}>"


class Membership(db.Model):
    """A user's place in a group. One row per (user, group), kept when they leave."""

    __table_args__ = (sa.UniqueConstraint("user_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("group.id"), index=True)
    role: Mapped[MemberRole] = mapped_column(string_enum(MemberRole, "member_role"))
    status: Mapped[MembershipStatus] = mapped_column(
        string_enum(MembershipStatus, "membership_status")
    )
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped["User"] = relationship(back_populates="memberships")  # noqa: F821
    group: Mapped[Group] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status == MembershipStatus.ACTIVE

    @property
    def is_organizer(self) -> bool:
        return self.is_active and self.role == MemberRole.ORGANIZER


class RoleType(db.Model):
    """A kind of volunteer work in a group, with defaults copied into each session's slot.

    The window is given relative to the session: each end is an offset in minutes from the
    session's start or end (setup: start-60 to start+0; cleanup: end+0 to end+30).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("group.id"), index=True)
    # Built-in roles have a key and are shown in the reader's language until renamed.
    key: Mapped[str | None] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(80), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    default_headcount: Mapped[int] = mapped_column(default=1)
    start_anchor: Mapped[Anchor] = mapped_column(
        string_enum(Anchor, "start_anchor"), default=Anchor.START
    )
    start_offset_minutes: Mapped[int] = mapped_column(default=0)
    end_anchor: Mapped[Anchor] = mapped_column(
        string_enum(Anchor, "end_anchor"), default=Anchor.END
    )
    end_offset_minutes: Mapped[int] = mapped_column(default=0)
    requires_approval: Mapped[bool] = mapped_column(default=False)
    # None: as the group (Group.fill_mode); set to differ, e.g. speaker first come (by request)
    # while setup and reception are formed.
    fill_mode: Mapped[FillMode | None] = mapped_column(string_enum(FillMode, "role_fill_mode"))
    position: Mapped[int] = mapped_column(default=0)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A renamed role changes members' calendar feeds.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=sa.func.current_timestamp()
    )
    # Raised by the database on every UPDATE. Feed versions sum it, so an edit always gives
    # a new version, whatever the app servers' clocks say about updated_at.
    revision: Mapped[int] = mapped_column(
        default=0, server_default="0", onupdate=sa.text("revision + 1")
    )

    group: Mapped[Group] = relationship(back_populates="role_types")

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def is_formed(self) -> bool:
        """Organizers form this role's team from members' availability; members do not
        sign up for it. A role that needs approval stays by request (a talk is offered, not
        assigned). Needs `group` loaded (or loadable)."""
        if self.requires_approval:
            return False
        return (self.fill_mode or self.group.fill_mode) == FillMode.FORMED
