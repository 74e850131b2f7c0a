"""Co-working ties as data: one row per member, co-worker and group (`Tie`), with the roles
both held (`TieRole`), for every session that started before the watermark (`TieWatermark`).

Both directions are stored ((a, b) and (b, a)): a member's ties, and the ties of their
co-workers ("co-workers of my co-workers"), are then each one range of the primary key,
with no UNION of the two halves of an ordered pair; the price is twice the rows of a table
that is cheap to write.

These tables hold derived data, kept by `studygroup.coworking.ties` and rebuilt from scratch by
`flask rebuild-ties`. They have no foreign keys on purpose: a recount runs last in a
transaction, under its own locks, and a foreign key check would take a share lock on the
user or group row that the same transaction's other statements may hold in another order.
"""

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from studygroup.db import UTCDateTime
from studygroup.extensions import db


class Tie(db.Model):
    """`user_id` co-worked with `other_id` in `group_id`: sessions together (that counted as
    worked for both), of those side by side, the first and last session's start."""

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    other_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    group_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sessions: Mapped[int]
    side_by_side: Mapped[int]
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TieRole(db.Model):
    """Of a tie's sessions, how many both held role `role_type_id` (a role type belongs to
    one group; `group_id` is kept so that a group's recount finds its rows)."""

    __tablename__ = "tie_role"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    other_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    role_type_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    group_id: Mapped[int]
    sessions: Mapped[int]


class TieWatermark(db.Model):
    """One row: the tables hold exactly the sessions that started at or before `upto`.
    No row: they hold nothing yet (readers count everything live)."""

    __tablename__ = "tie_watermark"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    upto: Mapped[datetime] = mapped_column(UTCDateTime)
