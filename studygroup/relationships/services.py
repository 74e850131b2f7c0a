"""The yearly list (年賀状リスト): the people a member worked with in one calendar year of
their own time zone, and the "card sent" marks they keep on it.

Everything here is the member's own: the list is `coworkers_of(member, viewer=member)` for
the year, so each person's name follows the co-worker page's rule (someone who chose not to
appear by name is "a member", except to an organizer of every group they worked together
in), and a person shown as "a member" can be neither marked nor told apart from another.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from studygroup.auth.models import User
from studygroup.coworking.filters import history_years
from studygroup.coworking.services import Coworker, Order, coworkers_of
from studygroup.coworking.visibility import organized_by
from studygroup.db import insert_ignoring
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.relationships.models import CardSent
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import LIVE_STATUSES, Assignment, AssignmentStatus


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


# Reconnect: people the member worked with often who have not worked with them lately.
RECONNECT_SESSIONS = 3  # "often": at least this many sessions together
RECONNECT_MONTHS = 6  # "lately": the last session together is more than this long ago
RECONNECT_SHOWN = 8
RECONNECT_SESSIONS_EACH = 3  # next sessions shown per person


@dataclass
class NextSession:
    session_id: int
    title: str
    starts_at: datetime
    group_slug: str
    group_name: str
    group_timezone: str


@dataclass
class Reconnect:
    person: Coworker
    sessions: list[NextSession]


@dataclass
class Reconnects:
    people: list[Reconnect]
    more: int  # further people past the first RECONNECT_SHOWN


def months_before(now: datetime, tz: str, months: int) -> datetime:
    """The same wall-clock time `months` calendar months earlier on the `tz` clock (the 31st
    falls back to the month's last day), in UTC."""
    local = now.astimezone(ZoneInfo(tz))
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    days = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    earlier = local.replace(year=year, month=month, day=min(local.day, days), tzinfo=None)
    return earlier.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def reconnect_suggestions(
    db_session: Session,
    member: User,
    *,
    now: datetime,
    coworkers: list[Coworker] | None = None,
) -> Reconnects:
    """People `member` co-worked with in at least RECONNECT_SESSIONS sessions whose last
    session together is more than RECONNECT_MONTHS months ago (the member's clock), strongest
    first (sessions, then side by side), the first RECONNECT_SHOWN of them; for each, the next
    scheduled sessions where they hold a confirmed place, in groups the member is an active
    member of and has no place in yet.

    Only people the member's own page names: someone shown as "a member" is not listed. A
    person who chose not to appear by name (named to the member as an organizer) is suggested
    only sessions of groups the member organizes, where the session page names them too.
    `coworkers`: the member's unfiltered `coworkers_of(member, viewer=member)`, when the caller
    has it. One query for everyone's sessions (none when nobody is due), plus `coworkers_of`'s.
    """
    if coworkers is None:
        coworkers = coworkers_of(db_session, member, viewer=member, now=now)
    cutoff = months_before(now, member.timezone, RECONNECT_MONTHS)
    due = [
        c for c in coworkers if c.visible and c.sessions >= RECONNECT_SESSIONS and c.last < cutoff
    ]
    due.sort(key=lambda c: (-c.sessions, -c.side_by_side, -c.last.timestamp(), c.sort_key))
    shown = due[:RECONNECT_SHOWN]
    upcoming = _their_next_sessions(db_session, member, [c.user_id for c in shown], now=now)
    return Reconnects(
        [Reconnect(c, upcoming.get(c.user_id, [])) for c in shown], len(due) - len(shown)
    )


def _their_next_sessions(
    db_session: Session, member: User, people: list[int], *, now: datetime
) -> dict[int, list[NextSession]]:
    if not people:
        return {}

    mine = sa.select(Membership.group_id).where(
        Membership.user_id == member.id, Membership.status == MembershipStatus.ACTIVE
    )
    my_slot = aliased(RoleSlot)
    my_place = aliased(Assignment)
    already = (
        sa.select(my_place.id)
        .join(my_slot, my_slot.id == my_place.slot_id)
        .where(
            my_slot.session_id == StudySession.id,
            my_place.user_id == member.id,
            my_place.status.in_(LIVE_STATUSES),
        )
        .exists()
    )
    rows = db_session.execute(
        sa.select(
            Assignment.user_id,
            StudySession.id,
            StudySession.title,
            StudySession.starts_at,
            Group.slug,
            Group.name,
            Group.timezone,
        )
        .distinct()
        .select_from(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .join(Group, Group.id == StudySession.group_id)
        .join(User, User.id == Assignment.user_id)
        .where(
            Assignment.user_id.in_(people),
            Assignment.status == AssignmentStatus.CONFIRMED,
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at > now,
            StudySession.group_id.in_(mine),
            # Someone hidden by choice shows by name only on pages of groups the member organizes.
            sa.or_(User.appear_by_name, StudySession.group_id.in_(organized_by(member))),
            ~already,
        )
        .order_by(StudySession.starts_at, StudySession.id)
    ).all()
    found: dict[int, list[NextSession]] = {}
    for user_id, *session in rows:
        each = found.setdefault(user_id, [])
        if len(each) < RECONNECT_SESSIONS_EACH:
            each.append(NextSession(*session))
    return found
