"""The suggested team (signups/teams.py, issue 11 §3): a plain function over plain data, so
these tests build the input by hand and need no database."""

import random
from datetime import UTC, datetime

from studygroup.signups.teams import (
    MENTOR_TIMES,
    Candidate,
    Holder,
    Reason,
    TeamInput,
    TeamSlot,
    explain_team,
    suggest_team,
)

SETUP, RECEPTION, SPEAKER, CLEANUP = 10, 20, 30, 40


def at(hour, minute=0):
    return datetime(2026, 12, 19, hour, minute, tzinfo=UTC)


def setup(places=3, slot_id=1):
    return TeamSlot(slot_id, SETUP, at(9), at(10), places)


def reception(places=2, slot_id=2):
    return TeamSlot(slot_id, RECEPTION, at(9, 30), at(12), places)


def speaker(places=1, slot_id=3):
    return TeamSlot(slot_id, SPEAKER, at(10), at(12), places)


def cleanup(places=1, slot_id=4):
    return TeamSlot(slot_id, CLEANUP, at(12), at(13), places)


def team_of(suggestion):
    return sorted((p.slot_id, p.user_id) for p in suggestion.picks)


def members(suggestion, slot_id=None):
    return sorted(p.user_id for p in suggestion.picks if slot_id in (None, p.slot_id))


def reasons_of(suggestion, user_id):
    return [p.reasons for p in suggestion.picks if p.user_id == user_id][0]


# Constraints, one by one


def test_only_roles_a_member_would_take():
    data = TeamInput(
        slots=(setup(1), speaker(1)),
        candidates=(
            Candidate(1, roles=frozenset({SPEAKER})),
            Candidate(2, roles=frozenset({SETUP})),
        ),
    )
    assert team_of(suggest_team(data)) == [(1, 2), (3, 1)]


def test_nobody_for_a_role_leaves_it_unfilled():
    data = TeamInput(
        slots=(setup(2), speaker(1)),
        candidates=(Candidate(1, roles=frozenset({SETUP})), Candidate(2, roles=frozenset({SETUP}))),
    )
    suggestion = suggest_team(data)
    assert team_of(suggestion) == [(1, 1), (1, 2)]
    assert suggestion.unfilled == {3: 1}


def test_never_a_blocked_slot():
    data = TeamInput(
        slots=(setup(1), reception(1)),
        candidates=(
            Candidate(1, blocked_slots=frozenset({1}), roles=frozenset({SETUP, SPEAKER})),
            Candidate(2, recent_places=5),
        ),
    )
    suggestion = suggest_team(data)
    assert team_of(suggestion) == [(1, 2)]
    assert suggestion.unfilled == {2: 1}


def test_never_an_excluded_pick():
    data = TeamInput(
        slots=(setup(1),),
        candidates=(Candidate(1, recent_places=0), Candidate(2, recent_places=5)),
        excluded=((1, 1),),
    )
    assert team_of(suggest_team(data)) == [(1, 2)]


def test_never_more_than_the_head_count():
    data = TeamInput(
        slots=(setup(2), reception(1)),
        candidates=tuple(Candidate(u) for u in range(1, 11)),
    )
    suggestion = suggest_team(data)
    assert len(members(suggestion, 1)) == 2
    assert len(members(suggestion, 2)) == 1
    assert len(set(members(suggestion))) == 3  # one place each: enough candidates
    assert suggestion.unfilled == {}


def test_pinned_picks_stay_and_count_as_taken():
    data = TeamInput(
        slots=(setup(2),),
        candidates=(
            Candidate(1, offers_without_place=3),
            Candidate(2, offers_without_place=3),
            Candidate(3, recent_places=9),
        ),
        pinned=((1, 3),),
    )
    suggestion = suggest_team(data)
    assert 3 in members(suggestion, 1)
    assert len(members(suggestion, 1)) == 2
    assert reasons_of(suggestion, 3)[0] == Reason("chosen")


def test_holders_are_no_candidates_but_count_as_side_by_side():
    data = TeamInput(
        slots=(setup(1), reception(0)),
        candidates=(Candidate(1), Candidate(2), Candidate(3)),
        holders=(Holder(3, 2),),
        # 1 worked with the holder before, 2 never did.
        ties={(1, 3): 2},
    )
    suggestion = suggest_team(data)
    assert team_of(suggestion) == [(1, 2)]
    assert Reason("new_pair", other_user_id=3, count=1) in reasons_of(suggestion, 2)


def test_one_place_a_member_while_others_can_take_it():
    # 1 could take both (the windows do not overlap), but 2 can take one.
    data = TeamInput(
        slots=(setup(1), cleanup(1)),
        candidates=(Candidate(1, recent_places=0), Candidate(2, recent_places=8)),
    )
    suggestion = suggest_team(data)
    assert members(suggestion) == [1, 2]
    assert suggestion.unfilled == {}


def test_a_second_place_only_when_it_would_stay_empty_and_never_overlapping():
    # setup 9-10 and cleanup 12-13 do not overlap; reception 9:30-12 overlaps setup.
    data = TeamInput(
        slots=(setup(1), reception(1), cleanup(1)),
        candidates=(Candidate(1, roles=frozenset({SETUP, CLEANUP, RECEPTION})),),
    )
    suggestion = suggest_team(data)
    assert team_of(suggestion) == [(1, 1), (4, 1)] or team_of(suggestion) == [(2, 1), (4, 1)]
    assert suggestion.unfilled in ({2: 1}, {1: 1})


def test_touching_windows_are_not_an_overlap():
    data = TeamInput(slots=(setup(1), speaker(1)), candidates=(Candidate(1),))
    assert team_of(suggest_team(data)) == [(1, 1), (3, 1)]


# Fairness


def test_a_member_who_waited_twice_gets_a_place():
    data = TeamInput(
        slots=(setup(2),),
        candidates=(
            # 1 and 2 worked least and would form new pairs; 9 waited twice in a row.
            Candidate(1),
            Candidate(2),
            Candidate(9, recent_places=6, offers_without_place=2),
        ),
        ties={(1, 9): 4, (2, 9): 4},
    )
    suggestion = suggest_team(data)
    assert 9 in members(suggestion)
    assert reasons_of(suggestion, 9)[0] == Reason("waited", count=2)


def test_a_waiting_member_is_placed_even_if_others_must_move():
    # 5 can only do setup; 1 can do either: 1 moves to reception to make room.
    data = TeamInput(
        slots=(setup(1), reception(1)),
        candidates=(
            Candidate(1, offers_without_place=2),
            Candidate(5, roles=frozenset({SETUP}), offers_without_place=2, recent_places=3),
            Candidate(7, roles=frozenset({RECEPTION})),
        ),
    )
    assert team_of(suggest_team(data)) == [(1, 5), (2, 1)]


def test_fewer_recent_places_first():
    data = TeamInput(
        slots=(setup(1),),
        candidates=(
            Candidate(1, times_in_role={SETUP: 1}, recent_places=4),
            Candidate(2, times_in_role={SETUP: 1}, recent_places=1),
        ),
    )
    assert team_of(suggest_team(data)) == [(1, 2)]
    assert reasons_of(suggest_team(data), 2) == (Reason("fewest_places", count=1),)


def test_equal_candidates_are_broken_by_user_id():
    data = TeamInput(slots=(setup(1),), candidates=(Candidate(8), Candidate(3), Candidate(5)))
    assert team_of(suggest_team(data)) == [(1, 3)]


# Mentoring


def test_a_first_timer_is_put_beside_a_mentor():
    data = TeamInput(
        slots=(setup(2), reception(2)),
        candidates=(
            Candidate(1, times_in_role={SETUP: 0, RECEPTION: 5}),  # first time at setup
            Candidate(2, times_in_role={SETUP: 6, RECEPTION: 0}),  # first time at reception
            Candidate(3, times_in_role={SETUP: MENTOR_TIMES, RECEPTION: 1}),
            Candidate(4, times_in_role={SETUP: 1, RECEPTION: MENTOR_TIMES + 4}),
        ),
        # All four know each other equally well: only mentoring decides.
        ties={(a, b): 1 for a in range(1, 5) for b in range(a + 1, 5)},
    )
    suggestion = suggest_team(data)
    for slot_id, _ in team_of(suggestion):
        inside = members(suggestion, slot_id)
        role = SETUP if slot_id == 1 else RECEPTION
        times = {c.user_id: c.times_in_role[role] for c in data.candidates}
        if any(times[u] == 0 for u in inside):
            assert any(times[u] >= MENTOR_TIMES for u in inside), (slot_id, inside)


def test_a_mentor_is_preferred_over_new_pairs_when_a_first_timer_is_placed():
    # Setup needs both: 1 is a first-timer; 2 (new pair with 1, no experience) or 3 (the
    # mentor, who worked with 1 before) takes the other place.
    data = TeamInput(
        slots=(setup(2),),
        candidates=(
            Candidate(1, offers_without_place=2),
            Candidate(2, times_in_role={SETUP: 1}),
            Candidate(3, times_in_role={SETUP: 4}, recent_places=2),
        ),
        ties={(1, 3): 2},
    )
    suggestion = suggest_team(data)
    assert members(suggestion) == [1, 3]
    assert Reason("first_time", other_user_id=3, count=4) in reasons_of(suggestion, 1)
    assert Reason("mentor", other_user_id=1) in reasons_of(suggestion, 3)


def test_a_waiting_member_moves_over_to_make_room_for_a_mentor():
    # Reception: 1 (first time, waited) and 2 (waited, can do either role); setup: 3 and 4
    # (setup only). The reception mentor 5 worked most lately; no single swap or replacement
    # brings them in without leaving a waiting member out: 2 moves to setup instead of 4.
    data = TeamInput(
        slots=(setup(2), reception(2)),
        candidates=(
            Candidate(1, roles=frozenset({RECEPTION}), offers_without_place=2),
            Candidate(2, times_in_role={SETUP: 1, RECEPTION: 1}, offers_without_place=2),
            Candidate(3, roles=frozenset({SETUP}), times_in_role={SETUP: 1}),
            Candidate(4, roles=frozenset({SETUP}), times_in_role={SETUP: 1}),
            Candidate(
                5, roles=frozenset({RECEPTION}), times_in_role={RECEPTION: 6}, recent_places=5
            ),
        ),
        ties={(a, b): 1 for a in range(1, 6) for b in range(a + 1, 6)},
    )
    suggestion = suggest_team(data)
    assert members(suggestion, 2) == [1, 5]
    assert members(suggestion, 1) == [2, 3]
    assert reasons_of(suggestion, 1) == (
        Reason("waited", count=2),
        Reason("first_time", other_user_id=5, count=6),
    )


def test_a_holder_mentors_too():
    data = TeamInput(
        slots=(setup(1),),
        candidates=(Candidate(1),),
        holders=(Holder(50, 1, times_in_role=8),),
    )
    suggestion = suggest_team(data)
    assert reasons_of(suggestion, 1)[0] == Reason("first_time", other_user_id=50, count=8)


def test_first_time_alone_when_no_mentor_is_there():
    data = TeamInput(slots=(speaker(1),), candidates=(Candidate(1),))
    assert reasons_of(suggest_team(data), 1)[0] == Reason("first_time_alone")


# New pairs


def test_new_pairs_over_repeat_pairs():
    # 1 holds reception; 2 worked beside 1 three times, 3 never did: 3 gets setup.
    data = TeamInput(
        slots=(setup(1), reception(0)),
        candidates=(
            Candidate(2, times_in_role={SETUP: 1}),
            Candidate(3, times_in_role={SETUP: 1}),
        ),
        holders=(Holder(1, 2),),
        ties={(1, 2): 3},
    )
    suggestion = suggest_team(data)
    assert team_of(suggestion) == [(1, 3)]
    assert reasons_of(suggestion, 3)[0] == Reason("new_pair", other_user_id=1, count=1)


def test_the_team_with_most_new_pairs():
    # Two crews of regulars (1-2-3 and 4-5-6 know each other well): the suggestion mixes
    # them so that every pair in a slot is new.
    crew = {(1, 2): 5, (1, 3): 5, (2, 3): 5, (4, 5): 5, (4, 6): 5, (5, 6): 5}
    data = TeamInput(
        slots=(
            TeamSlot(1, SETUP, at(9), at(10), 2),
            TeamSlot(2, SETUP, at(14), at(15), 2),
            TeamSlot(3, SETUP, at(18), at(19), 2),
        ),
        candidates=tuple(Candidate(u, times_in_role={SETUP: 1}) for u in range(1, 7)),
        ties=crew,
    )
    suggestion = suggest_team(data)
    for slot_id in (1, 2, 3):
        a, b = members(suggestion, slot_id)
        assert (a, b) not in crew


# Determinism


def _big_input(seed=3):
    rng = random.Random(seed)
    slots = (setup(3), reception(2), speaker(1), cleanup(2))
    candidates = tuple(
        Candidate(
            u,
            roles=None if rng.random() < 0.6 else frozenset(rng.sample([SETUP, RECEPTION], 1)),
            times_in_role={r: rng.choice([0, 0, 1, 3, 6]) for r in (SETUP, RECEPTION, SPEAKER)},
            recent_places=rng.randint(0, 3),
            offers_without_place=rng.choice([0, 0, 1, 2]),
        )
        for u in range(1, 31)
    )
    ties = {
        (a, b): rng.randint(1, 4)
        for a in range(1, 31)
        for b in range(a + 1, 31)
        if rng.random() < 0.3
    }
    return TeamInput(slots=slots, candidates=candidates, ties=ties)


def test_same_input_same_team_in_any_candidate_order():
    data = _big_input()
    first = suggest_team(data)
    assert suggest_team(data) == first
    shuffled = list(data.candidates)
    random.Random(9).shuffle(shuffled)
    again = suggest_team(
        TeamInput(
            slots=data.slots, candidates=tuple(shuffled), ties=dict(reversed(data.ties.items()))
        )
    )
    assert again == first
    assert len(first.picks) == 8 and first.unfilled == {}


def test_explain_a_swapped_team():
    data = _big_input()
    suggestion = suggest_team(data)
    assert explain_team(data, team_of(suggestion)).picks == tuple(
        sorted(suggestion.picks, key=lambda p: (p.slot_id, p.user_id))
    )
    # The organizer swaps the setup pick with most places out for an unplaced candidate.
    placed = set(members(suggestion))
    out = members(suggestion, 1)[0]
    newcomer = next(c for c in data.candidates if c.user_id not in placed and c.roles is None)
    swapped = [(s, newcomer.user_id if (s, u) == (1, out) else u) for s, u in team_of(suggestion)]
    explained = explain_team(data, swapped)
    assert team_of(explained) == sorted(swapped)
    assert newcomer.user_id in members(explained, 1) and out not in members(explained)
    for pick in explained.picks:
        assert 1 <= len(pick.reasons) <= 2
        for reason in pick.reasons:
            if reason.kind == "new_pair":
                assert data.ties.get(tuple(sorted((pick.user_id, reason.other_user_id))), 0) == 0
                assert reason.other_user_id != out


def test_every_pick_has_one_or_two_reasons():
    suggestion = suggest_team(_big_input(seed=5))
    assert all(1 <= len(p.reasons) <= 2 for p in suggestion.picks)
