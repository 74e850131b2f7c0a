"""The suggested team for a session's formed roles: plain functions over plain data.

No database and no request here: `studygroup.signups.forming` gathers the data from the
database, and `bench/pairing.py` runs these same functions on simulated groups. The same
input always gives the same team.
"""

from collections.abc import Mapping
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
