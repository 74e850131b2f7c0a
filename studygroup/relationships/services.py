"""The yearly list (年賀状リスト): the people a member worked with in one calendar year of
their own time zone, and the "card sent" marks they keep on it.

Everything here is the member's own: the list is `coworkers_of(member, viewer=member)` for
the year, so each person's name follows the co-worker page's rule (someone who chose not to
appear by name is "a member", except to an organizer of every group they worked together
in), and a person shown as "a member" can be neither marked nor told apart from another.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.coworking.services import Coworker, Order, coworkers_of, history_years
from studygroup.db import insert_ignoring
from studygroup.relationships.models import CardSent


class ListOrder(StrEnum):
    NAME = "name"  # by reading, as every member list
    MOST = "most"  # most sessions together first


@dataclass
class ListEntry:
    person: Coworker
    sent: bool  # always False for someone shown as "a member"


@dataclass
class YearlyList:
    year: int
    entries: list[ListEntry]

    @property
    def named(self) -> list[ListEntry]:
        """The rows a card can go to: people shown by name."""
        return [e for e in self.entries if e.person.visible]

    @property
    def sent(self) -> int:
        return sum(e.sent for e in self.entries)


def year_bounds(year: int, tz: str) -> tuple[datetime, datetime]:
    """1 January 00:00 to the next 1 January 00:00 on the member's clock, in UTC."""
    zone = ZoneInfo(tz)
    since = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    until = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    return since, until


def list_years(db_session: Session, member: User, *, now: datetime) -> range:
    """The years a list can be asked for, latest first: the co-worker page's years."""
    return history_years(db_session, member, viewer=member, now=now)


def default_year(db_session: Session, member: User, *, now: datetime) -> int:
    """The year whose New Year cards are due next, on the member's clock: in December the
    year that is ending (年賀状 are written then), from January the year just ended. When
    nobody is on that year's list and somebody is on the other one, the other. One or two
    queries."""
    local = now.astimezone(ZoneInfo(member.timezone))
    due, other = (local.year, local.year - 1) if local.month == 12 else (local.year - 1, local.year)
    if _anyone(db_session, member, due, now=now):
        return due
    return other if _anyone(db_session, member, other, now=now) else due


def _anyone(db_session: Session, member: User, year: int, *, now: datetime) -> bool:
    since, until = year_bounds(year, member.timezone)
    return bool(coworkers_of(db_session, member, viewer=member, now=now, since=since, until=until))


def yearly_list(
    db_session: Session,
    member: User,
    *,
    year: int,
    now: datetime,
    order: ListOrder = ListOrder.NAME,
) -> YearlyList:
    """Everyone `member` co-worked with in `year` (their time zone's calendar year), with
    sessions together that year, the roles both held, the last date together, and whether
    the member marked their card sent. People shown as "a member" come last, unmarked.
    Three queries whatever the number of people."""
    since, until = year_bounds(year, member.timezone)
    people = coworkers_of(
        db_session,
        member,
        viewer=member,
        now=now,
        since=since,
        until=until,
        order=Order.NAME if order == ListOrder.NAME else Order.MOST,
    )
    marked = _marked(db_session, member, year) if people else set()
    entries = [ListEntry(p, p.visible and p.user_id in marked) for p in people]
    # Most sessions first still lists "a member" last: they can get no card.
    entries.sort(key=lambda e: not e.person.visible)
    return YearlyList(year, entries)


def _marked(db_session: Session, member: User, year: int) -> set[int]:
    return set(
        db_session.scalars(
            sa.select(CardSent.person_id).where(
                CardSent.member_id == member.id, CardSent.year == year
            )
        )
    )


def mark_cards(
    db_session: Session,
    member: User,
    the_list: YearlyList,
    *,
    sent: set[int],
    now: datetime,
    only: int | None = None,
) -> None:
    """Make the marks on `the_list` what the member ticked: the named people in `sent` are
    marked, the other named people unmarked (their rows deleted). With `only`, just that
    person changes. Rows of people not shown by name stay as they are. Raises LookupError
    when `only` is not a named person on the list. Marking twice at once (two tabs) writes
    one row. The caller commits."""
    named = {e.person.user_id for e in the_list.named}
    if only is not None:
        if only not in named:
            raise LookupError(only)
        named = {only}
    add = named & sent
    remove = named - sent
    if add:
        insert_ignoring(
            db_session,
            CardSent,
            [
                {"member_id": member.id, "person_id": p, "year": the_list.year, "marked_at": now}
                for p in sorted(add)
            ],
            index_elements=["member_id", "person_id", "year"],
        )
    if remove:
        db_session.execute(
            sa.delete(CardSent).where(
                CardSent.member_id == member.id,
                CardSent.year == the_list.year,
                CardSent.person_id.in_(remove),
            )
        )
    for entry in the_list.named:
        if entry.person.user_id in named:
            entry.sent = entry.person.user_id in add
