import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from studygroup.extensions import db


class DataRevision(db.Model):
    """One row: raised by one with every transaction that wrote (studygroup.pagecache.revision)."""

    __tablename__ = "data_revision"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    number: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


def revision_number() -> sa.ScalarSelect:
    """The revision, as a column to add to the request's first statement."""
    return sa.select(DataRevision.number).where(DataRevision.id == 1).scalar_subquery()
