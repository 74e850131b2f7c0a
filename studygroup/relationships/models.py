from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from studygroup.db import UTCDateTime, utcnow
from studygroup.extensions import db


class CardSent(db.Model):
    """ "Card sent" on a member's yearly list: their own checklist, not history, so unmarking
    deletes the row. One per member, person and year."""

    __tablename__ = "card_sent"
    __table_args__ = (
        sa.UniqueConstraint(
            "member_id", "person_id", "year", name="uq_card_sent_member_person_year"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    year: Mapped[int]
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
