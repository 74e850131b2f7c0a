"""The suggested team for a session's formed roles: plain functions over plain data.

No database and no request here: `studygroup.signups.forming` gathers the data from the
database, and `bench/pairing.py` runs these same functions on simulated groups. The same
input always gives the same team.

`suggest_team` is greedy with local improvement, not an exact solver. The rules come in tiers
(each outweighs anything the tiers below can add up to in a session):

1. fill every place some candidate may take; one place a member, a second one only for a
   place that would otherwise stay empty and never in an overlapping window;
2. place members who offered help WAIT_STREAK sessions in a row without a place;
3. put a first-timer in a role beside someone who did it MENTOR_TIMES times, when one is there
   or could be put there;
4. then members with fewer places in the recent months, and new pairs (side by side for the
   first time) well above repeat pairs, whose value falls with each session they shared.

Tiers 1 and 2 are exact: the members who can be placed together form a matroid, so taking
them greedily by priority and placing each one by an augmenting path fills as many places and
seats as many waiting members as any team could. Tiers 3 and 4 come from local moves (replace
a pick by an unplaced candidate, swap two picks between slots) that only ever raise the value.
A session is small (a few dozen places, a few hundred candidates at most): this runs in tens of
milliseconds in plain Python and each step can be explained to an organizer, where a MIP solver
(OR-Tools, PuLP) would be a heavy dependency for a quadratic pair objective that gains little
over the local optimum at this size (bench/pairing.py measures the result).

Longer than our ~500 lines on purpose: it is one algorithm (the problem, the greedy fill, the
local moves and the explanation share `_Problem` and `_Team`), read best in one place.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

# A member who has done a role this many times can show a first-timer how it is done.
MENTOR_TIMES = 3


@dataclass(frozen=True)
class TeamSlot:
    """One role of the session: its window (side by side is the same slot or overlapping
    windows) and how many places the suggestion may fill (0 for a full role, or a role that
    is not formed, whose holders still work beside the team)."""

    slot_id: int
    role_type_id: int
    starts_at: datetime
    ends_at: datetime
    places: int = 0


@dataclass(frozen=True)
class Holder:
    """Someone who already holds a confirmed place in a slot of the session."""

    user_id: int
    slot_id: int
    times_in_role: int = 0  # times they worked this slot's role before


@dataclass(frozen=True)
class Candidate:
    """A member who said they can help with this session."""

    user_id: int
    # Role type ids the member would take; None: any role.
    roles: frozenset[int] | None = None
    # Slots the member may not be given (a confirmed place whose window overlaps, a live
    # place or request they already hold in it).
    blocked_slots: frozenset[int] = frozenset()
    # Times the member worked each role before, by role type id.
    times_in_role: Mapping[int, int] = field(default_factory=dict)
    # Places the member worked in the group in the recent months (fewer: sooner).
    recent_places: int = 0
    # The group's latest sessions in a row (before this one) for which the member offered
    # help and got no place.
    offers_without_place: int = 0


@dataclass(frozen=True)
class TeamInput:
    slots: tuple[TeamSlot, ...]
    candidates: tuple[Candidate, ...]
    holders: tuple[Holder, ...] = ()
    # Sessions two members worked side by side, by (lower user id, higher user id).
    ties: Mapping[tuple[int, int], int] = field(default_factory=dict)
    # (slot id, user id) an organizer chose: kept in the team whatever the score.
    pinned: tuple[tuple[int, int], ...] = ()
    # (slot id, user id) an organizer swapped out: not suggested there again.
    excluded: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Reason:
    """Why a member is in the suggested team, as data: pages and emails word it in their
    reader's language.

    kind: "chosen" (an organizer picked them), "waited" (offered help `count` times in a row
    without a place), "fewest_places" (`count` places in the recent months), "first_time"
    (first time in the role, beside `other_user_id` who did it `count` times), "mentor"
    (shows the first-timer `other_user_id` the role), "new_pair" (never worked with
    `other_user_id`; `count`: how many new pairs in all), "first_time_alone" (first time in
    the role and nobody who has done it 3 times is there).
    """

    kind: str
    other_user_id: int | None = None
    count: int | None = None


@dataclass(frozen=True)
class Pick:
    slot_id: int
    user_id: int
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    picks: tuple[Pick, ...]
    # Places no candidate could fill, by slot id (only slots with any left).
    unfilled: Mapping[int, int] = field(default_factory=dict)


# How the suggestion weighs a team (larger is better). The weights are tiers: each tier
# outweighs any sum the tiers below it can reach in a session (a team has at most a few
# dozen places), so the order of the rules in the module docstring holds.
WAIT_STREAK = 2  # offered help this many sessions in a row without a place: must get one
_W_WAITED = 100_000_000.0  # a member with such a streak in the team
_W_MENTOR = 100_000.0  # a first-timer without a mentor beside them although one was available
_W_WAITED_EACH = 100.0  # each session a member in the team waited (the longest waits first)
_W_RECENT = 1.5  # each place a member worked in the recent months (fewer: sooner)
_NEW_PAIR = 1.0  # two members who never worked side by side
_REPEAT_PAIR = 0.25  # divided by the sessions they already worked side by side
_SHORTLIST = 8  # unplaced candidates tried per slot in each round of improvement
_MAX_ROUNDS = 50
_EPS = 1e-9
_NO_TIES: dict[int, int] = {}


def _overlap(a: TeamSlot, b: TeamSlot) -> bool:
    # Touching windows (one ends when the other starts) do not overlap.
    return a.starts_at < b.ends_at and b.starts_at < a.ends_at


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


class _Problem:
    """The input prepared once: who may take which slot, who works beside whom."""

    def __init__(self, data: TeamInput) -> None:
        self.data = data
        self.slots = {slot.slot_id: slot for slot in data.slots}
        self.slot_order = {slot.slot_id: i for i, slot in enumerate(data.slots)}
        ids = sorted(self.slots, key=self.slot_order.__getitem__)
        # Slots side by side with each slot (itself included), and those a member cannot
        # hold together (the same slot or overlapping windows).
        self.side = {
            s: tuple(t for t in ids if t == s or _overlap(self.slots[s], self.slots[t]))
            for s in ids
        }
        self.holders_in: dict[int, list[Holder]] = {s: [] for s in ids}
        for holder in sorted(data.holders, key=lambda h: (h.slot_id, h.user_id)):
            if holder.slot_id in self.holders_in:
                self.holders_in[holder.slot_id].append(holder)
        holder_ids = {holder.user_id for holder in data.holders}
        self.candidates: dict[int, Candidate] = {}
        for candidate in sorted(data.candidates, key=lambda c: c.user_id):
            if candidate.user_id not in holder_ids:
                self.candidates.setdefault(candidate.user_id, candidate)
        self.ties = data.ties
        self.pinned = sorted(
            {(s, u) for s, u in data.pinned if s in self.slots},
            key=lambda p: (self.slot_order[p[0]], p[1]),
        )
        self.pinned_users = {u for _, u in self.pinned}
        excluded = set(data.excluded)
        self.eligible: dict[int, tuple[int, ...]] = {}
        for user_id, candidate in self.candidates.items():
            self.eligible[user_id] = tuple(
                s
                for s in ids
                if self.slots[s].places > 0
                and (candidate.roles is None or self.slots[s].role_type_id in candidate.roles)
                and s not in candidate.blocked_slots
                and (s, user_id) not in excluded
            )
        self.holder_ids_in = {s: tuple(h.user_id for h in self.holders_in[s]) for s in ids}
        self.holder_mentor = {
            s: any(h.times_in_role >= MENTOR_TIMES for h in self.holders_in[s]) for s in ids
        }
        self._times = {
            (u, s): candidate.times_in_role.get(self.slots[s].role_type_id, 0)
            for u, candidate in self.candidates.items()
            for s in ids
        }
        self.own = {u: self._own_value(c) for u, c in self.candidates.items()}
        # Ties by member, for the members in play only (the mapping may hold a whole group).
        people = set(self.candidates) | holder_ids | self.pinned_users
        self.ties_of: dict[int, dict[int, int]] = {}
        for (a, b), tie in data.ties.items():
            if tie > 0 and a in people and b in people:
                self.ties_of.setdefault(a, {})[b] = tie
                self.ties_of.setdefault(b, {})[a] = tie
        # A mentor is available for a slot when a holder there, or someone who could be put
        # there, has done its role MENTOR_TIMES times.
        self.mentor_available = {
            s: self.holder_mentor[s]
            or any(
                self.times(u, s) >= MENTOR_TIMES for u in self.candidates if s in self.eligible[u]
            )
            or any(self.times(u, s) >= MENTOR_TIMES for t, u in self.pinned if t == s)
            for s in ids
        }
        self.ids = ids

    def times(self, user_id: int, slot_id: int) -> int:
        return self._times.get((user_id, slot_id), 0)

    def tie(self, a: int, b: int) -> int:
        return self.ties_of.get(a, _NO_TIES).get(b, 0)

    def pair_value(self, a: int, b: int) -> float:
        tie = self.ties_of.get(a, _NO_TIES).get(b, 0)
        return _NEW_PAIR if tie <= 0 else _REPEAT_PAIR / tie

    def pairs_with(self, user_id: int, others: Iterable[int], skip: Sequence[int] = ()) -> float:
        """The value of the pairs the member would form with these others (but `skip`)."""
        ties = self.ties_of.get(user_id, _NO_TIES)
        value = 0.0
        for other in others:
            if other in skip:
                continue
            tie = ties.get(other, 0)
            value += _NEW_PAIR if tie <= 0 else _REPEAT_PAIR / tie
        return value

    def own_value(self, user_id: int) -> float:
        return self.own.get(user_id, 0.0)

    @staticmethod
    def _own_value(candidate: Candidate) -> float:
        value = -_W_RECENT * candidate.recent_places
        if candidate.offers_without_place >= WAIT_STREAK:
            value += _W_WAITED + _W_WAITED_EACH * candidate.offers_without_place
        return value


class _Team:
    """A team being built: members by slot and slots by member."""

    def __init__(self, problem: _Problem) -> None:
        self.p = problem
        self.members: dict[int, list[int]] = {s: [] for s in problem.ids}
        self.places_of: dict[int, list[int]] = {}

    def add(self, slot_id: int, user_id: int) -> None:
        self.members[slot_id].append(user_id)
        self.places_of.setdefault(user_id, []).append(slot_id)

    def remove(self, slot_id: int, user_id: int) -> None:
        self.members[slot_id].remove(user_id)
        places = self.places_of[user_id]
        places.remove(slot_id)
        if not places:
            del self.places_of[user_id]

    def may_take(self, user_id: int, slot_id: int, leaving: int | None = None) -> bool:
        """Whether the member may be given this slot besides their other places (leaving:
        a slot they give up in the same move)."""
        if slot_id not in self.p.eligible.get(user_id, ()):
            return False
        target = self.p.slots[slot_id]
        for held in self.places_of.get(user_id, ()):
            if held == leaving:
                continue
            if held == slot_id or _overlap(self.p.slots[held], target):
                return False
        return True

    def beside(self, user_id: int) -> set[int]:
        """Everyone (picks and holders) side by side with the member."""
        found: set[int] = set()
        for held in self.places_of.get(user_id, ()):
            for s in self.p.side[held]:
                found.update(self.members[s])
                found.update(self.p.holder_ids_in[s])
        found.discard(user_id)
        return found

    def mentor_penalty(self, slot_id: int) -> float:
        if not self.p.mentor_available[slot_id]:
            return 0.0
        members = self.members[slot_id]
        if not members:
            return 0.0
        times = self.p.times
        if self.p.holder_mentor[slot_id] or any(times(u, slot_id) >= MENTOR_TIMES for u in members):
            return 0.0
        alone = sum(1 for u in members if times(u, slot_id) == 0)
        return _W_MENTOR * alone

    def local_value(self, users: tuple[int, ...], slots: tuple[int, ...]) -> float:
        """The part of the team's value that involves these members or these slots."""
        value = 0.0
        counted: list[int] = []
        for user_id in users:
            if user_id not in self.places_of or user_id in counted:
                continue
            value += self.p.own_value(user_id)
            value += self.p.pairs_with(
                user_id, [w for w in sorted(self.beside(user_id)) if w not in counted]
            )
            counted.append(user_id)
        for slot_id in dict.fromkeys(slots):
            value -= self.mentor_penalty(slot_id)
        return value

    def picks(self) -> list[tuple[int, int]]:
        return [(s, u) for s in self.p.ids for u in sorted(self.members[s])]


def _fill(problem: _Problem) -> _Team:
    """The first team: the pinned picks, then a largest set of places filled one per member,
    taking members in order of their own value (a waiting streak first, then fewest recent
    places, then user id); a member is taken when the places can be rearranged to make room
    (an augmenting path). The members who can be placed together form a matroid, so this
    order places as many waiting members as can be placed. Places still empty then go to
    members who already hold one, in a window that does not overlap it."""
    team = _Team(problem)
    for slot_id, user_id in problem.pinned:
        team.add(slot_id, user_id)
    room = {s: max(0, problem.slots[s].places - len(team.members[s])) for s in problem.ids}
    free = {s: list[int]() for s in problem.ids}  # the places this phase fills

    def augment(user_id: int, visited: set[int]) -> bool:
        for s in problem.eligible[user_id]:
            if s in visited:
                continue
            visited.add(s)
            if len(free[s]) < room[s]:
                free[s].append(user_id)
                return True
            for other in list(free[s]):
                if augment(other, visited):
                    free[s].remove(other)
                    free[s].append(user_id)
                    return True
        return False

    order = sorted(
        (u for u in problem.candidates if u not in problem.pinned_users),
        key=lambda u: (-problem.own_value(u), u),
    )
    for user_id in order:
        if (
            problem.eligible[user_id]
            and augment(user_id, set())
            and sum(len(free[s]) for s in problem.ids) == sum(room.values())
        ):
            break
    for s in problem.ids:
        for user_id in sorted(free[s]):
            team.add(s, user_id)
    for s in problem.ids:
        while len(team.members[s]) < problem.slots[s].places:
            able = [u for u in team.places_of if team.may_take(u, s)]
            if not able:
                break
            best = min(able, key=lambda u: (len(team.places_of[u]), -problem.own_value(u), u))
            team.add(s, best)
    return team


def _improve(problem: _Problem, team: _Team) -> None:
    """Local improvement: replace a pick by an unplaced candidate, or swap two picks between
    slots, whenever the team's value grows; until no such move is left (first improvement,
    in a fixed order). Pinned picks stay."""
    pinned = set(problem.pinned)
    ids = problem.ids
    state: dict[str, dict[int, object]] = {}

    def refresh() -> None:
        # Who works beside each slot, and each slot's mentoring penalty, for the current team.
        near: dict[int, set[int]] = {}
        for s in ids:
            found: set[int] = set()
            for t in problem.side[s]:
                found.update(team.members[t])
                found.update(problem.holder_ids_in[t])
            near[s] = found
        state["near"] = near  # type: ignore[assignment]
        state["penalty"] = {s: team.mentor_penalty(s) for s in ids}  # type: ignore[assignment]

    def single(user_id: int) -> bool:
        return len(team.places_of.get(user_id, ())) == 1

    def try_replace(s: int, out: int, newcomer: int) -> bool:
        near: dict[int, set[int]] = state["near"]  # type: ignore[assignment]
        penalty: dict[int, float] = state["penalty"]  # type: ignore[assignment]
        if single(out):
            skip = (out, newcomer)
            gain = (
                problem.own_value(newcomer)
                - problem.own_value(out)
                + problem.pairs_with(newcomer, near[s], skip)
                - problem.pairs_with(out, near[s], skip)
            )
            if gain + penalty[s] <= _EPS:
                return False  # even the best mentoring change cannot make up for it
            team.remove(s, out)
            team.add(s, newcomer)
            if gain + penalty[s] - team.mentor_penalty(s) > _EPS:
                return True
        else:
            before = team.local_value((out, newcomer), (s,))
            team.remove(s, out)
            team.add(s, newcomer)
            if team.local_value((out, newcomer), (s,)) > before + _EPS:
                return True
        team.remove(s, newcomer)
        team.add(s, out)
        return False

    def try_swap(s1: int, a: int, s2: int, b: int) -> bool:
        near: dict[int, set[int]] = state["near"]  # type: ignore[assignment]
        penalty: dict[int, float] = state["penalty"]  # type: ignore[assignment]
        if single(a) and single(b):
            skip = (a, b)
            gain = (
                problem.pairs_with(a, near[s2], skip)
                - problem.pairs_with(a, near[s1], skip)
                + problem.pairs_with(b, near[s1], skip)
                - problem.pairs_with(b, near[s2], skip)
            )
            if gain + penalty[s1] + penalty[s2] <= _EPS:
                return False
            before = penalty[s1] + penalty[s2]
        else:
            gain = 0.0
            before = -team.local_value((a, b), (s1, s2))
        team.remove(s1, a)
        team.remove(s2, b)
        team.add(s2, a)
        team.add(s1, b)
        if single(a) and single(b):
            after = team.mentor_penalty(s1) + team.mentor_penalty(s2)
        else:
            after = -team.local_value((a, b), (s1, s2))
        if gain + before - after > _EPS:
            return True
        team.remove(s2, a)
        team.remove(s1, b)
        team.add(s1, a)
        team.add(s2, b)
        return False

    def try_make_room_for_mentor(s: int) -> bool:
        """A first-timer in `s` lacks a mentor and no single move brings one: move a pick x
        from `s` to another slot t in place of a pick y, who leaves, and put an unplaced
        mentor in `s` (e.g. when the picks in `s` have waited and must stay in the team)."""
        mentors = [
            u
            for u in problem.candidates
            if u not in team.places_of
            and s in problem.eligible[u]
            and problem.times(u, s) >= MENTOR_TIMES
        ]
        for mentor in mentors:
            for x in sorted(team.members[s]):
                if (s, x) in pinned or not single(x):
                    continue
                for t in ids:
                    if t == s or not team.may_take(x, t, leaving=s):
                        continue
                    # Of equal moves, the higher user id leaves (ties go to the lower id).
                    for y in sorted(team.members[t], reverse=True):
                        if (t, y) in pinned or not single(y):
                            continue
                        users, slots = (x, y, mentor), (s, t)
                        before = team.local_value(users, slots)
                        team.remove(t, y)
                        team.remove(s, x)
                        team.add(t, x)
                        team.add(s, mentor)
                        if team.local_value(users, slots) > before + _EPS:
                            return True
                        team.remove(s, mentor)
                        team.remove(t, x)
                        team.add(s, x)
                        team.add(t, y)
        return False

    for _ in range(_MAX_ROUNDS):
        improved = False
        refresh()
        for s in ids:
            movable = [u for u in sorted(team.members[s]) if (s, u) not in pinned]
            if not movable:
                continue
            near_s = state["near"][s]
            # The unplaced candidates most worth trying here, by their own value, their pairs
            # with those already beside this slot and whether they could mentor there.
            scored = sorted(
                (
                    -(
                        problem.own_value(u)
                        + problem.pairs_with(u, near_s)
                        + (_W_MENTOR if problem.times(u, s) >= MENTOR_TIMES else 0.0)
                    ),
                    u,
                )
                for u in problem.candidates
                if u not in team.places_of and s in problem.eligible[u]
            )[:_SHORTLIST]
            for _, newcomer in scored:
                for user_id in movable:
                    if user_id not in team.members[s] or newcomer in team.places_of:
                        continue
                    if try_replace(s, user_id, newcomer):
                        improved = True
                        refresh()
                        near_s = state["near"][s]
                        break
        for s in ids:
            if state["penalty"][s] > 0 and try_make_room_for_mentor(s):
                improved = True
                refresh()
        picks = [(s, u) for s, u in team.picks() if (s, u) not in pinned]
        for i, (s1, a) in enumerate(picks):
            for s2, b in picks[i + 1 :]:
                if s1 == s2 or a == b:
                    continue
                if a not in team.members[s1] or b not in team.members[s2]:
                    continue
                if not (team.may_take(a, s2, leaving=s1) and team.may_take(b, s1, leaving=s2)):
                    continue
                if try_swap(s1, a, s2, b):
                    improved = True
                    refresh()
        if not improved:
            break


def suggest_team(data: TeamInput) -> Suggestion:
    """The suggested team for the session's open places, with the reasons for each pick.

    Deterministic: the same input (in any candidate order) gives the same team."""
    problem = _Problem(data)
    team = _fill(problem)
    _improve(problem, team)
    return _explain(problem, team.picks())


def explain_team(data: TeamInput, team: Sequence[tuple[int, int]]) -> Suggestion:
    """The reasons for a team given as (slot id, user id) pairs, e.g. the suggestion after an
    organizer swapped someone: at most two reasons a pick, the most telling first."""
    return _explain(_Problem(data), team)


def _explain(problem: _Problem, team: Sequence[tuple[int, int]]) -> Suggestion:
    built = _Team(problem)
    for slot_id, user_id in dict.fromkeys(team):
        if slot_id in problem.slots:
            built.add(slot_id, user_id)
    pinned = set(problem.pinned)
    picks = []
    for slot_id, user_id in built.picks():
        picks.append(Pick(slot_id, user_id, _reasons(problem, built, slot_id, user_id, pinned)[:2]))
    unfilled = {
        s: problem.slots[s].places - len(built.members[s])
        for s in problem.ids
        if len(built.members[s]) < problem.slots[s].places
    }
    return Suggestion(picks=tuple(picks), unfilled=unfilled)


def _reasons(
    problem: _Problem, team: _Team, slot_id: int, user_id: int, pinned: set[tuple[int, int]]
) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    candidate = problem.candidates.get(user_id)
    if (slot_id, user_id) in pinned:
        reasons.append(Reason("chosen"))
    waited = candidate.offers_without_place if candidate else 0
    if waited >= WAIT_STREAK:
        reasons.append(Reason("waited", count=waited))
    # Who in this slot has done its role: holders and picks, most experienced first.
    experienced = sorted(
        [(h.times_in_role, h.user_id) for h in problem.holders_in[slot_id]]
        + [(problem.times(u, slot_id), u) for u in team.members[slot_id] if u != user_id],
        key=lambda e: (-e[0], e[1]),
    )
    times = problem.times(user_id, slot_id)
    if candidate is not None and times == 0:
        if experienced and experienced[0][0] >= MENTOR_TIMES:
            reasons.append(
                Reason("first_time", other_user_id=experienced[0][1], count=experienced[0][0])
            )
        else:
            reasons.append(Reason("first_time_alone"))
    if times >= MENTOR_TIMES:
        learners = sorted(
            u
            for u in team.members[slot_id]
            if u != user_id and u in problem.candidates and problem.times(u, slot_id) == 0
        )
        if learners:
            reasons.append(Reason("mentor", other_user_id=learners[0]))
    new = sorted(
        (slot_id not in team.places_of.get(w, ()) and w not in _holder_ids(problem, slot_id), w)
        for w in team.beside(user_id)
        if problem.tie(user_id, w) <= 0
    )
    if new:
        reasons.append(Reason("new_pair", other_user_id=new[0][1], count=len(new)))
    if 0 < waited < WAIT_STREAK:
        reasons.append(Reason("waited", count=waited))
    if candidate is not None:
        reasons.append(Reason("fewest_places", count=candidate.recent_places))
    return tuple(reasons)


def _holder_ids(problem: _Problem, slot_id: int) -> set[int]:
    return {h.user_id for h in problem.holders_in[slot_id]}
