from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from studygroup.auth.models import User
from studygroup.db import UTCDateTime, utcnow
from studygroup.extensions import db
from studygroup.sessions.models import StudySession


class ThanksNote(db.Model):
    """A thank-you note from one member to another who worked the same session.

    One per sender, recipient and session (a unique constraint, so two tabs never send two).
    Never deleted: an organizer's removal hides it from the recipient and keeps who removed it
    and when (`removed_by_id`, `removed_at`). The recipient may report it to the organizers of
    the session's group (`reported_at`); only reported notes are shown to organizers.
    """

    __tablename__ = "thanks_note"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "sender_id", "recipient_id", name="uq_thanks_note_once"),
        # The recipient's and the sender's pages, newest first; the daily limit.
        sa.Index("ix_thanks_note_recipient_created", "recipient_id", "created_at"),
        sa.Index("ix_thanks_note_sender_created", "sender_id", "created_at"),
        sa.CheckConstraint("sender_id <> recipient_id", name="not_to_oneself"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("study_session.id"))
    sender_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    session: Mapped[StudySession] = relationship(lazy="raise_on_sql")
    sender: Mapped[User] = relationship(foreign_keys=[sender_id], lazy="raise_on_sql")
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id], lazy="raise_on_sql")
    removed_by: Mapped[User | None] = relationship(
        foreign_keys=[removed_by_id], lazy="raise_on_sql"
    )

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None
