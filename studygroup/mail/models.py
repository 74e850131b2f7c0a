import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from studygroup.db import UTCDateTime, string_enum, utcnow
from studygroup.extensions import db


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # leased by one sender run; claimable again when its lease ends
    SENT = "sent"
    FAILED = "failed"  # gave up after too many attempts


class OutboundEmail(db.Model):
    """A message written in the same transaction as the change it reports.

    Sent after commit; a failed send stays pending and the next `send-reminders` run retries
    it. `dedupe_key` is unique: a reminder is claimed by inserting its row, so two overlapping
    runs can never write (or send) the same reminder twice. A sender holds the rows it is
    sending under a lease (`lease_owner` until `lease_until`) that it renews while it works;
    rows of a sender that died become claimable when their lease ends.
    """

    __table_args__ = (sa.Index("ix_outbound_email_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.String(32))
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    status: Mapped[EmailStatus] = mapped_column(
        string_enum(EmailStatus, "email_status"), default=EmailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last attempt
    lease_owner: Mapped[str | None] = mapped_column(sa.String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A participant's short code: the message gets an HTML part with its QR code as an
    # inline PNG (email clients show no SVG); drawn when sent, not stored as an image.
    qr_text: Mapped[str | None] = mapped_column(sa.String(40))
