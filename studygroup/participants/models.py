import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from studygroup.auth.models import User
from studygroup.db import UTCDateTime, string_enum, utcnow
from studygroup.extensions import db
from studygroup.sessions.models import StudySession


class ParticipantStatus(enum.StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


LIVE_PARTICIPANT_STATUSES = (ParticipantStatus.REGISTERED, ParticipantStatus.WAITLISTED)

_LIVE_SQL = "status IN ('registered', 'waitlisted')"

# Read aloud at reception and typed on a phone: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G.
CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
CODE_LENGTH = 6


def new_participant_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class Participant(db.Model):
    """A member's registration to come to a session (not a staff place). Never deleted:
    cancelling sets the status. Participants are not co-workers: nothing here counts in
    co-working history.

    At most one live registration (registered or waitlisted) per session and member, by a
    partial unique index. `code` is the short code on the confirmation (and in its QR code),
    unique within the session, that reception types or scans.
    """

    __table_args__ = (
        sa.Index(
            "uq_participant_live",
            "session_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text(_LIVE_SQL),
            postgresql_where=sa.text(_LIVE_SQL),
        ),
        sa.UniqueConstraint("session_id", "code", name="uq_participant_code"),
        sa.Index("ix_participant_session_status", "session_id", "status"),
        sa.Index("ix_participant_user", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("study_session.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    status: Mapped[ParticipantStatus] = mapped_column(
        string_enum(ParticipantStatus, "participant_status")
    )
    # Order on the waitlist (lower first); kept after promotion for the record.
    waitlist_position: Mapped[int | None] = mapped_column()
    code: Mapped[str] = mapped_column(sa.String(12), default=new_participant_code)
    # Registered at reception on the day (by `added_by`), not beforehand.
    walk_in: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once, by the first check-in; a second one (retry, another receptionist) changes
    # nothing.
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    session: Mapped[StudySession] = relationship(lazy="raise_on_sql")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise_on_sql")
    answers: Mapped[list["ParticipantAnswer"]] = relationship(
        back_populates="participant", lazy="raise_on_sql"
    )

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_PARTICIPANT_STATUSES

    @property
    def is_checked_in(self) -> bool:
        return self.checked_in_at is not None


class QuestionKind(enum.StrEnum):
    TEXT = "text"  # a line of text ("your company")
    YES_NO = "yes_no"  # 懇親会に参加しますか?


class ParticipantQuestion(db.Model):
    """A question the organizers ask participants of one session when they register.
    Retired rather than deleted once asked, so the answers given keep their question."""

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("study_session.id"), index=True)
    text: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[QuestionKind] = mapped_column(
        string_enum(QuestionKind, "question_kind"), default=QuestionKind.TEXT
    )
    required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    position: Mapped[int] = mapped_column(default=0)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ParticipantAnswer(db.Model):
    """One participant's answer to one question ("yes"/"no" for a yes-no question)."""

    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participant.id"), primary_key=True)
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("participant_question.id"), primary_key=True
    )
    answer: Mapped[str] = mapped_column(sa.Text, default="")

    participant: Mapped[Participant] = relationship(back_populates="answers")
    question: Mapped[ParticipantQuestion] = relationship(lazy="joined")
