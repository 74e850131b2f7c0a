import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from studygroup.auth.models import User
from studygroup.db import UTCDateTime, string_enum, utcnow
from studygroup.extensions import db
from studygroup.sessions.models import RoleSlot, StudySession


class AssignmentStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    REQUESTED = "requested"  # waits for an organizer's approval
    DECLINED = "declined"
    CANCELLED = "cancelled"


LIVE_STATUSES = (
    AssignmentStatus.CONFIRMED,
    AssignmentStatus.WAITLISTED,
    AssignmentStatus.REQUESTED,
)


class Attendance(enum.StrEnum):
    UNKNOWN = "unknown"
    WORKED = "worked"
    NO_SHOW = "no_show"


_LIVE_SQL = "status IN ('confirmed', 'waitlisted', 'requested')"


class Assignment(db.Model):
    """A member's place in a role slot. Never deleted: cancelling sets the status.

    At most one live place (confirmed, waitlisted or requested) per member and slot, enforced
    by a partial unique index, so a double click or two tabs never make two places.
    """

    __table_args__ = (
        sa.Index(
            "uq_assignment_live_place",
            "slot_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text(_LIVE_SQL),
            postgresql_where=sa.text(_LIVE_SQL),
        ),
        # Co-working self-join: a member's worked places, and everyone's places per slot.
        sa.Index("ix_assignment_user_status_slot", "user_id", "status", "slot_id"),
        sa.Index("ix_assignment_slot_status_user", "slot_id", "status", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("role_slot.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    status: Mapped[AssignmentStatus] = mapped_column(
        string_enum(AssignmentStatus, "assignment_status")
    )
    # Order on the waitlist (lower first); kept after promotion for the record.
    waitlist_position: Mapped[int | None] = mapped_column()
    attendance: Mapped[Attendance] = mapped_column(
        string_enum(Attendance, "attendance"), default=Attendance.UNKNOWN
    )
    # What an approval role asks for (a speaker's talk).
    talk_title: Mapped[str] = mapped_column(sa.String(200), default="")
    talk_abstract: Mapped[str] = mapped_column(sa.Text, default="")
    # Set when an organizer placed the member (assign, add a helper) rather than the member.
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Services set it on every change; onupdate catches any they did not name (feeds rely on it).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attendance_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Checked in at reception on the day (studygroup.checkin): counts as worked.
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    slot: Mapped[RoleSlot] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class StaffingChange(db.Model):
    """One line of a session's staffing history: who did what, when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("study_session.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignment.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # signed_up, waitlisted, requested, cancelled, promoted, approved, declined, assigned,
    # removed, moved, reordered, worked, no_show, attendance_confirmed; offers: offered,
    # offer_withdrawn, handed_over, took_offer, requested_offer
    action: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[StudySession] = relationship()
    assignment: Mapped[Assignment | None] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


_CURRENT_SQL = "ended_at IS NULL"


class Availability(db.Model):
    """A member's "I can help", never a promise and never a place.

    For one session (`session_id`), or "usually available" for a series (`series_id`), which
    applies to the series' sessions to come until the member changes it. `can_help` False on
    a session row says "not this time" against a series row. Changing or withdrawing one
    ends the row (`ended_at`) and, for a change, starts a new one: past offers stay, so the
    suggestion can see who offered help and got no place (fairness).
    """

    __table_args__ = (
        sa.CheckConstraint("(session_id IS NULL) <> (series_id IS NULL)", name="session_or_series"),
        # One current answer per member and session, and per member and series.
        sa.Index(
            "uq_availability_current_session",
            "session_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text(f"session_id IS NOT NULL AND {_CURRENT_SQL}"),
            postgresql_where=sa.text(f"session_id IS NOT NULL AND {_CURRENT_SQL}"),
        ),
        sa.Index(
            "uq_availability_current_series",
            "series_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text(f"series_id IS NOT NULL AND {_CURRENT_SQL}"),
            postgresql_where=sa.text(f"series_id IS NOT NULL AND {_CURRENT_SQL}"),
        ),
        sa.Index("ix_availability_user", "user_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("study_session.id"))
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("session_series.id"))
    can_help: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # True: any role. False: only the roles in `roles` (the member's stated preference).
    any_role: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    note: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    session: Mapped[StudySession | None] = relationship()
    roles: Mapped[list["AvailabilityRole"]] = relationship(
        back_populates="availability", lazy="selectin", order_by="AvailabilityRole.role_type_id"
    )

    @property
    def role_type_ids(self) -> frozenset[int] | None:
        """The roles the member would take, or None for any role."""
        return None if self.any_role else frozenset(r.role_type_id for r in self.roles)


class AvailabilityRole(db.Model):
    """One role a member prefers in an availability that is not for any role."""

    availability_id: Mapped[int] = mapped_column(sa.ForeignKey("availability.id"), primary_key=True)
    role_type_id: Mapped[int] = mapped_column(sa.ForeignKey("role_type.id"), primary_key=True)

    availability: Mapped[Availability] = relationship(back_populates="roles")


class OfferStatus(enum.StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    WITHDRAWN = "withdrawn"
    # The place went another way (cancelled, removed, moved) or the session was cancelled.
    CLOSED = "closed"


_OPEN_OFFER_SQL = "status = 'open'"


class PlaceOffer(db.Model):
    """A member offers their confirmed place to whoever takes it first ("can someone take my
    reception place?"). Never deleted: its status says how it ended.

    At most one open offer per place (a partial unique index, like a place's).
    """

    __table_args__ = (
        sa.Index(
            "uq_place_offer_open",
            "assignment_id",
            unique=True,
            sqlite_where=sa.text(_OPEN_OFFER_SQL),
            postgresql_where=sa.text(_OPEN_OFFER_SQL),
        ),
        sa.Index("ix_place_offer_status_assignment", "status", "assignment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The offered place (the offerer's confirmed place).
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignment.id"))
    note: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    status: Mapped[OfferStatus] = mapped_column(
        string_enum(OfferStatus, "place_offer_status"), default=OfferStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    taken_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # The taker's confirmed place once taken.
    taken_place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignment.id"))

    place: Mapped[Assignment] = relationship(foreign_keys=[assignment_id])
    taken_by: Mapped[User | None] = relationship(foreign_keys=[taken_by_id])
    taken_place: Mapped[Assignment | None] = relationship(foreign_keys=[taken_place_id])

    @property
    def is_open(self) -> bool:
        return self.status == OfferStatus.OPEN


class OfferRequest(db.Model):
    """A request (a REQUESTED place) made by taking an offer whose role needs an organizer's
    approval, or by a member over the no-show limit: approving it completes the hand-over
    while the offer is still open."""

    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("place_offer.id"), primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignment.id"), primary_key=True, unique=True
    )

    offer: Mapped[PlaceOffer] = relationship()
    place: Mapped[Assignment] = relationship()


class TeamChoiceKind(enum.StrEnum):
    PINNED = "pinned"  # kept in the suggested team for this slot
    EXCLUDED = "excluded"  # not suggested for this slot again


class TeamChoice(db.Model):
    """An organizer's swap in a session's suggested team, shared by every organizer: swapping
    X for Y in a slot writes excluded (slot, X) and pinned (slot, Y). Resetting ends them
    (`ended_at`); rows are kept as the history of the draft."""

    __tablename__ = "team_choice"
    __table_args__ = (sa.Index("ix_team_choice_session", "session_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("study_session.id"))
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("role_slot.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    kind: Mapped[TeamChoiceKind] = mapped_column(string_enum(TeamChoiceKind, "team_choice_kind"))
    chosen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
