#!/usr/bin/env python
"""Benchmark: suggested teams against first-come sign-ups on simulated groups (issue 11 §5).

Run by hand from the repository root; it prints figures and changes nothing in the project:

    .venv/bin/python -m bench.pairing                 # 200 seeds
    .venv/bin/python -m bench.pairing --seeds 20      # a quick look

It runs the project's own `studygroup.signups.teams.suggest_team`, not a copy. For each seed, one
group: 60 members and 24 monthly sessions, each with 6 places: setup 3 (9:00-10:00), reception 2
(9:30-12:00), speaker 1 (10:00-12:00). Side by side: the same slot or overlapping windows (setup
and reception, reception and speaker; setup ends when the talk starts, so those two are not).

The group (drawn once per seed, the same for both ways of filling places):
- each member's chance to be available in a month: 0.08 x Pareto(alpha 1.16), capped at 1 (a
  few regulars available nearly every month, a long tail of occasional helpers; about 14 of 60
  available a month on average);
- the roles they would take: any (half of them), else setup and/or reception, a quarter of
  those also speaker;
- an eagerness: their chance times a log-normal factor (sigma 0.3), so regulars are usually the
  eager ones; each month they answer in order of eagerness times a fresh log-normal factor
  (sigma 0.5): an eager regular usually answers before an occasional helper, not always.

First-come (today's behaviour): in order of answer, each available member takes a free place in a
role they would take, the role they did most so far (habit), else one drawn at random; one place
each; a place nobody reaches stays empty. Suggested: `suggest_team` on the same available members
with this model's own history: ties (sessions side by side), times in each role, places in the
last 6 sessions, and offers in a row without a place (offers, not months: a month the member did
not offer neither counts nor breaks the streak). Each model keeps its own history for 24 months.

Printed for both: distinct pairs formed (side by side at least once), distinct co-workers per
member who offered help (median and 25th percentile over all seeds' members), members who
offered help and never got a place (and of those, who offered 6 times or more), places left
empty (and, for suggestions, places first-come filled in the same month that the suggestion left
empty), first-timers in a role who had a mentor (someone with MENTOR_TIMES times in that role in
the same slot) of those for whom one was available (another available member who would take the
role and had done it MENTOR_TIMES times), and of those without, how many were in a team whose
every member had waited WAIT_STREAK offers and had to be placed (fairness comes first). Then
`suggest_team` alone for one session with 200 candidates and 20 places (median and max of
`--runs` sessions). The last line is `pairs-ratio=<suggested / first-come distinct pairs>`.
"""

import argparse
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from studygroup.signups.teams import (
    MENTOR_TIMES,
    WAIT_STREAK,
    Candidate,
    TeamInput,
    TeamSlot,
    suggest_team,
)

MEMBERS = 60
MONTHS = 24
RECENT_MONTHS = 6
SETUP, RECEPTION, SPEAKER = 1, 2, 3
# (slot id = role id, places, start, end) on the session's day.
ROLES = (
    (SETUP, 3, (9, 0), (10, 0)),
    (RECEPTION, 2, (9, 30), (12, 0)),
    (SPEAKER, 1, (10, 0), (12, 0)),
)
# Slot pairs whose members work side by side.
SIDE = {(a, b) for a in (1, 2, 3) for b in (1, 2, 3) if a == b or {a, b} in ({1, 2}, {2, 3})}


@dataclass
class Group:
    chance: list[float]
    roles: list[frozenset[int] | None]
    # Per month: the available members in order of answer.
    months: list[list[int]]


def make_group(seed: int) -> Group:
    rng = random.Random(seed)
    chance = [min(1.0, 0.08 * rng.paretovariate(1.16)) for _ in range(MEMBERS)]
    roles: list[frozenset[int] | None] = []
    for _ in range(MEMBERS):
        if rng.random() < 0.5:
            roles.append(None)
        else:
            picked = {rng.choice([SETUP, RECEPTION])}
            if rng.random() < 0.4:
                picked = {SETUP, RECEPTION}
            if rng.random() < 0.25:
                picked.add(SPEAKER)
            roles.append(frozenset(picked))
    eagerness = [c * rng.lognormvariate(0, 0.3) for c in chance]
    months = []
    for _ in range(MONTHS):
        available = [m for m in range(MEMBERS) if rng.random() < chance[m]]
        answer = {m: eagerness[m] * rng.lognormvariate(0, 0.5) for m in available}
        months.append(sorted(available, key=lambda m: (-answer[m], m)))
    return Group(chance, roles, months)


def takes(group: Group, member: int, role: int) -> bool:
    return group.roles[member] is None or role in group.roles[member]


@dataclass
class History:
    ties: Counter = field(default_factory=Counter)
    times: defaultdict = field(default_factory=lambda: defaultdict(Counter))
    places_by_month: list[set[int]] = field(default_factory=list)
    streak: Counter = field(default_factory=Counter)
    offers: Counter = field(default_factory=Counter)
    places: Counter = field(default_factory=Counter)
    empty: int = 0
    empty_months: list[int] = field(default_factory=list)
    first_timers: int = 0
    mentor_available: int = 0
    mentored: int = 0
    unmentored_all_waiting: int = 0

    def record(self, group: Group, available: list[int], team: list[tuple[int, int]]) -> None:
        """Adds a month's team (slot = role, member) to the history."""
        for member in available:
            self.offers[member] += 1
        by_slot = defaultdict(list)
        for slot, member in team:
            by_slot[slot].append(member)
        for slot, member in team:
            if self.times[member][slot] == 0:
                self.first_timers += 1
                mentor_there = any(
                    other != member
                    and self.times[other][slot] >= MENTOR_TIMES
                    and takes(group, other, slot)
                    for other in available
                )
                if mentor_there:
                    self.mentor_available += 1
                    if any(self.times[o][slot] >= MENTOR_TIMES for o in by_slot[slot]):
                        self.mentored += 1
                    elif all(self.streak[o] >= WAIT_STREAK for _, o in team):
                        # Every place went to a member who had to get one (fairness first).
                        self.unmentored_all_waiting += 1
        pairs = set()
        for s1, a in team:
            for s2, b in team:
                if a < b and (s1, s2) in SIDE:
                    pairs.add((a, b))
        for pair in pairs:
            self.ties[pair] += 1
        for slot, member in team:
            self.times[member][slot] += 1
            self.places[member] += 1
        placed = {member for _, member in team}
        for member in available:
            self.streak[member] = 0 if member in placed else self.streak[member] + 1
        self.places_by_month.append(placed)
        empty = sum(places for _, places, _, _ in ROLES) - len(team)
        self.empty += empty
        self.empty_months.append(empty)

    def recent(self, member: int) -> int:
        return sum(member in month for month in self.places_by_month[-RECENT_MONTHS:])


def first_come(group: Group, history: History, available: list[int], rng: random.Random):
    free = {role: places for role, places, _, _ in ROLES}
    team = []
    for member in available:
        open_roles = [r for r in free if free[r] > 0 and takes(group, member, r)]
        if not open_roles:
            continue
        done = history.times[member]
        most = max(done[r] for r in open_roles)
        habit = [r for r in open_roles if done[r] == most]
        role = habit[0] if most > 0 and len(habit) == 1 else rng.choice(habit)
        free[role] -= 1
        team.append((role, member))
    return team


def slots_for(day: datetime, places=None) -> tuple[TeamSlot, ...]:
    return tuple(
        TeamSlot(
            role,
            role,
            day.replace(hour=start[0], minute=start[1]),
            day.replace(hour=end[0], minute=end[1]),
            count if places is None else places[role],
        )
        for role, count, start, end in ROLES
    )


def suggested(group: Group, history: History, available: list[int], day: datetime):
    data = TeamInput(
        slots=slots_for(day),
        candidates=tuple(
            Candidate(
                user_id=m,
                roles=group.roles[m],
                times_in_role=dict(history.times[m]),
                recent_places=history.recent(m),
                offers_without_place=history.streak[m],
            )
            for m in available
        ),
        ties=history.ties,
    )
    return [(p.slot_id, p.user_id) for p in suggest_team(data).picks]


@dataclass
class Totals:
    pairs: list[int] = field(default_factory=list)
    coworkers: list[int] = field(default_factory=list)
    never: int = 0
    never_6: int = 0
    empty: int = 0
    first_timers: int = 0
    mentor_available: int = 0
    mentored: int = 0
    unmentored_all_waiting: int = 0

    def add(self, history: History) -> None:
        self.pairs.append(sum(1 for n in history.ties.values() if n))
        partners = defaultdict(set)
        for a, b in history.ties:
            partners[a].add(b)
            partners[b].add(a)
        for member in history.offers:
            self.coworkers.append(len(partners[member]))
            if history.places[member] == 0:
                self.never += 1
                if history.offers[member] >= 6:
                    self.never_6 += 1
        self.empty += history.empty
        self.first_timers += history.first_timers
        self.mentor_available += history.mentor_available
        self.mentored += history.mentored
        self.unmentored_all_waiting += history.unmentored_all_waiting


def quantile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def simulate(seeds: int) -> tuple[Totals, Totals, int, float]:
    fc, sg = Totals(), Totals()
    worse_empty = 0
    started = time.perf_counter()
    for seed in range(seeds):
        group = make_group(seed)
        rng = random.Random(seed * 7919 + 1)
        first, mine = History(), History()
        day = datetime(2027, 1, 16, tzinfo=UTC)
        for available in group.months:
            first.record(group, available, first_come(group, first, available, rng))
            mine.record(group, available, suggested(group, mine, available, day))
            worse_empty += max(0, mine.empty_months[-1] - first.empty_months[-1])
            day += timedelta(days=28)
        fc.add(first)
        sg.add(mine)
    return fc, sg, worse_empty, time.perf_counter() - started


def big_session(seed: int) -> TeamInput:
    """200 candidates of a large group with a long history, 20 places in five slots."""
    rng = random.Random(seed)
    day = datetime(2027, 1, 16, tzinfo=UTC)
    windows = [(9, 10, 6), (9, 12, 5), (10, 12, 2), (12, 13, 4), (13, 15, 3)]
    slots = tuple(
        TeamSlot(i, i, day.replace(hour=a), day.replace(hour=b), n)
        for i, (a, b, n) in enumerate(windows, 1)
    )
    candidates = tuple(
        Candidate(
            user_id=u,
            roles=None if rng.random() < 0.5 else frozenset(rng.sample(range(1, 6), 2)),
            times_in_role={r: int(rng.paretovariate(1.5)) - 1 for r in range(1, 6)},
            recent_places=rng.choice([0, 0, 0, 1, 1, 2, 3, 5]),
            offers_without_place=rng.choice([0, 0, 0, 0, 1, 2, 3]),
        )
        for u in range(1, 201)
    )
    ties = {
        (a, b): rng.randint(1, 6)
        for a in range(1, 201)
        for b in range(a + 1, 201)
        if rng.random() < 0.15
    }
    return TeamInput(slots=slots, candidates=candidates, ties=ties)


def time_big(runs: int) -> list[float]:
    timings = []
    for run in range(runs):
        data = big_session(run)
        started = time.perf_counter()
        suggestion = suggest_team(data)
        timings.append(time.perf_counter() - started)
        assert len(suggestion.picks) == 20, suggestion.unfilled
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of the large session")
    args = parser.parse_args()
    fc, sg, worse_empty, took = simulate(args.seeds)
    members = args.seeds * MEMBERS
    print(
        f"{args.seeds} seeds x {MONTHS} months, {MEMBERS} members, 6 places a month "
        f"(simulated in {took:.1f} s)"
    )
    print(f"{'':38} {'first-come':>12} {'suggested':>12}")

    def row(label: str, a, b) -> None:
        print(f"{label:38} {a:>12} {b:>12}")

    row(
        "distinct pairs (mean a group)",
        f"{statistics.mean(fc.pairs):.1f}",
        f"{statistics.mean(sg.pairs):.1f}",
    )
    row(
        "co-workers a member: median / p25",
        f"{quantile(fc.coworkers, 0.5):.0f} / {quantile(fc.coworkers, 0.25):.0f}",
        f"{quantile(sg.coworkers, 0.5):.0f} / {quantile(sg.coworkers, 0.25):.0f}",
    )
    row("offered help, never a place", fc.never, sg.never)
    row("  ... of whom offered >= 6 times", fc.never_6, sg.never_6)
    row("places left empty", fc.empty, sg.empty)
    row("  ... where first-come filled them", "-", worse_empty)
    row(
        "first-timers with a mentor / available",
        f"{fc.mentored}/{fc.mentor_available}",
        f"{sg.mentored}/{sg.mentor_available}",
    )
    row(
        "  ... without, all 6 places to waiters",
        fc.unmentored_all_waiting,
        sg.unmentored_all_waiting,
    )
    row("first-timers in all", fc.first_timers, sg.first_timers)
    print(f"(members who offered help: {len(fc.coworkers)} of {members})")
    timings = time_big(args.runs)
    ratio = sum(sg.pairs) / sum(fc.pairs)
    print(
        f"suggest_team, 200 candidates / 20 places, {args.runs} runs: "
        f"median {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms"
        f" (target < 200 ms)"
    )
    targets = [
        ("pairs >= 3x first-come", ratio >= 3),
        ("no place left empty that first-come filled", worse_empty == 0),
        ("nobody who offered 6 times left without a place", sg.never_6 == 0),
        ("every first-timer with a mentor where available", sg.mentored == sg.mentor_available),
        ("suggestion < 200 ms", max(timings) < 0.2),
    ]
    for label, met in targets:
        print(f"{'MET   ' if met else 'MISSED'} {label}")
    print(f"pairs-ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
