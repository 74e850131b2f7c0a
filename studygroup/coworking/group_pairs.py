"""A group's co-working pairs, for its picture: every pair that co-worked in the group, how
often side by side, and the sessions each active member worked (`group_network`; the layout
is `coworking.network`'s).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.coworking.ties import settle, tie_rows
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.names import name_order
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment
from studygroup.signups.records import counts_as_worked


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
