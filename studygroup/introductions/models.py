"""An introduction of two members by a third, and a member's request for one.

Neither is ever deleted: a declined introduction stays (it keeps the pair from being
introduced again, and the one who declined sees their answer), and a request that was let
pass stays with when.
"""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from studygroup.auth.models import User
from studygroup.db import UTCDateTime, string_enum, utcnow
from studygroup.extensions import db


class Answer(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Introduction(db.Model):
    """`introducer` introduces `first` and `second` (stored in id order) with a note.

    Each of the two answers privately; nothing of one side reaches the other until both
    accepted (`completed_at`). One introduction per pair, ever (a unique constraint): a
    pair that declined is not asked again, and nobody learns that it declined.
    """

    __tablename__ = "introduction"
    __table_args__ = (
        sa.UniqueConstraint("first_id", "second_id", name="uq_introduction_pair"),
        sa.CheckConstraint("first_id < second_id", name="pair_in_order"),
        sa.CheckConstraint(
            "introducer_id <> first_id AND introducer_id <> second_id", name="not_oneself"
        ),
        # The introducer's page and daily limit; the second side's list (the first side's
        # is the unique constraint's index).
        sa.Index("ix_introduction_introducer_created", "introducer_id", "created_at"),
        sa.Index("ix_introduction_second", "second_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    introducer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    first_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    second_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_answer: Mapped[Answer | None] = mapped_column(string_enum(Answer, "first_answer"))
    first_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    second_answer: Mapped[Answer | None] = mapped_column(string_enum(Answer, "second_answer"))
    second_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Both accepted: from then on each sees the other's name, the note and email address.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    introducer: Mapped[User] = relationship(foreign_keys=[introducer_id], lazy="raise_on_sql")
    first: Mapped[User] = relationship(foreign_keys=[first_id], lazy="raise_on_sql")
    second: Mapped[User] = relationship(foreign_keys=[second_id], lazy="raise_on_sql")

    @property
    def is_accepted(self) -> bool:
        return self.completed_at is not None

    def is_side(self, user_id: int) -> bool:
        return user_id in (self.first_id, self.second_id)

    def answer_of(self, user_id: int) -> Answer | None:
        return self.first_answer if user_id == self.first_id else self.second_answer

    def other_than(self, user_id: int) -> User:
        return self.second if user_id == self.first_id else self.first


class IntroductionRequest(db.Model):
    """`requester` asks `via` to introduce them to `target`. `via` may make the introduction
    (`introduction_id`) or let the request pass (`passed_at`); the requester is never told
    which, and sees only that they asked."""

    __tablename__ = "introduction_request"
    __table_args__ = (
        sa.CheckConstraint(
            "requester_id <> via_id AND requester_id <> target_id AND via_id <> target_id",
            name="three_people",
        ),
        # The asked member's list; the requester's page and daily limit.
        sa.Index("ix_introduction_request_via_created", "via_id", "created_at"),
        sa.Index("ix_introduction_request_requester_created", "requester_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    via_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    introduction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("introduction.id"))
    passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="raise_on_sql")
    via: Mapped[User] = relationship(foreign_keys=[via_id], lazy="raise_on_sql")
    target: Mapped[User] = relationship(foreign_keys=[target_id], lazy="raise_on_sql")

    @property
    def is_open(self) -> bool:
        return self.introduction_id is None and self.passed_at is None


class UnsentIntroduction(db.Model):
    """An introduction of a pair that someone else introduced already and that has not
    completed. Nothing is sent: it is kept only so that the introducer's list shows it as
    waiting, as it would any introduction of theirs, and nobody learns from "introduced
    already" that one side declined or has not answered."""

    __tablename__ = "unsent_introduction"
    __table_args__ = (
        sa.UniqueConstraint(
            "introducer_id", "first_id", "second_id", name="uq_unsent_introduction_pair"
        ),
        sa.CheckConstraint("first_id < second_id", name="pair_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    introducer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    first_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    second_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    first: Mapped[User] = relationship(foreign_keys=[first_id], lazy="raise_on_sql")
    second: Mapped[User] = relationship(foreign_keys=[second_id], lazy="raise_on_sql")


def open_for_via() -> sa.ColumnElement[bool]:
    """SQL: a request still waits for the asked member: neither made nor let pass, and both
    its requester and its target still take introductions."""
    # Never correlated with the member the header counts for. The table's alias, not
    # aliased(User): this runs at import (User.introductions_waiting), and aliasing a mapped
    # class would configure every mapper there, in each worker's start-up.
    person = User.__table__.alias("person")
    takes = sa.select(person.c.id).where(person.c.accept_introductions.is_(True))
    return sa.and_(
        IntroductionRequest.introduction_id.is_(None),
        IntroductionRequest.passed_at.is_(None),
        IntroductionRequest.requester_id.in_(takes),
        IntroductionRequest.target_id.in_(takes),
    )


def _waiting_for(user_id_column) -> sa.ScalarSelect:
    """SQL: how many introductions wait for this member's answer, and requests for them to
    make one: the header's notice."""
    unanswered = sa.or_(
        sa.and_(Introduction.first_id == user_id_column, Introduction.first_answer.is_(None)),
        sa.and_(Introduction.second_id == user_id_column, Introduction.second_answer.is_(None)),
    )
    introductions = sa.select(sa.func.count()).where(unanswered).scalar_subquery()
    requests = (
        sa.select(sa.func.count())
        .where(IntroductionRequest.via_id == user_id_column, open_for_via())
        .scalar_subquery()
    )
    return introductions + requests


def _accepted_of(user_id_column) -> sa.ScalarSelect:
    """SQL: how many accepted introductions the member has."""
    return (
        sa.select(sa.func.count())
        .where(
            sa.or_(
                Introduction.first_id == user_id_column, Introduction.second_id == user_id_column
            ),
            Introduction.completed_at.is_not(None),
        )
        .scalar_subquery()
    )


# Loaded with the logged-in member (the "nav" group, `auth.routes.load_user`), so the header's
# notice costs no query of its own, and one's own co-worker page asks for one's accepted
# introductions only when there are any; deferred everywhere else.
User.introductions_waiting = column_property(_waiting_for(User.id), deferred=True, group="nav")
User.introductions_accepted = column_property(_accepted_of(User.id), deferred=True, group="nav")
