import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from studygroup.db import UTCDateTime, string_enum, utcnow
from studygroup.extensions import db
from studygroup.groups.models import Group


class WebhookFormat(enum.StrEnum):
    JSON = "json"  # our own payload, signed
    SLACK = "slack"  # {"text": ...} for a Slack incoming webhook
    DISCORD = "discord"  # {"content": ...} for a Discord webhook


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"  # waits for `next_attempt_at`
    DELIVERING = "delivering"  # claimed by one sender under a lease
    DELIVERED = "delivered"  # a 2xx came back: never sent again
    FAILED = "failed"  # gave up after MAX_ATTEMPTS


# The events an organizer can choose, in the order the form shows them. A series posted is
# `session.posted` too (one event for the whole series).
EVENTS = ("session.posted", "session.moved", "session.cancelled", "role.gaps", "place.freed")


def new_secret() -> str:
    return secrets.token_hex(32)


class Webhook(db.Model):
    """A group's receiver of events: a URL, the events it wants and the format it reads.

    Archived, never deleted: its deliveries and attempts stay for the history. Paused (by an
    organizer, or after failing for WEBHOOK_PAUSE_AFTER_DAYS) it gets no new events and its
    queued deliveries wait until it is resumed.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("group.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    format: Mapped[WebhookFormat] = mapped_column(
        string_enum(WebhookFormat, "webhook_format"), default=WebhookFormat.JSON
    )
    # The language of Slack and Discord text (JSON payloads are language-free).
    language: Mapped[str] = mapped_column(sa.String(8), default="ja")
    secret: Mapped[str] = mapped_column(sa.String(64), default=new_secret)
    # "A role still has gaps" is sent this many days before the session.
    gap_days_before: Mapped[int] = mapped_column(default=7)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Since the first failure after the last success (None: the last attempt succeeded).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Paused for failing (True) or by an organizer (False): the page says which.
    paused_for_failing: Mapped[bool] = mapped_column(default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[Group] = relationship()

    @property
    def is_live(self) -> bool:
        """Gets events now: neither paused nor archived."""
        return self.paused_at is None and self.archived_at is None

    def wants(self, event: str) -> bool:
        return self.is_live and event in (self.events or [])


class WebhookDelivery(db.Model):
    """One event for one webhook: the outbox row, written in the change's transaction.

    `event_key` is unique per webhook, so an event is queued once however often it is
    noticed (the gaps job runs every few minutes). `payload` is the exact body sent, so every
    retry sends the same bytes. A sender claims the row under a lease (`lease_owner` until
    `lease_until`); "delivered" is written only by the lease's owner and never undone.
    """

    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_key"),
        sa.Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook.id"))
    event: Mapped[str] = mapped_column(sa.String(32))
    event_key: Mapped[str] = mapped_column(sa.String(120))
    payload: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        string_enum(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookAttempt(db.Model):
    """One POST of a delivery, as organizers see it: when, the status code or the error."""

    __table_args__ = (sa.Index("ix_webhook_attempt_webhook", "webhook_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The webhook's id too, so its page reads its last attempts from one index.
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook.id"))
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_delivery.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str] = mapped_column(sa.String(300), default="")
    duration_ms: Mapped[int] = mapped_column(default=0)

    delivery: Mapped[WebhookDelivery] = relationship()
