import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from studygroup.auth.models import User
from studygroup.db import UTCDateTime, string_enum, utcnow
from studygroup.extensions import db
from studygroup.groups.models import Group
from studygroup.sessions.models import StudySession


class Audience(enum.StrEnum):
    PARTICIPANTS = "participants"  # the session's registered participants
    STAFF = "staff"  # the session's confirmed places
    SESSION = "session"  # both of the above
    GROUP = "group"  # every active member of the group (no session needed)


class Announcement(db.Model):
    """What organizers wrote to a session's people or the whole group. Written in Japanese,
    English or both: each recipient gets their language's version, else the other one.
    Kept: the session page shows it to those it was sent to (AnnouncementRecipient)."""

    __table_args__ = (sa.Index("ix_announcement_group_created", "group_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("group.id"))
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("study_session.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    audience: Mapped[Audience] = mapped_column(string_enum(Audience, "audience"))
    subject_ja: Mapped[str] = mapped_column(sa.String(200), default="")
    body_ja: Mapped[str] = mapped_column(sa.Text, default="")
    subject_en: Mapped[str] = mapped_column(sa.String(200), default="")
    body_en: Mapped[str] = mapped_column(sa.Text, default="")
    recipient_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[Group] = relationship(lazy="raise_on_sql")
    session: Mapped[StudySession | None] = relationship(lazy="raise_on_sql")
    author: Mapped[User] = relationship(lazy="raise_on_sql")


class AnnouncementRecipient(db.Model):
    """Who an announcement was sent to (whether or not their email choices let the email
    through): they, and organizers, see its copy on the session page."""

    announcement_id: Mapped[int] = mapped_column(sa.ForeignKey("announcement.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), primary_key=True, index=True)
