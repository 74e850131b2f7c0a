import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from studygroup.db import UTCDateTime, string_enum, utcnow
from studygroup.extensions import db
from studygroup.groups.models import Group, RoleType


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"  # called off beforehand
    # Its time came but it did not take place (marked afterwards): like a cancelled session it
    # counts for no one's record or co-working; unlike one, it was never called off in time.
    NOT_HELD = "not_held"


class SessionSeries(db.Model):
    """The rule that made a run of sessions. Each session stays concrete and editable."""

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("group.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    # RFC 5545 RRULE, evaluated on dates in the group's zone from the first session on.
    rrule: Mapped[str] = mapped_column(sa.String(500))
    first_starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StudySession(db.Model):
    """One meeting of a group. Times are stored in UTC and shown in the group's zone."""

    __tablename__ = "study_session"
    __table_args__ = (
        sa.Index("ix_study_session_group_starts", "group_id", "starts_at"),
        # The sessions started since the tie watermark, across groups ("who knows X?" counts
        # them live for many people at once: studygroup.people).
        sa.Index("ix_study_session_starts_at", "starts_at"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("group.id"))
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("session_series.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str] = mapped_column(sa.String(200), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[SessionStatus] = mapped_column(
        string_enum(SessionStatus, "session_status"), default=SessionStatus.SCHEDULED
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when an organizer confirmed who worked (places still unknown count as worked).
    attendance_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Formed roles: when (and by whom) organizers last accepted the suggested team; a place
    # given up after that is filled from the next suggestion (studygroup.signups.forming).
    team_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    team_accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # Participants (studygroup.participants): None takes none; else how many may register
    # (more wait on the waitlist), and until how many hours before the start they may cancel.
    participant_capacity: Mapped[int | None] = mapped_column()
    participant_cancel_hours_before: Mapped[int] = mapped_column(default=0, server_default="0")
    # The start before the time last moved: shared pages say the event was rescheduled.
    previous_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised when time, place or status changes: calendar clients re-read the event then.
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Services set it on every edit; onupdate catches any change they did not name.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Raised by the database on every UPDATE. Feed versions sum it, so an edit always gives
    # a new version, whatever the app servers' clocks say about updated_at.
    revision: Mapped[int] = mapped_column(
        default=0, server_default="0", onupdate=sa.text("revision + 1")
    )

    group: Mapped[Group] = relationship()
    series: Mapped[SessionSeries | None] = relationship()
    slots: Mapped[list["RoleSlot"]] = relationship(
        back_populates="session",
        order_by="RoleSlot.position, RoleSlot.id",
        lazy="raise_on_sql",
    )

    @property
    def takes_participants(self) -> bool:
        return self.participant_capacity is not None

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED

    @property
    def is_not_held(self) -> bool:
        return self.status == SessionStatus.NOT_HELD

    @property
    def is_scheduled(self) -> bool:
        """Neither cancelled nor marked not held: it takes (or took) place."""
        return self.status == SessionStatus.SCHEDULED


class RoleSlot(db.Model):
    """One role in one session: head-count and window, copied from the role type, editable."""

    __table_args__ = (
        sa.UniqueConstraint("session_id", "role_type_id"),
        sa.CheckConstraint("headcount >= 0", name="headcount_not_negative"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("study_session.id"))
    role_type_id: Mapped[int] = mapped_column(sa.ForeignKey("role_type.id"), index=True)
    headcount: Mapped[int] = mapped_column(default=1)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    position: Mapped[int] = mapped_column(default=0)
    # Raised when this role's window changes; a place's calendar SEQUENCE adds it to the
    # session's, so moving only the window still updates members' calendars.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")

    session: Mapped[StudySession] = relationship(back_populates="slots")
    role_type: Mapped[RoleType] = relationship()
