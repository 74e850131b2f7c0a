"""Forming a session's team: the data for the suggestion, organizers' swaps, accepting the
team in one step, and refilling a place given up afterwards.

The suggestion itself is a plain function over plain data (`studygroup.signups.teams`);
this module reads what it needs from the database in a fixed number of queries
(`team_input`) and turns its answer into places. Functions flush; the caller commits and
then sends the queued emails (`commit_and_send`). A little over our ~500 lines on purpose:
the input, the organizers' swaps and the accept are one step that shares `Team`, its context
and the reasons a member is left out; apart, each part would be read only with the others.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.coworking.ties import tie_rows
from studygroup.mail.services import queue_email
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.sessions.services import get_session
from studygroup.signups import teams
from studygroup.signups.availability import current_availability, offers_without_place
from studygroup.signups.models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    Availability,
    TeamChoice,
    TeamChoiceKind,
)
from studygroup.signups.places import SlotStaffing, blocking_place, lock_slot, staffing_for
from studygroup.signups.records import _log, counts_as_worked
from studygroup.signups.teams import Candidate, Holder, Suggestion, TeamInput, TeamSlot

# "Recent places": worked in the group in this many days before the session.
RECENT = timedelta(days=183)

# Why a member who can help is not in the suggested team (worded by `team_words`).
NO_SHOW = "no_show"  # over the group's no-show limit
PREFERS_OTHER_ROLES = "prefers_other_roles"  # none of the roles they would take is open
OVERLAP = "overlap"  # holds a place whose time overlaps every open role
HAS_PLACE = "has_place"  # already holds (or waits for) a place in every open role
ROLES_FULL = "roles_full"  # the roles they would take have no open place
SWAPPED_OUT = "swapped_out"  # an organizer swapped them out
NOT_CHOSEN = "not_chosen"  # others were suggested for the open places


@dataclass
class TeamContext:
    """What the team page and the emails need besides the suggestion's input: the session
    with its slots, the formed ones, their staffing, people by id, and who cannot be
    suggested and why (user id -> reason)."""

    session: StudySession
    formed: list[RoleSlot]
    staffing: dict[int, SlotStaffing]
    users: dict[int, User]
    availability: dict[int, Availability]
    not_candidates: dict[int, str] = field(default_factory=dict)

    @property
    def slots(self) -> dict[int, RoleSlot]:
        return {slot.id: slot for slot in self.session.slots}


def is_formed_slot(slot: RoleSlot) -> bool:
    return slot.role_type.is_formed and not slot.role_type.is_retired


def has_formed_roles(session: StudySession) -> bool:
    """Whether any role of the session is formed by organizers (its slots must be loaded)."""
    return any(is_formed_slot(slot) for slot in session.slots)


def team_input(
    db_session: Session,
    session: StudySession,
    *,
    now: datetime,
    pinned=(),
    excluded=(),
) -> tuple[TeamInput, TeamContext]:
    """The suggestion's data for `session`, read in a fixed number of queries however many
    members can help: every slot (places only in formed roles that are not retired: head-
    count minus confirmed), the holders of confirmed places, and the members who said they
    can help (active members, not over the no-show limit, with at least one formed role
    they would take), with their history in the group, their offers without a place and
    the ties among them all. Pins of members who cannot take the slot any more are left
    out. The session is read again with its slots."""
    group = session.group
    session = get_session(db_session, group, session.id)
    formed = [slot for slot in session.slots if is_formed_slot(slot)]
    formed_roles = {slot.role_type_id for slot in formed}
    staffing = staffing_for(db_session, [session])
    live_by_user: dict[int, list[Assignment]] = defaultdict(list)
    for s in staffing.values():
        for place in (*s.confirmed, *s.waitlist, *s.requested):
            live_by_user[place.user_id].append(place)

    offered = {
        user_id: a
        for user_id, a in current_availability(db_session, [session]).get(session.id, {}).items()
        if a.can_help
    }
    users: dict[int, User] = {
        place.user_id: place.user for s in staffing.values() for place in s.confirmed
    }
    # Only active members' answers, with their member loaded (`current_availability`).
    users.update({user_id: a.user for user_id, a in offered.items()})

    not_candidates: dict[int, str] = {}
    if group.no_show_limit is not None and offered:
        for user_id, count in _no_shows(db_session, group.id, list(offered)):
            if count >= group.no_show_limit:
                not_candidates[user_id] = NO_SHOW
    for user_id, a in offered.items():
        prefers = a.role_type_ids
        if user_id not in not_candidates and prefers is not None and not prefers & formed_roles:
            not_candidates[user_id] = PREFERS_OTHER_ROLES
    candidate_ids = sorted(set(offered) - set(not_candidates))

    holder_ids = {p.user_id for s in staffing.values() for p in s.confirmed}
    people = sorted(set(candidate_ids) | holder_ids)
    times, recent = _history(db_session, group.id, people, now=now, since=session.starts_at)
    waited = (
        offers_without_place(db_session, group, candidate_ids, before=session.starts_at)
        if candidate_ids
        else {}
    )

    candidates = []
    for user_id in candidate_ids:
        places = live_by_user.get(user_id, [])
        blocked = {p.slot_id for p in places} | {
            slot.id for slot in session.slots if blocking_place(places, slot) is not None
        }
        prefers = offered[user_id].role_type_ids
        candidates.append(
            Candidate(
                user_id=user_id,
                roles=None if prefers is None else frozenset(prefers & formed_roles),
                blocked_slots=frozenset(blocked),
                times_in_role=dict(times.get(user_id, {})),
                recent_places=recent.get(user_id, 0),
                offers_without_place=waited.get(user_id, 0),
            )
        )
    by_id = {c.user_id: c for c in candidates}
    slot_of = {slot.id: slot for slot in session.slots}
    holders = tuple(
        Holder(
            user_id=place.user_id,
            slot_id=slot_id,
            times_in_role=times.get(place.user_id, {}).get(slot_of[slot_id].role_type_id, 0),
        )
        for slot_id, s in staffing.items()
        for place in s.confirmed
    )
    team_slots = tuple(
        TeamSlot(
            slot_id=slot.id,
            role_type_id=slot.role_type_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            places=(
                max(slot.headcount - len(staffing[slot.id].confirmed), 0)
                if is_formed_slot(slot)
                else 0
            ),
        )
        for slot in session.slots
    )
    formed_ids = {slot.id for slot in formed}
    data = TeamInput(
        slots=team_slots,
        candidates=tuple(candidates),
        holders=holders,
        ties=_ties(db_session, group.id, people, now=now),
        pinned=tuple(
            (slot_id, user_id)
            for slot_id, user_id in pinned
            if slot_id in formed_ids
            and user_id in by_id
            and can_take(by_id[user_id], slot_of[slot_id])
        ),
        excluded=tuple((s, u) for s, u in excluded if s in formed_ids),
    )
    context = TeamContext(
        session=session,
        formed=formed,
        staffing=staffing,
        users=users,
        availability=offered,
        not_candidates=not_candidates,
    )
    return data, context


def can_take(candidate: Candidate, slot: RoleSlot) -> bool:
    """Whether the member could be given a place in `slot` (its role is one they would
    take, and no place of theirs blocks it)."""
    return slot.id not in candidate.blocked_slots and (
        candidate.roles is None or slot.role_type_id in candidate.roles
    )


def _no_shows(db_session: Session, group_id: int, user_ids: list[int]):
    return db_session.execute(
        sa.select(Assignment.user_id, sa.func.count())
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            Assignment.user_id.in_(user_ids),
            StudySession.group_id == group_id,
            StudySession.status == SessionStatus.SCHEDULED,
            Assignment.attendance == Attendance.NO_SHOW,
        )
        .group_by(Assignment.user_id)
    ).all()


def _history(db_session: Session, group_id: int, user_ids: list[int], *, now, since):
    """Times each member worked each role in the group, and their places worked in the
    recent months before the session (`RECENT`), in one query."""
    times: dict[int, dict[int, int]] = defaultdict(dict)
    recent: dict[int, int] = defaultdict(int)
    if not user_ids:
        return times, recent
    rows = db_session.execute(
        sa.select(
            Assignment.user_id,
            RoleSlot.role_type_id,
            sa.func.count(),
            sa.func.sum(sa.case((StudySession.starts_at >= since - RECENT, 1), else_=0)),
        )
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            Assignment.user_id.in_(user_ids),
            StudySession.group_id == group_id,
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at <= now,
            counts_as_worked(),
        )
        .group_by(Assignment.user_id, RoleSlot.role_type_id)
    )
    for user_id, role_type_id, count, lately in rows:
        times[user_id][role_type_id] = count
        recent[user_id] += int(lately or 0)
    return times, recent


def _ties(db_session: Session, group_id: int, user_ids: list[int], *, now) -> dict:
    """Sessions each pair of these members worked side by side in the group, by (lower id,
    higher id): the co-working tie table up to its watermark and the sessions since counted
    live, in one query."""
    # The tie table's reader: coworking sits above signups, and answers this one question.

    if len(user_ids) < 2:
        return {}
    rows = tie_rows(users=user_ids, others=user_ids, group_id=group_id, now=now)
    side = sa.func.coalesce(sa.func.sum(rows.c.side), 0) + sa.func.count(
        sa.distinct(rows.c.live_side)
    )
    result = db_session.execute(
        sa.select(rows.c.user_id, rows.c.other_id, side)
        .where(rows.c.user_id < rows.c.other_id)
        .group_by(rows.c.user_id, rows.c.other_id)
    )
    return {(a, b): int(n) for a, b, n in result if n}


# --- organizers' choices ------------------------------------------------------------------


def current_choices(db_session: Session, session: StudySession):
    """The organizers' current swaps: (pinned, excluded), each ((slot id, user id), ...)."""
    rows = db_session.execute(
        sa.select(TeamChoice.slot_id, TeamChoice.user_id, TeamChoice.kind)
        .where(TeamChoice.session_id == session.id, TeamChoice.ended_at.is_(None))
        .order_by(TeamChoice.id)
    ).all()
    pinned = tuple((s, u) for s, u, kind in rows if kind == TeamChoiceKind.PINNED)
    excluded = tuple((s, u) for s, u, kind in rows if kind == TeamChoiceKind.EXCLUDED)
    return pinned, excluded


@dataclass
class Team:
    """The suggested team for a session as the organizers see it now (their swaps applied):
    the suggestion, its input and context, who can help but is not in it (user id ->
    reason), and `key`, which names this team (an accept checks it is still the same)."""

    data: TeamInput
    context: TeamContext
    suggestion: Suggestion
    unsuggested: dict[int, str]

    @property
    def key(self) -> str:
        picks = sorted((p.slot_id, p.user_id) for p in self.suggestion.picks)
        text = ",".join(f"{s}:{u}" for s, u in picks)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def picks_for(self, slot_id: int):
        return [p for p in self.suggestion.picks if p.slot_id == slot_id]

    def swap_choices(self, slot_id: int) -> list[User]:
        """Members who can help and could take a place in this slot instead of a pick."""
        slot = self.context.slots[slot_id]
        picked = {p.user_id for p in self.picks_for(slot_id)}
        excluded = set(self.data.excluded)
        found = [
            self.context.users[c.user_id]
            for c in self.data.candidates
            if c.user_id not in picked
            and (slot_id, c.user_id) not in excluded
            and can_take(c, slot)
        ]
        return sorted(found, key=lambda u: (u.display_name.casefold(), u.id))


def suggested_team(db_session: Session, session: StudySession, *, now: datetime) -> Team:
    """The team the organizers see: their swaps, the data, the suggestion."""
    pinned, excluded = current_choices(db_session, session)
    data, context = team_input(db_session, session, now=now, pinned=pinned, excluded=excluded)
    suggestion = teams.suggest_team(data)
    return Team(data, context, suggestion, _unsuggested(data, context, suggestion))


def _unsuggested(data: TeamInput, context: TeamContext, suggestion: Suggestion) -> dict[int, str]:
    picked = {p.user_id for p in suggestion.picks}
    open_slots = [
        context.slots[s.slot_id]
        for s in data.slots
        if s.places > 0 or any(p.slot_id == s.slot_id for p in suggestion.picks)
    ]
    excluded = set(data.excluded)
    result = dict(context.not_candidates)
    for c in data.candidates:
        if c.user_id in picked:
            continue
        wanted = [s for s in open_slots if c.roles is None or s.role_type_id in c.roles]
        if not wanted:
            result[c.user_id] = ROLES_FULL
            continue
        free = [s for s in wanted if s.id not in c.blocked_slots]
        if not free:
            live = {
                p.slot_id
                for st in context.staffing.values()
                for p in (*st.confirmed, *st.waitlist, *st.requested)
                if p.user_id == c.user_id
            }
            result[c.user_id] = HAS_PLACE if all(s.id in live for s in wanted) else OVERLAP
        elif all((s.id, c.user_id) in excluded for s in free):
            result[c.user_id] = SWAPPED_OUT
        else:
            result[c.user_id] = NOT_CHOSEN
    return result


def swap(
    db_session: Session,
    *,
    organizer: User,
    session: StudySession,
    slot: RoleSlot,
    out_user_id: int,
    in_user_id: int,
    now: datetime,
) -> None:
    """Swap `out_user_id` for `in_user_id` in `slot` of the suggested team, for every
    organizer: the one out is not suggested there again, the one in is kept there. Refuses
    (RuleViolation, field "user_id") someone who cannot take the place."""
    team = suggested_team(db_session, session, now=now)
    if not any(u.id == in_user_id for u in team.swap_choices(slot.id)):
        raise RuleViolation(_l("This member cannot take this place. Choose another."), "user_id")
    _end_choices(db_session, session, slot.id, out_user_id, now=now)
    _end_choices(db_session, session, slot.id, in_user_id, now=now)
    for user_id, kind in (
        (out_user_id, TeamChoiceKind.EXCLUDED),
        (in_user_id, TeamChoiceKind.PINNED),
    ):
        db_session.add(
            TeamChoice(
                session_id=session.id,
                slot_id=slot.id,
                user_id=user_id,
                kind=kind,
                chosen_by_id=organizer.id,
                created_at=now,
            )
        )
    db_session.flush()


def _end_choices(db_session: Session, session, slot_id: int, user_id: int, *, now) -> None:
    db_session.execute(
        sa.update(TeamChoice)
        .where(
            TeamChoice.session_id == session.id,
            TeamChoice.slot_id == slot_id,
            TeamChoice.user_id == user_id,
            TeamChoice.ended_at.is_(None),
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )


def reset_choices(db_session: Session, *, session: StudySession, now: datetime) -> int:
    """End every swap of the session's team: the plain suggestion again. Returns how many."""
    result = db_session.execute(
        sa.update(TeamChoice)
        .where(TeamChoice.session_id == session.id, TeamChoice.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# --- accepting and refilling --------------------------------------------------------------


class TeamChanged(RuleViolation):
    """Nothing was saved: the team is not the one the organizer saw (someone's availability,
    a place or another organizer's swap changed it). They look again and accept again."""

    def __init__(self):
        super().__init__(
            _l("The suggested team has changed since you saw it. Look at it again, then accept.")
        )


def accept_team(
    db_session: Session, *, organizer: User, session: StudySession, key: str, now: datetime
) -> list[Assignment]:
    """Give every member of the suggested team their place, in one transaction.

    Locks the formed slots (`lock_slot`, in slot id order), then works the team out again
    from what is in the database now: when it is not the team of `key` (the one shown),
    raises `TeamChanged` before changing anything. Otherwise creates the confirmed places
    (added by the organizer), logs them ("assigned"), queues a "team_place" email to each
    member and records when and by whom the team was accepted. Returns the places.
    """
    if not session.is_scheduled:
        raise RuleViolation(_l("This session is cancelled."))
    if session.starts_at <= now:
        raise RuleViolation(_l("This session has already started or is over."))
    slots = get_session(db_session, session.group, session.id).slots
    for slot_id in sorted(slot.id for slot in slots if is_formed_slot(slot)):
        lock_slot(db_session, slot_id)
    team = suggested_team(db_session, session, now=now)
    if team.key != key:
        raise TeamChanged()
    if not team.suggestion.picks:
        raise RuleViolation(_l("Nobody in the suggested team: there is no place to give."))
    order = {slot.id: i for i, slot in enumerate(team.context.session.slots)}
    places = [
        _give_place(db_session, team, pick.slot_id, pick.user_id, actor=organizer, now=now)
        for pick in sorted(team.suggestion.picks, key=lambda p: (order[p.slot_id], p.user_id))
    ]
    session = team.context.session
    session.team_accepted_at = now
    session.team_accepted_by_id = organizer.id
    db_session.flush()
    return places


def _give_place(db_session, team: Team, slot_id: int, user_id: int, *, actor, now) -> Assignment:
    place = Assignment(
        slot_id=slot_id,
        user_id=user_id,
        status=AssignmentStatus.CONFIRMED,
        added_by_id=actor.id if actor is not None else None,
        created_at=now,
        updated_at=now,
        confirmed_at=now,
    )
    db_session.add(place)
    db_session.flush()
    _log(db_session, team.context.session.id, "assigned", actor=actor, assignment=place, now=now)
    queue_email(
        db_session, user=team.context.users[user_id], kind="team_place", place=place, now=now
    )
    return place


def refill_from_team(
    db_session: Session, slot: RoleSlot, *, given_up: Assignment, now: datetime
) -> Assignment | None:
    """After a confirmed place in a formed role is given up (`cancel_place`), before a
    session whose team was accepted: the member is not suggested there again, and the
    first pick of the next suggestion for the slot gets the place (logged, told by email).
    Call with the slot locked, as `cancel_place` does. Returns the new place, if any."""
    session = slot.session
    if (
        session.team_accepted_at is None
        or not session.is_scheduled
        or session.starts_at <= now
        or not is_formed_slot(slot)
    ):
        return None
    _end_choices(db_session, session, slot.id, given_up.user_id, now=now)
    db_session.add(
        TeamChoice(
            session_id=session.id,
            slot_id=slot.id,
            user_id=given_up.user_id,
            kind=TeamChoiceKind.EXCLUDED,
            created_at=now,
        )
    )
    db_session.flush()
    team = suggested_team(db_session, session, now=now)
    picks = team.picks_for(slot.id)
    if not picks:
        return None
    return _give_place(db_session, team, slot.id, picks[0].user_id, actor=None, now=now)
