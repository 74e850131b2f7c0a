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

Those rules are `coworking.visibility`'s. Sessions worked together are in `coworking.together`,
the co-worker page's filter in `coworking.filters`, a group's pairs (its picture) in
`coworking.group_pairs`.

`coworkers_of` answers in two queries whatever the size of the history (one aggregate per
co-worker with their names, one for the roles shared); the indexes on assignment
(user_id, status, slot_id) and (slot_id, status, user_id) and role_slot (session_id, ...)
keep each proportional to the member's own history.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.coworking.ties import pair_join, settle, tie_rows
from studygroup.coworking.visibility import history_groups, organized_by, shown_by_name
from studygroup.groups.models import (
    RoleType,
)
from studygroup.i18n import role_label
from studygroup.sessions.models import StudySession


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


def member_pairs(
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
        named = shown_by_name(user_id, count.appear_by_name, viewer) or not count.outside
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
    select_from, they, my_slot, their_slot, side_by_side = member_pairs(
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
        if shown_by_name(user_id, by_name, viewer) or not outside
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
