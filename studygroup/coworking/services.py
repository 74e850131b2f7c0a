"""Co-working history: who worked alongside whom, computed in SQL.

Definitions (also shown on the page):

* Two members **co-worked** in a session when both held a place there that counts as worked:
  marked worked by an organizer, or, for a past session whose attendance is not confirmed yet,
  signed up and not marked no-show. Waitlist places, cancelled places and cancelled sessions
  never count.
* They worked **side by side** when, in that session, they held the same role or roles whose
  time windows overlap.

Who sees what (the privacy help text's words are the rule):

* A member sees their whole history. Others see the part of it in the groups `history_groups`
  gives: an organizer of a member who chose "only me" sees only the groups they organize;
  anyone the member's choice lets in sees public groups and groups they are in themselves.
* Someone who chose not to appear by name is "a member" on others' pages, except to an
  organizer looking at their own groups' history (`visible_names`, `coworkers_of`).

`coworkers_of` answers in two queries whatever the size of the history (one aggregate per
co-worker with their names, one for the roles shared); the indexes on assignment
(user_id, status, slot_id) and (slot_id, status, user_id) and role_slot (session_id, ...)
keep each proportional to the member's own history.
"""

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from studygroup.auth.models import CoworkersVisibility, User
from studygroup.coworking.ties import pair_join, settle, tie_rows
from studygroup.groups.models import (
    Group,
    MemberRole,
    Membership,
    MembershipStatus,
    RoleType,
    Visibility,
)
from studygroup.i18n import role_label
from studygroup.names import name_order
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment
from studygroup.signups.records import counts_as_worked


class Order(StrEnum):
    MOST = "most"
    RECENT = "recent"
    NAME = "name"


@dataclass
class Coworker:
    user_id: int
    name: str | None  # None: they chose not to appear by name ("a member")
    sort_key: str  # what a list by name sorts on (User.name_sort_key): "" when name is None
    sessions: int
    side_by_side: int
    first: datetime
    last: datetime
    roles: dict[str, int] = field(default_factory=dict)  # role -> sessions both held it
    # (month, day) on the member's own page when this co-worker shares it (`_shared_birthday`).
    birthday: tuple[int, int] | None = None

    @property
    def visible(self) -> bool:
        return self.name is not None


def groups_visible_to(viewer: User | None):
    """SQL: ids of the groups whose history `viewer` may see: public groups and their own."""
    public = sa.select(Group.id).where(Group.visibility == Visibility.PUBLIC)
    if viewer is None:
        return public
    own = sa.select(Membership.group_id).where(
        Membership.user_id == viewer.id, Membership.status == MembershipStatus.ACTIVE
    )
    return public.union(own)


def organized_by(viewer: User):
    """SQL: ids of the groups `viewer` organizes."""
    return sa.select(Membership.group_id).where(
        Membership.user_id == viewer.id,
        Membership.role == MemberRole.ORGANIZER,
        Membership.status == MembershipStatus.ACTIVE,
    )


def history_groups(member: User, viewer: User | None):
    """SQL: ids of the groups whose part of `member`'s history `viewer` may see; None: all of
    it (their own). A member who chose "only me" shows an organizer the groups that organizer
    organizes, and nobody else anything; otherwise others see public groups and their own (a
    members-only group's history never leaves it). The caller checks first that the viewer may
    open the page at all (`may_view_coworkers`)."""
    if viewer is not None and viewer.id == member.id:
        return None
    if member.coworkers_visibility == CoworkersVisibility.ONLY_ME:
        if viewer is None:
            return sa.select(Group.id).where(sa.false())
        return organized_by(viewer)
    return groups_visible_to(viewer)


def _pair_join(
    member_id: int, *, now: datetime, group_id=None, since=None, until=None, groups=None, after=None
):
    """FROM my worked places JOIN the same sessions' other worked places (`pair_join`)."""
    pairs, me, they, my_slot, their_slot, side_by_side = pair_join()
    session = StudySession
    conditions = [me.user_id == member_id, session.starts_at <= now]
    if group_id is not None:
        conditions.append(session.group_id == group_id)
    if since is not None:
        conditions.append(session.starts_at >= since)
    if until is not None:
        conditions.append(session.starts_at < until)
    if groups is not None:  # what this viewer may see of the member's history
        conditions.append(session.group_id.in_(groups))
    if after is not None:  # the sessions the tie tables do not hold yet
        conditions.append(session.starts_at > after)

    def select_from(*columns):
        return pairs(*columns).where(*conditions)

    return select_from, they, my_slot, their_slot, side_by_side


def coworkers_of(
    db_session: Session,
    member: User,
    *,
    viewer: User | None,
    now: datetime,
    group_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    order: Order = Order.MOST,
) -> list[Coworker]:
    """Everyone `member` co-worked with, with sessions together, of those side by side, the
    roles both held (setup ×3), and the first and last date together.

    Only sessions of `history_groups(member, viewer)` count. Co-workers who chose not to
    appear by name come back with `name=None`, except to themselves and to an organizer when
    every session counted with them is in a group that organizer organizes. The caller checks
    first that `viewer` may see this member's page (`may_view_coworkers`).

    One query: the member's ties (`coworking.models.Tie`, up to the watermark) with the
    sessions started since then counted live. A year (`since`/`until`) is not a group's
    total, so that filter counts everything live, in two queries (`_coworkers_live`).
    """
    settle(db_session)  # this transaction's own changes first (they are recounted at commit)
    if since is not None or until is not None:
        counted = _coworkers_live(
            db_session, member, viewer=viewer, now=now, group_id=group_id, since=since, until=until
        )
    else:
        counted = _coworkers_from_ties(
            db_session, member, viewer=viewer, now=now, group_id=group_id
        )
    return _ordered(counted, order)


@dataclass(slots=True)
class _Count:
    """One co-worker's figures while they are added up."""

    display_name: str
    sort_key: str
    appear_by_name: bool
    birthday: tuple[int, int] | None = None
    sessions: int = 0
    side_by_side: int = 0
    first: datetime | None = None
    last: datetime | None = None
    outside: int = 0
    roles: dict[tuple[str, str], int] = field(default_factory=dict)
    live: set[int] = field(default_factory=set)
    live_side: set[int] = field(default_factory=set)
    live_roles: dict[tuple[str, str], set[int]] = field(default_factory=dict)


def _coworkers_from_ties(
    db_session: Session, member: User, *, viewer: User | None, now: datetime, group_id
) -> list[Coworker]:
    groups = history_groups(member, viewer)
    rows = tie_rows(users=[member.id], now=now, group_id=group_id, groups=groups, roles=True)
    return _added_up(db_session.execute(_with_people(rows, viewer)).all(), member, viewer)


def own_coworkers(
    db_session: Session,
    member: User,
    *,
    now: datetime,
    group_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    order: Order = Order.MOST,
) -> tuple[list[Coworker], list[Coworker]]:
    """The member's own page: (their co-workers as the group and year filter them, the whole
    history unfiltered, by most together), in one query. The whole history is what the
    page's reconnect and birthday panels speak of whatever the filter; a group's part is
    taken from the same rows, a year's is counted live beside them."""
    settle(db_session)
    whole = tie_rows(users=[member.id], now=now, roles=True)
    rows = sa.select(whole, sa.literal(True).label("whole"))
    if since is not None or until is not None:
        year = tie_rows(
            users=[member.id], now=now, group_id=group_id, since=since, until=until, roles=True
        )
        rows = sa.union_all(rows, sa.select(year, sa.literal(False).label("whole")))
    rows = rows.subquery()
    found = db_session.execute(_with_people(rows, member, rows.c.whole)).all()
    everything = [row[:-1] for row in found if row[-1]]
    if since is not None or until is not None:
        filtered = [row[:-1] for row in found if not row[-1]]
    elif group_id is not None:
        filtered = [row for row in everything if row[1] == group_id]
    else:
        filtered = everything
    whole_list = _ordered(_added_up(everything, member, member), Order.MOST)
    if filtered is everything:
        return _ordered(list(whole_list), order), whole_list
    return _ordered(_added_up(filtered, member, member), order), whole_list


def _with_people(rows, viewer: User | None, *extra):
    """SELECT `tie_rows` (with roles) with each co-worker's name and choices, the role's
    names, and whether the row's group is outside those `viewer` organizes."""
    outside = (
        sa.case((rows.c.group_id.in_(organized_by(viewer)), 0), else_=1)
        if viewer is not None
        else sa.literal(1)
    ).label("outside")
    return (
        sa.select(
            rows.c.other_id,
            rows.c.group_id,
            rows.c.sessions,
            rows.c.side,
            rows.c.first_at,
            rows.c.last_at,
            rows.c.role_type_id,
            rows.c.role_sessions,
            rows.c.session_id,
            rows.c.live_side,
            User.display_name,
            User.name_sort_key,
            User.appear_by_name,
            *_birthday_columns(),
            RoleType.key,
            RoleType.name,
            outside,
            *extra,
        )
        .join(User, User.id == rows.c.other_id)
        .outerjoin(RoleType, RoleType.id == rows.c.role_type_id)
    )


def _added_up(found, member: User, viewer: User | None) -> list[Coworker]:
    """Each co-worker's figures from `_with_people` rows (unordered)."""
    counts: dict[int, _Count] = {}
    seen: set[tuple[int, int]] = set()
    # Plain tuples, one pass: a heavy history has a thousand rows or more.
    for (
        other_id,
        group,
        sessions,
        side,
        first,
        last,
        role_type_id,
        role_sessions,
        session_id,
        live_side,
        display_name,
        sort_key,
        by_name,
        birthday_month,
        birthday_day,
        share_birthday,
        role_key,
        role_name,
        out,
        *_extra,
    ) in found:
        count = counts.get(other_id)
        if count is None:
            birthday = _shared_birthday(
                member, viewer, by_name, share_birthday, birthday_month, birthday_day
            )
            count = counts[other_id] = _Count(
                display_name, sort_key, by_name, birthday, first=first, last=last
            )
        count.outside |= out
        if first < count.first:
            count.first = first
        if last > count.last:
            count.last = last
        role = (role_key, role_name) if role_type_id is not None else None
        if session_id is None:  # a stored tie (repeated once per role)
            if (other_id, group) not in seen:
                seen.add((other_id, group))
                count.sessions += sessions
                count.side_by_side += side
            if role:
                count.roles[role] = count.roles.get(role, 0) + role_sessions
        else:
            count.live.add(session_id)
            if live_side is not None:
                count.live_side.add(session_id)
            if role:
                count.live_roles.setdefault(role, set()).add(session_id)

    labels: dict[tuple, str] = {}

    def label(role: tuple[str, str]) -> str:
        if role not in labels:
            labels[role] = role_label(RoleType(key=role[0], name=role[1]))
        return labels[role]

    result = []
    for user_id, count in counts.items():
        roles: dict[str, int] = {}
        for role, n in [*count.roles.items(), *((r, len(s)) for r, s in count.live_roles.items())]:
            roles[label(role)] = roles.get(label(role), 0) + n
        named = _named(user_id, count.appear_by_name, viewer) or not count.outside
        result.append(
            Coworker(
                user_id=user_id,
                name=count.display_name if named else None,
                sort_key=count.sort_key if named else "",
                sessions=count.sessions + len(count.live),
                side_by_side=count.side_by_side + len(count.live_side),
                first=count.first,
                last=count.last,
                roles=dict(sorted(roles.items(), key=lambda kv: (-kv[1], kv[0]))),
                birthday=count.birthday,
            )
        )
    return result


def _coworkers_live(
    db_session: Session,
    member: User,
    *,
    viewer: User | None,
    now: datetime,
    group_id: int | None,
    since: datetime | None,
    until: datetime | None,
) -> list[Coworker]:
    """`coworkers_of` computed from the places alone, in two queries (any filter)."""
    select_from, they, my_slot, their_slot, side_by_side = _pair_join(
        member.id,
        now=now,
        group_id=group_id,
        since=since,
        until=until,
        groups=history_groups(member, viewer),
    )
    # 1 when a session together is outside the groups the viewer organizes; 0 names them.
    outside_organized = (
        sa.func.max(sa.case((StudySession.group_id.in_(organized_by(viewer)), 0), else_=1))
        if viewer is not None
        else sa.literal(1)
    )
    # The people's names and choices come with the totals: no second trip for ~1,000 users.
    totals = db_session.execute(
        select_from(
            they.user_id,
            User.display_name,
            User.name_sort_key,
            User.appear_by_name,
            *_birthday_columns(),
            sa.func.count(sa.distinct(StudySession.id)),
            sa.func.count(sa.distinct(sa.case((side_by_side, StudySession.id)))),
            sa.func.min(StudySession.starts_at),
            sa.func.max(StudySession.starts_at),
            outside_organized,
        )
        .join(User, User.id == they.user_id)
        .group_by(
            they.user_id,
            User.display_name,
            User.name_sort_key,
            User.appear_by_name,
            *_birthday_columns(),
        )
    ).all()
    if not totals:
        return []
    # Plain columns, not RoleType objects: a heavy history has thousands of these rows.
    shared_roles = db_session.execute(
        select_from(
            they.user_id, RoleType.key, RoleType.name, sa.func.count(sa.distinct(StudySession.id))
        )
        .join(RoleType, RoleType.id == my_slot.role_type_id)
        .where(my_slot.role_type_id == their_slot.role_type_id)
        .group_by(they.user_id, RoleType.id, RoleType.key, RoleType.name)
    ).all()
    named = {
        user_id
        for user_id, _name, _key, by_name, _month, _day, _share, *_counts, outside in totals
        if _named(user_id, by_name, viewer) or not outside
    }

    labels: dict[tuple, str] = {}
    roles: dict[int, dict[str, int]] = defaultdict(dict)
    for user_id, key, name, n in shared_roles:
        if (key, name) not in labels:
            labels[key, name] = role_label(RoleType(key=key, name=name))
        label = labels[key, name]
        roles[user_id][label] = roles[user_id].get(label, 0) + n
    result = [
        Coworker(
            user_id=user_id,
            name=display_name if user_id in named else None,
            sort_key=sort_key if user_id in named else "",
            sessions=sessions,
            side_by_side=side,
            first=first,
            last=last,
            roles=dict(sorted(roles[user_id].items(), key=lambda kv: (-kv[1], kv[0]))),
            birthday=_shared_birthday(member, viewer, by_name, share, month, day),
        )
        for (
            user_id,
            display_name,
            sort_key,
            by_name,
            month,
            day,
            share,
            sessions,
            side,
            first,
            last,
            _out,
        ) in totals
    ]
    return result


def _birthday_columns():
    return User.birthday_month, User.birthday_day, User.share_birthday


def _shared_birthday(
    member: User, viewer: User | None, appear_by_name: bool, share: bool, month, day
) -> tuple[int, int] | None:
    """A co-worker's birthday as the page may show it: only on the member's own page (every
    row there is someone the viewer worked with; on another's page a row may be a stranger to
    the viewer), only when they chose to share it, and never for someone who chose not to
    appear by name (a birthday would tell who "a member" is)."""
    if viewer is None or viewer.id != member.id or not (share and appear_by_name):
        return None
    return (month, day) if month and day else None


def _ordered(result: list[Coworker], order: Order) -> list[Coworker]:
    if order == Order.RECENT:
        result.sort(key=lambda c: (c.last, c.sessions), reverse=True)
    elif order == Order.NAME:
        # As the member lists (studygroup.names.by_name): by reading, then name; "a member"
        # last, in the order of most sessions (their reading is not the viewer's to know).
        result.sort(key=lambda c: (-c.sessions, -c.side_by_side, -c.last.timestamp()))
        result.sort(key=lambda c: (c.name is None, c.sort_key, c.name or ""))
    else:
        result.sort(key=lambda c: (-c.sessions, -c.side_by_side, -c.last.timestamp()))
    return result


def visible_names(
    db_session: Session,
    viewer: User | None,
    people,
    *,
    group_id: int,
    organizer: bool | None = None,
) -> dict[int, str | None]:
    """Each person's name as `viewer` may see it on a page of group `group_id`, or None ("a
    member"). One query, only when someone chose not to appear by name and the caller does
    not say whether the viewer organizes the group (`organizer`, as `organized_by`: an
    active organizer's membership)."""
    people = list(people)
    hidden = [p for p in people if not _named(p.id, p.appear_by_name, viewer)]
    if organizer is None:
        organizer = bool(hidden) and group_id in _organized_among(db_session, viewer, {group_id})
    return {
        p.id: p.display_name if organizer or _named(p.id, p.appear_by_name, viewer) else None
        for p in people
    }


def worked_together(
    db_session: Session,
    session: StudySession,
    *,
    staffing: dict,
    worked: list[Assignment],
    viewer: User | None,
    now: datetime,
) -> list[tuple[RoleSlot, list[str | None]]]:
    """For a session that has started and was held: each role with the names (as `viewer`
    may see them, None for "a member") of the people whose place there counts as worked.

    `worked` is the places that `counts_as_worked` chose (the one definition), as the
    session page reads them with its `staffing` (`SlotStaffing` by slot id), whose order the
    names keep. At most one query (`visible_names`). The session's slots must be loaded."""
    if not session.is_scheduled or session.starts_at > now:
        return []
    counted = {place.id for place in worked}
    roles = [
        (slot, [p for p in staffing[slot.id].confirmed if p.id in counted])
        for slot in session.slots
    ]
    roles = [(slot, places) for slot, places in roles if places]
    people = {p.user_id: p.user for _slot, places in roles for p in places}.values()
    names = visible_names(db_session, viewer, people, group_id=session.group_id)
    return [(slot, [names[p.user_id] for p in places]) for slot, places in roles]


def worked_with_by_session(
    db_session: Session,
    member: User,
    session_ids: list[int],
    *,
    viewer: User | None,
    now: datetime,
) -> dict[int, list[str | None]]:
    """For each of these sessions, the people `member` co-worked with there (names as the
    viewer may see them in that session's group), in one query: the people and whether the
    viewer organizes each session's group come with the pairs."""
    if not session_ids:
        return {}
    select_from, they, *_ = _pair_join(member.id, now=now, groups=history_groups(member, viewer))
    pairs = (
        select_from(
            StudySession.id.label("session_id"),
            StudySession.group_id.label("group_id"),
            they.user_id.label("user_id"),
        )
        .where(StudySession.id.in_(session_ids))
        .distinct()
        .subquery()
    )
    organizes = pairs.c.group_id.in_(organized_by(viewer)) if viewer is not None else sa.false()
    rows = db_session.execute(
        sa.select(pairs.c.session_id, pairs.c.group_id, User, organizes).join(
            User, User.id == pairs.c.user_id
        )
    ).all()
    shown: dict[int, list[User | None]] = defaultdict(list)
    for session_id, _group_id, person, viewer_organizes in rows:
        named = viewer_organizes or _named(person.id, person.appear_by_name, viewer)
        shown[session_id].append(person if named else None)
    return {
        # By reading, then name, as the member lists; "a member" last.
        session_id: [p.display_name if p else None for p in sorted(persons, key=_by_name)]
        for session_id, persons in shown.items()
    }


def _by_name(person: User | None) -> tuple:
    return (True,) if person is None else (False, *name_order(person))


def _named(user_id: int, appear_by_name: bool, viewer: User | None) -> bool:
    """Shown by name whatever the page: they chose to appear, or they are the viewer."""
    return appear_by_name or (viewer is not None and viewer.id == user_id)


def _organized_among(db_session: Session, viewer: User | None, group_ids) -> set[int]:
    """Which of these groups `viewer` organizes (no query when there is nothing to ask)."""
    if viewer is None or not group_ids:
        return set()
    return set(db_session.scalars(organized_by(viewer).where(Membership.group_id.in_(group_ids))))


def may_view_coworkers(
    db_session: Session, viewer: User | None, member: User, *, link_token: str | None = None
) -> bool:
    """The member's choice decides: only me, members of groups we share (the default), or
    anyone with the secret link. Organizers of a group the member is in may always look, at
    their own groups' part of the history only (`history_groups`)."""
    if viewer is not None and viewer.id == member.id:
        return True
    if (
        link_token is not None
        and member.coworkers_visibility == CoworkersVisibility.ANYONE_WITH_LINK
        and secrets.compare_digest(link_token.encode(), member.coworkers_link_token.encode())
    ):
        return True
    if viewer is None:
        return False
    mine = sa.select(Membership.group_id).where(
        Membership.user_id == viewer.id, Membership.status == MembershipStatus.ACTIVE
    )
    theirs = sa.select(Membership).where(
        Membership.user_id == member.id,
        Membership.status == MembershipStatus.ACTIVE,
        Membership.group_id.in_(mine),
    )
    shared = db_session.scalars(theirs).all()
    if not shared:
        return False
    if member.coworkers_visibility != CoworkersVisibility.ONLY_ME:
        return True
    organizer_of = set(db_session.scalars(organized_by(viewer)))
    return any(m.group_id in organizer_of for m in shared)


def history_years(
    db_session: Session, member: User, *, viewer: User | None, now: datetime
) -> range:
    """The years the member's co-working page can filter by, latest first: from the year of
    their first worked session or first membership, whichever is earlier, to this year (in
    their time zone). Only the groups whose history `viewer` may see count
    (`history_groups`, as for the page's rows): the filter tells no one when the member's
    history elsewhere began. One query."""
    first_worked, first_joined = _first_dates(member, history_groups(member, viewer), now)
    worked, joined = db_session.execute(sa.select(first_worked, first_joined)).one()
    return _years(member, now, worked, joined)


def filter_choices(
    db_session: Session, member: User, *, viewer: User | None, now: datetime
) -> tuple[list[Group], range]:
    """What the co-worker page's filter offers: the groups the member is an active member of
    whose history `viewer` may see (`history_groups`), by name, and `history_years`. One
    query (the page has few to spare)."""
    groups = history_groups(member, viewer)
    first_worked, first_joined = _first_dates(member, groups, now)
    dates = sa.select(first_worked.label("worked"), first_joined.label("joined")).subquery()
    mine = [Membership.user_id == member.id, Membership.status == MembershipStatus.ACTIVE]
    if groups is not None:
        mine.append(Membership.group_id.in_(groups))
    rows = db_session.execute(
        sa.select(dates.c.worked, dates.c.joined, Group)
        .select_from(dates)
        .outerjoin(Membership, sa.and_(*mine))  # one row with no group when there is none
        .outerjoin(Group, Group.id == Membership.group_id)
        .order_by(Group.name, Group.id)
    ).all()
    worked, joined = rows[0][:2]
    return [group for *_dates, group in rows if group is not None], _years(
        member, now, worked, joined
    )


def _first_dates(member: User, groups, now: datetime):
    """SQL: the start of the member's first worked session and their first joining, in
    `groups` (None: all)."""

    def seen(group_id) -> list:
        return [] if groups is None else [group_id.in_(groups)]

    first_worked = (
        sa.select(sa.func.min(StudySession.starts_at))
        .select_from(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            Assignment.user_id == member.id,
            counts_as_worked(Assignment, StudySession),
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at <= now,
            *seen(StudySession.group_id),
        )
        .scalar_subquery()
    )
    first_joined = (
        sa.select(sa.func.min(Membership.joined_at))
        .where(Membership.user_id == member.id, *seen(Membership.group_id))
        .scalar_subquery()
    )
    return first_worked, first_joined


def _years(member: User, now: datetime, worked, joined) -> range:
    zone = ZoneInfo(member.timezone)
    this_year = now.astimezone(zone).year
    starts = [value.astimezone(zone).year for value in (worked, joined) if value]
    first = min(starts, default=this_year)
    return range(this_year, min(first, this_year) - 1, -1)


@dataclass
class SessionTogether:
    session: StudySession
    my_roles: list[str]
    their_roles: list[str]
    side_by_side: bool


def sessions_together(
    db_session: Session,
    member: User,
    other_id: int,
    *,
    viewer: User | None,
    now: datetime,
    group_id=None,
) -> list[SessionTogether]:
    """The sessions two members co-worked in, newest first, with each one's roles."""
    select_from, they, my_slot, their_slot, side_by_side = _pair_join(
        member.id, now=now, group_id=group_id, groups=history_groups(member, viewer)
    )
    my_type, their_type = aliased(RoleType), aliased(RoleType)
    rows = db_session.execute(
        select_from(StudySession, my_type, their_type, side_by_side)
        .join(my_type, my_type.id == my_slot.role_type_id)
        .join(their_type, their_type.id == their_slot.role_type_id)
        .where(they.user_id == other_id)
        .order_by(StudySession.starts_at.desc())
    ).all()
    together: dict[int, SessionTogether] = {}
    for session, mine, theirs, side in rows:
        entry = together.setdefault(session.id, SessionTogether(session, [], [], False))
        for names, role in ((entry.my_roles, mine), (entry.their_roles, theirs)):
            if role_label(role) not in names:
                names.append(role_label(role))
        entry.side_by_side = entry.side_by_side or bool(side)
    return list(together.values())


# --- a group's picture ----------------------------------------------------------------------


@dataclass(slots=True)
class Pair:
    a: int
    b: int
    sessions: int
    side_by_side: int = 0  # of those sessions, how many side by side (the tie's weight)


class GroupMember(NamedTuple):
    """What the network page shows of a member (and sorts by: `names.name_order`)."""

    id: int
    display_name: str
    name_sort_key: str


# The network page's "worked with few others": side by side with this many people or fewer.
FEW_PARTNERS = 2


@dataclass
class GroupNetwork:
    members: dict[int, GroupMember]  # the group's active members
    pairs: list[Pair]  # most side by side first, then most sessions together
    partners: dict[int, int]  # member id -> how many different people they worked side by side with
    sessions_worked: dict[int, int]  # active member id -> sessions worked in the group

    @property
    def ties(self) -> list[Pair]:
        """The pairs who worked side by side at least once: the picture's lines."""
        return [p for p in self.pairs if p.side_by_side]

    @property
    def worked_at_all(self) -> bool:
        """Anyone among the active members has worked a session of the group."""
        return any(self.sessions_worked.get(m, 0) for m in self.members)

    def worked_with_few(self) -> list[GroupMember]:
        """The members to pair with someone new: they worked side by side with at most
        `FEW_PARTNERS` people, or worked only once. Only people who have worked at all (a new
        member is not "lonely" yet). Fewest partners first, then by name."""
        return sorted(
            (
                member
                for member in self.members.values()
                if self.sessions_worked.get(member.id, 0) >= 1
                and (
                    self.partners.get(member.id, 0) <= FEW_PARTNERS
                    or self.sessions_worked.get(member.id, 0) <= 1
                )
            ),
            key=lambda m: (self.partners.get(m.id, 0), *name_order(m)),
        )


def group_network(db_session: Session, group: Group, *, now: datetime) -> GroupNetwork:
    """Every pair that co-worked in the group, with how often side by side, and its active
    members with the sessions each worked, in two queries.

    The pairs come from the tie tables (`coworking.ties`, up to the watermark) with the
    sessions started since counted live, as `coworkers_of` does: the cost follows the group's
    pairs, not its whole history. Side by side is `pair_join`'s: the same slot, or slots whose
    windows overlap. Anyone in the same session co-worked, but only side by side is a tie worth
    drawing: in a group of twelve everyone shares a session with everyone sooner or later.
    """
    settle(db_session)  # this transaction's own changes first (they are recounted at commit)
    rows = tie_rows(users=None, now=now, group_id=group.id)
    # Plain rows (Core, not the ORM's row processing): a large group has thousands of pairs.
    # Each stored tie is already one pair's total, in order; only the few live rows (a pair
    # of places in a session since the watermark) need adding up, here rather than by a
    # GROUP BY over every row.
    connection = db_session.connection()
    found = connection.execute(
        sa.select(
            rows.c.user_id,
            rows.c.other_id,
            rows.c.sessions,
            rows.c.side,
            rows.c.session_id,
            rows.c.live_side,
        )
        .where(rows.c.user_id < rows.c.other_id)  # both directions are there: one of each
        .order_by(rows.c.side.desc(), rows.c.sessions.desc(), rows.c.user_id, rows.c.other_id)
    ).all()
    pairs = [Pair(a, b, n, side) for a, b, n, side, session_id, _ in found if session_id is None]
    live: dict[tuple[int, int], tuple[set[int], set[int]]] = {}
    if len(pairs) < len(found):
        for a, b, _n, _side, session_id, live_side in found:
            if session_id is not None:
                together, beside = live.setdefault((a, b), (set(), set()))
                together.add(session_id)
                if live_side is not None:
                    beside.add(live_side)
    if live:
        stored = {(p.a, p.b): p for p in pairs}
        for (a, b), (together, beside) in live.items():
            pair = stored.get((a, b))
            if pair is None:
                pairs.append(Pair(a, b, len(together), len(beside)))
            else:
                pair.sessions += len(together)
                pair.side_by_side += len(beside)
        pairs.sort(key=lambda p: (-p.side_by_side, -p.sessions, p.a, p.b))
    worked = (
        sa.select(sa.func.count(sa.distinct(StudySession.id)))
        .select_from(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            Assignment.user_id == User.id,
            StudySession.group_id == group.id,
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at <= now,
            counts_as_worked(Assignment, StudySession),
        )
        .correlate(User)
        .scalar_subquery()
    )
    members: dict[int, GroupMember] = {}
    sessions_worked: dict[int, int] = {}
    for user_id, name, sort_key, count in connection.execute(
        sa.select(User.id, User.display_name, User.name_sort_key, worked)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE)
    ):
        members[user_id] = GroupMember(user_id, name, sort_key)
        if count:
            sessions_worked[user_id] = count
    partners: dict[int, int] = defaultdict(int)
    for pair in pairs:
        if pair.side_by_side:
            partners[pair.a] += 1
            partners[pair.b] += 1
    return GroupNetwork(members, pairs, dict(partners), sessions_worked)
