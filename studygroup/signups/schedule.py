"""My schedule's "coming up": a member's places, registrations and "I can help" answers in
sessions to come, in one statement.

Above signups and participants (it reads both); the page's other parts come from their own
services: the past places (`lists.my_past_places_page`) and who the member worked with.
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from studygroup.auth.models import User
from studygroup.db import UTCDateTime
from studygroup.groups.models import Group, RoleType
from studygroup.participants.models import (
    LIVE_PARTICIPANT_STATUSES,
    Participant,
    ParticipantStatus,
)
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.availability import offered_sessions_query, own_answer
from studygroup.signups.models import (
    LIVE_STATUSES,
    Assignment,
    AssignmentStatus,
    Availability,
    OfferStatus,
    PlaceOffer,
)

OFFERED_LIMIT = 20  # as `offered_sessions`


@dataclass
class ComingUp:
    """What My schedule lists above the past, in the orders the page shows them."""

    places: list[Assignment] = field(default_factory=list)  # soonest first
    numbers: dict[int, int] = field(default_factory=dict)  # waitlisted place id -> in line
    offers: dict[int, PlaceOffer] = field(default_factory=dict)  # confirmed place id -> offer
    attending: list[Participant] = field(default_factory=list)
    attending_numbers: dict[int, int] = field(default_factory=dict)
    offered: list[tuple[StudySession, Availability]] = field(default_factory=list)


def coming_up(db_session: Session, member: User, *, now: datetime) -> ComingUp:
    """The member's live places in sessions not yet over (with their role, open offer and
    number in line), live registrations for sessions not yet over (with their number in
    line) and the sessions to come they can help with (as `offered_sessions`): one query.

    The query starts from those sessions, and joins to each the member's own rows, so a
    session's row repeats only by the member's places in it (a few) and answers (two)."""
    rows = db_session.execute(_coming_up_statement(), {"member_id": member.id, "now": now}).all()
    result = ComingUp()
    places: dict[int, Assignment] = {}
    registrations: dict[int, Participant] = {}
    answers: dict[int, dict[int, Availability]] = {}  # offered session id -> rows by id
    sessions: dict[int, StudySession] = {}
    for (session, group, slot, role_type, place, offer, number, registration, in_line, answer,
         is_offered) in rows:  # fmt: skip
        # Each row brings what the page reads through relationships: set them, no lazy load.
        sessions[session.id] = session
        set_committed_value(session, "group", group)
        if place is not None:
            set_committed_value(place, "slot", slot)
            set_committed_value(slot, "session", session)
            set_committed_value(slot, "role_type", role_type)
            places[place.id] = place
            if offer is not None and place.status == AssignmentStatus.CONFIRMED:
                result.offers[place.id] = offer
            if place.status == AssignmentStatus.WAITLISTED:
                result.numbers[place.id] = number
        if registration is not None and session.ends_at > now:
            set_committed_value(registration, "session", session)
            registrations[registration.id] = registration
            if registration.status == ParticipantStatus.WAITLISTED:
                result.attending_numbers[registration.id] = in_line
        if is_offered:
            found = answers.setdefault(session.id, {})
            if answer is not None:
                found[answer.id] = answer
    # The same orders as the services these lists come from (the rows come unordered).
    result.places = sorted(places.values(), key=lambda p: (p.slot.session.starts_at, p.id))
    result.attending = sorted(
        registrations.values(), key=lambda r: (sessions[r.session_id].starts_at, r.id)
    )
    for session_id in sorted(answers, key=lambda i: (sessions[i].starts_at, i)):
        session = sessions[session_id]
        rows_by_id = answers[session_id]
        answer = own_answer(session, [rows_by_id[i] for i in sorted(rows_by_id)])
        if answer is not None:
            result.offered.append((session, answer))
    return result


@cache
def _coming_up_statement() -> sa.Select:
    """`coming_up`'s statement, built once per process (building it cost more than running
    it), with the member and the time as parameters."""
    member_id = sa.bindparam("member_id")
    now = sa.bindparam("now", type_=UTCDateTime)
    # (Subqueries of tables the statement also joins: `correlate(None)` keeps them whole.)
    my_live_slots = (
        sa.select(Assignment.slot_id)
        .where(Assignment.user_id == member_id, Assignment.status.in_(LIVE_STATUSES))
        .correlate(None)
    )
    my_registrations = (
        sa.select(Participant.session_id)
        .where(Participant.user_id == member_id, Participant.status.in_(LIVE_PARTICIPANT_STATUSES))
        .correlate(None)
    )
    offered = (
        offered_sessions_query(member_id, now=now)
        .with_only_columns(StudySession.id)
        .order_by(StudySession.starts_at, StudySession.id)
        .limit(OFFERED_LIMIT)
        .subquery()
    )
    offered_ids = sa.select(offered.c.id)
    return (
        sa.select(
            StudySession,
            Group,
            RoleSlot,
            RoleType,
            Assignment,
            PlaceOffer,
            _place_number(),
            Participant,
            _participant_number(),
            Availability,
            offered.c.id.is_not(None).label("offered"),
        )
        # The page shows an answer's note, not its roles: load them only if asked for.
        .options(lazyload(Availability.roles))
        .join(Group, Group.id == StudySession.group_id)
        .outerjoin(offered, offered.c.id == StudySession.id)
        .outerjoin(
            RoleSlot,
            (RoleSlot.session_id == StudySession.id) & RoleSlot.id.in_(my_live_slots),
        )
        .outerjoin(RoleType, RoleType.id == RoleSlot.role_type_id)
        .outerjoin(
            Assignment,
            (Assignment.slot_id == RoleSlot.id)
            & (Assignment.user_id == member_id)
            & Assignment.status.in_(LIVE_STATUSES),
        )
        .outerjoin(
            PlaceOffer,
            (PlaceOffer.assignment_id == Assignment.id) & (PlaceOffer.status == OfferStatus.OPEN),
        )
        .outerjoin(
            Participant,
            (Participant.session_id == StudySession.id)
            & (Participant.user_id == member_id)
            & Participant.status.in_(LIVE_PARTICIPANT_STATUSES),
        )
        .outerjoin(
            Availability,
            offered.c.id.is_not(None)
            & (Availability.user_id == member_id)
            & Availability.ended_at.is_(None)
            & (
                (Availability.session_id == StudySession.id)
                | (Availability.series_id == StudySession.series_id)
            ),
        )
        .where(
            # One IN over the three lists of ids: the sessions are looked up by key.
            StudySession.id.in_(
                sa.union(
                    sa.select(RoleSlot.session_id)
                    .join(Assignment, Assignment.slot_id == RoleSlot.id)
                    .where(Assignment.user_id == member_id, Assignment.status.in_(LIVE_STATUSES))
                    .correlate(None),
                    my_registrations,
                    offered_ids,
                )
            ),
            StudySession.ends_at >= now,
        )
    )


def _place_number() -> sa.ColumnElement:
    """SQL: a waitlisted place's number in line (1 = next), as `waitlist_numbers` counts."""
    ahead = aliased(Assignment)
    return sa.case(
        (
            Assignment.status == AssignmentStatus.WAITLISTED,
            _number_in_line(
                ahead,
                Assignment,
                (ahead.slot_id == Assignment.slot_id)
                & (ahead.status == AssignmentStatus.WAITLISTED),
            ),
        )
    )


def _participant_number() -> sa.ColumnElement:
    """SQL: a waitlisted registration's number in line, as participants' `waitlist_numbers`."""
    ahead = aliased(Participant)
    return sa.case(
        (
            Participant.status == ParticipantStatus.WAITLISTED,
            _number_in_line(
                ahead,
                Participant,
                (ahead.session_id == Participant.session_id)
                & (ahead.status == ParticipantStatus.WAITLISTED),
            ),
        )
    )


def _number_in_line(ahead, row, same_line) -> sa.ColumnElement:
    """How many in the same line stand at or before `row`, by position then id."""
    position = sa.func.coalesce(row.waitlist_position, 0)
    ahead_position = sa.func.coalesce(ahead.waitlist_position, 0)
    return (
        sa.select(sa.func.count())
        .select_from(ahead)
        .where(
            same_line,
            (ahead_position < position) | ((ahead_position == position) & (ahead.id <= row.id)),
        )
        .scalar_subquery()
    )
