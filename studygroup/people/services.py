"""Who knows X?: the members of my groups whose skills and interests match a search, those I
am closest to first.

Who can be found (every rule is here, none in the page):

* only members of the groups the searcher is an active member of, and active there too: a
  members-only group shows its members to its members only, and leaving a group ends it;
* never the searcher; only members who chose to be findable (`User.findable`) and who appear
  by name (`User.appear_by_name`: someone shown as "a member" cannot be told apart, so cannot
  be found, and the privacy settings say so).

Matching: the search, folded as tags are (`studygroup.names.skill_search_term`: NFKC, case,
width, katakana as hiragana), is looked for inside each tag's key ("kube" finds Kubernetes,
"ぷろぐらみんぐ" finds プログラミング). The tags are matched first in the small skill table,
then their members by tag id (index user_skill (skill_id, user_id)).

Order, nearest first:

1. my co-workers, with how often we worked together (my own history, all of it);
2. co-workers of my co-workers, through the one (S) with the strongest tie to them that I may
   see: S appears by name, S's co-worker page is open to me (`may_view_coworkers`'s rule: S is
   in a group of mine, and if S chose "only me", one I organize), and only the sessions of the
   groups that page shows me (`history_groups`) count. With no such S they are in tier 3;
3. the rest of my groups' members, by name.

Within tiers 1 and 2: most side by side, then most sessions together, then the most recent,
then by name. Co-working counts come from the tie tables up to their watermark and live after
it, as on the co-worker page (`coworking.services.coworkers_of`).

At most five queries whatever the number found: the matching tags; the people found with their
tags; my ties with them; the best intermediary of each of the others; the groups shared with
the people of the page.
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from studygroup.auth.models import CoworkersVisibility, Skill, User, user_skill
from studygroup.coworking.ties import settle, tie_rows
from studygroup.coworking.visibility import groups_visible_to, organized_by
from studygroup.db import UTCDateTime
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.names import by_code_point, skill_search_term

MAX_QUERY_LENGTH = 40  # as a tag's name
PER_PAGE = 20


class Tier:
    COWORKER = 1
    THROUGH_COWORKER = 2
    GROUPS = 3


@dataclass(frozen=True)
class Together:
    """How two members worked together: sessions, of those side by side, the last one's
    start."""

    sessions: int
    side_by_side: int
    last: datetime

    @property
    def strength(self) -> tuple:
        """Greater is stronger: side by side, then sessions together, then the most recent."""
        return (self.side_by_side, self.sessions, self.last)


@dataclass
class Intermediary:
    user_id: int
    name: str
    tie: Together  # with the person found (the sessions the searcher may see)


@dataclass
class Found:
    user_id: int
    name: str
    sort_key: str
    tier: int
    tie: Together | None = None  # tier 1: with the searcher
    via: Intermediary | None = None  # tier 2
    skills: list[str] = field(default_factory=list)  # their tags that matched
    groups: list[str] = field(default_factory=list)  # the groups we are both active in

    def order(self) -> tuple:
        tie = self.tie or (self.via.tie if self.via else None)
        strength = (-tie.side_by_side, -tie.sessions, -tie.last.timestamp()) if tie else ()
        return (self.tier, *strength, self.sort_key, self.name, self.user_id)


@dataclass
class SearchResult:
    term: str  # the search, folded
    skills: list[str]  # names of the tags that matched, anyone's: not for the page
    people: list[Found]  # this page
    total: int
    offset: int
    limit: int

    @property
    def more(self) -> bool:
        return self.offset + len(self.people) < self.total


def may_ask_introduction(searcher: User, person: Found) -> bool:
    """Whether the page offers to ask `person.via` for an introduction to `person`: the
    searcher takes introductions and appears by name (the intermediary picks people by name;
    `introductions.services.check_may_ask` decides when the request is made). Never by
    `person`'s own choice: a "don't introduce me" would show to members of their groups, so
    the request is offered and passes silently."""
    return person.via is not None and searcher.accept_introductions and searcher.appear_by_name


class QueryError(ValueError):
    """A search that cannot be run (empty, or too long); the message says why."""


def check_query(query: str | None) -> str:
    """The search as typed, trimmed; QueryError when there is nothing to look for or it is
    longer than a tag can be."""
    # Any space (full-width too) is one space; control characters go (PostgreSQL refuses NUL).
    text = "".join(c for c in " ".join((query or "").split()) if c.isprintable())
    if not skill_search_term(text):
        raise QueryError("empty")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError("too long")
    return text


def search_people(
    db_session: Session,
    searcher: User,
    query: str,
    *,
    now: datetime,
    limit: int = PER_PAGE,
    offset: int = 0,
) -> SearchResult:
    """The members `searcher` may find whose tags contain `query` (see the module docstring),
    nearest first, `limit` of them from `offset` (an offset past the end gives the last page).
    Raises QueryError for a search `check_query` refuses."""
    term = skill_search_term(check_query(query))
    settle(db_session)  # this transaction's own places count (the ties are recounted at commit)
    sql = _statements()
    me = {"searcher_id": searcher.id, "now": now}
    escaped = term.replace("/", "//").replace("%", "/%").replace("_", "/_")
    skills = dict(db_session.execute(sql.skills, {"pattern": f"%{escaped}%"}).all())
    if not skills:
        return SearchResult(term, [], [], 0, 0, limit)

    found: dict[int, Found] = {}
    for user_id, name, sort_key, skill_id in db_session.execute(
        sql.people, {**me, "skill_ids": list(skills)}
    ):
        person = found.get(user_id)
        if person is None:
            person = found[user_id] = Found(user_id, name, sort_key, Tier.GROUPS)
        person.skills.append(skills[skill_id])
    if not found:
        return SearchResult(term, list(skills.values()), [], 0, 0, limit)

    # All my co-workers (about a thousand rows at most): the people found among them are tier
    # 1, the others are whom the second step goes through.
    coworkers = []
    for other_id, sessions, side, last in db_session.execute(sql.my_ties, me):
        coworkers.append(other_id)
        if other_id in found:
            found[other_id].tier = Tier.COWORKER
            found[other_id].tie = Together(sessions, side, last)
    targets = [p.user_id for p in found.values() if p.tier == Tier.GROUPS]
    if coworkers and targets:
        for user_id, via_id, name, sessions, side, last, _rank in db_session.execute(
            sql.intermediaries, {**me, "targets": targets, "coworkers": coworkers}
        ):
            person = found[user_id]
            person.tier = Tier.THROUGH_COWORKER
            person.via = Intermediary(via_id, name, Together(sessions, side, last))

    ranked = sorted(found.values(), key=Found.order)
    total = len(ranked)
    offset = min(max(offset, 0), (total - 1) // limit * limit)
    page = ranked[offset : offset + limit]
    shown = {p.user_id: p for p in page}
    for user_id, group_name in db_session.execute(sql.groups, {**me, "shown": list(shown)}):
        shown[user_id].groups.append(group_name)
    for person in page:
        person.skills.sort(key=lambda name: (skill_search_term(name), name))
    return SearchResult(term, list(skills.values()), page, total, offset, limit)


# --- the statements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Statements:
    skills: sa.Select  # pattern
    people: sa.Select  # searcher_id, skill_ids
    my_ties: sa.Select  # searcher_id, now
    intermediaries: sa.Select  # searcher_id, now, targets, coworkers
    groups: sa.Select  # searcher_id, shown


@cache
def _statements() -> _Statements:
    """The five statements, built once per process with bound parameters: building them
    (aliases, unions, subqueries) costs more than running some of them."""
    searcher_id = sa.bindparam("searcher_id", type_=sa.Integer)
    now = sa.bindparam("now", type_=UTCDateTime)
    searcher = SimpleNamespace(id=searcher_id)  # what organized_by() and others read
    my_groups = sa.select(Membership.group_id).where(
        Membership.user_id == searcher_id, Membership.status == MembershipStatus.ACTIVE
    )
    skills = (
        sa.select(Skill.id, Skill.name)
        .where(Skill.key.like(sa.bindparam("pattern"), escape="/"))
        .order_by(by_code_point(Skill.key), Skill.id)
    )
    people = (
        sa.select(
            User.id,
            User.display_name,
            User.name_sort_key,
            user_skill.c.skill_id,
        )
        .select_from(user_skill)
        .join(User, User.id == user_skill.c.user_id)
        .where(
            user_skill.c.skill_id.in_(sa.bindparam("skill_ids", expanding=True)),
            User.id != searcher_id,
            User.findable,
            User.appear_by_name,
            sa.exists().where(
                Membership.user_id == User.id,
                Membership.status == MembershipStatus.ACTIVE,
                Membership.group_id.in_(my_groups),
            ),
        )
    )
    mine = tie_rows(users=[searcher_id], now=now)
    my_ties = sa.select(mine.c.other_id, *_totals(mine)).group_by(mine.c.other_id)
    return _Statements(
        skills=skills,
        people=people,
        my_ties=my_ties,
        intermediaries=_intermediaries(searcher, my_groups, now),
        groups=sa.select(Membership.user_id, Group.name)
        .join(Group, Group.id == Membership.group_id)
        .where(
            Membership.user_id.in_(sa.bindparam("shown", expanding=True)),
            Membership.status == MembershipStatus.ACTIVE,
            Membership.group_id.in_(my_groups),
        )
        .order_by(by_code_point(Group.name), Group.id),
    )


def _totals(rows) -> list:
    """Aggregate columns over `tie_rows`: sessions, side by side, last start."""
    return [
        (
            sa.func.coalesce(sa.func.sum(rows.c.sessions), 0)
            + sa.func.count(sa.distinct(rows.c.session_id))
        ).label("sessions"),
        (
            sa.func.coalesce(sa.func.sum(rows.c.side), 0)
            + sa.func.count(sa.distinct(rows.c.live_side))
        ).label("side"),
        sa.func.max(rows.c.last_at).label("last_at"),
    ]


def _intermediaries(searcher, my_groups, now) -> sa.Select:
    """For each of `targets` (people found who are not the searcher's co-workers), the one of
    `coworkers` (the searcher's) with the strongest tie to them among those the searcher may
    see worked with them (see the module docstring): one row each."""
    via = aliased(User)
    coworkers = sa.bindparam("coworkers", expanding=True)
    rows = tie_rows(
        users=sa.bindparam("targets", expanding=True),
        others=coworkers,
        now=now,
    )
    only_me = via.coworkers_visibility == CoworkersVisibility.ONLY_ME
    not_only_me = via.coworkers_visibility != CoworkersVisibility.ONLY_ME
    # S's page is open to the searcher: a group of theirs is one of mine (one I organize, if
    # S chose "only me"). The groups it shows: public ones and mine (those I organize).
    page_open = sa.exists().where(
        Membership.user_id == via.id,
        Membership.status == MembershipStatus.ACTIVE,
        Membership.group_id.in_(my_groups),
        sa.or_(not_only_me, Membership.group_id.in_(organized_by(searcher))),
    )
    shown_groups = sa.or_(
        sa.and_(not_only_me, rows.c.group_id.in_(groups_visible_to(searcher))),
        sa.and_(only_me, rows.c.group_id.in_(organized_by(searcher))),
    )
    totals = _totals(rows)
    strongest = sa.func.row_number().over(
        partition_by=rows.c.user_id,
        order_by=[
            totals[1].desc(),
            totals[0].desc(),
            totals[2].desc(),
            by_code_point(via.name_sort_key),
            via.id,
        ],
    )
    ranked = (
        sa.select(rows.c.user_id, via.id, via.display_name, *totals, strongest.label("rank"))
        .join(via, via.id == rows.c.other_id)
        # (The id list again: the planner then looks the co-workers up by key, not a scan.)
        .where(via.id.in_(coworkers), via.appear_by_name, page_open, shown_groups)
        .group_by(rows.c.user_id, via.id, via.display_name, via.name_sort_key)
        .subquery()
    )
    return sa.select(ranked).where(ranked.c.rank == 1)
