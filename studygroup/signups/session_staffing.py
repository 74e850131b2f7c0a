"""What a session's staffing page reads, in two statements whatever the size of the group:
the session with its slots, places, holders and offers; and the group's active members with
what the page says of each (the roles they have done, their "I can help" for the session).

The rules stay where they live (`staffing_from`, `counts_as_worked`, the availability rules
in studygroup.signups.availability); here they are read for one session at once.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from studygroup.auth.models import User
from studygroup.db import UTCDateTime
from studygroup.groups.models import Group, Membership, MembershipStatus, RoleType
from studygroup.names import by_name
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import (
    LIVE_STATUSES,
    Assignment,
    AssignmentStatus,
    Availability,
    AvailabilityRole,
    OfferRequest,
    OfferStatus,
    PlaceOffer,
)
from studygroup.signups.places import SlotStaffing, staffing_from
from studygroup.signups.records import counts_as_worked


@dataclass
class SessionStaffing:
    """A session (slots and role types loaded), who holds each slot, the open offers of its
    places (by place id) and the requests made by taking an open offer (by the request's
    place id; the offer comes with the offered place and its holder)."""

    session: StudySession
    staffing: dict[int, SlotStaffing]
    offers: dict[int, PlaceOffer]
    offer_requests: dict[int, PlaceOffer]


def session_staffing(db_session: Session, group: Group, session_id: int) -> SessionStaffing | None:
    """The session of `group` with its staffing (None: no such session in the group), in one
    statement: one row per live place (or per slot without any), the offers joined."""
    rows = db_session.execute(
        _staffing_statement(), {"session_id": session_id, "group_id": group.id}
    ).all()
    if not rows:
        return None
    session = rows[0][0]
    slots: dict[int, RoleSlot] = {}
    places: dict[int, Assignment] = {}
    offers: dict[int, PlaceOffer] = {}
    offer_requests: dict[int, PlaceOffer] = {}
    # The rows' objects are tied together here: the identity map holds them only weakly.
    for _, slot, role_type, place, holder, offer, requested_offer, offered, offerer in rows:
        if slot is None:
            continue
        set_committed_value(slot, "role_type", role_type)
        slots.setdefault(slot.id, slot)
        if place is None:
            continue
        set_committed_value(place, "user", holder)
        places.setdefault(place.id, place)
        if offer is not None:
            set_committed_value(offer, "place", place)
            offers[place.id] = offer
        if requested_offer is not None:
            set_committed_value(offered, "user", offerer)
            set_committed_value(requested_offer, "place", offered)
            offer_requests[place.id] = requested_offer
    set_committed_value(session, "slots", list(slots.values()))
    return SessionStaffing(
        session, staffing_from(session.slots, places.values()), offers, offer_requests
    )


@cache
def _staffing_statement() -> sa.Select:
    """Built once per process (aliases make building it cost more than running it), with
    the session and the group as parameters."""
    offer_of_request = aliased(PlaceOffer)
    offered_place = aliased(Assignment)
    offered_holder = aliased(User)
    return (
        sa.select(
            StudySession,
            RoleSlot,
            RoleType,
            Assignment,
            User,
            PlaceOffer,
            offer_of_request,
            offered_place,
            offered_holder,
        )
        .outerjoin(RoleSlot, RoleSlot.session_id == StudySession.id)
        .outerjoin(RoleType, RoleType.id == RoleSlot.role_type_id)
        .outerjoin(
            Assignment,
            (Assignment.slot_id == RoleSlot.id) & Assignment.status.in_(LIVE_STATUSES),
        )
        .outerjoin(User, User.id == Assignment.user_id)
        .outerjoin(
            PlaceOffer,
            (PlaceOffer.assignment_id == Assignment.id) & (PlaceOffer.status == OfferStatus.OPEN),
        )
        .outerjoin(OfferRequest, OfferRequest.assignment_id == Assignment.id)
        .outerjoin(
            offer_of_request,
            (offer_of_request.id == OfferRequest.offer_id)
            & (offer_of_request.status == OfferStatus.OPEN),
        )
        .outerjoin(offered_place, offered_place.id == offer_of_request.assignment_id)
        .outerjoin(offered_holder, offered_holder.id == offered_place.user_id)
        .where(
            StudySession.id == sa.bindparam("session_id"),
            StudySession.group_id == sa.bindparam("group_id"),
        )
        .order_by(RoleSlot.position, RoleSlot.id, Assignment.id)
    )


@dataclass(frozen=True)
class MemberChoice:
    """An active member as the assign form lists them, with the session's role types they
    have worked before (`done`)."""

    id: int
    display_name: str
    done: frozenset[int]


@dataclass(frozen=True)
class HelpAnswer:
    """A member's effective "I can help" for the session (their session answer, else their
    series answer), as the staffing page lists it."""

    id: int
    member: MemberChoice
    series_id: int | None
    note: str
    created_at: datetime
    role_type_ids: frozenset[int] | None  # None: any role


@dataclass
class GroupForSession:
    members: list[MemberChoice]  # by name
    can_help: list[HelpAnswer]  # earliest first


@cache
def _members_statement(role_type_count: int, in_series: bool) -> sa.Select:
    """`members_for_session`'s statement for a session with this many role types, built
    once per process and shape, with the ids and times as parameters."""
    here = aliased(Availability)  # the member's answer for this session
    usual = aliased(Availability)  # their "usually available" for its series
    usual_applies = (
        (usual.series_id == sa.bindparam("series_id"))
        & (usual.created_at < sa.bindparam("starts_at", type_=UTCDateTime))
        if in_series
        else sa.false()
    )
    role_types = [sa.bindparam(f"role_type_{i}") for i in range(role_type_count)]

    def done(role_type_id):
        return (
            sa.select(Assignment.id)
            .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
            .join(StudySession, StudySession.id == RoleSlot.session_id)
            .where(
                Assignment.user_id == User.id,
                Assignment.status == AssignmentStatus.CONFIRMED,
                RoleSlot.role_type_id == role_type_id,
                StudySession.group_id == sa.bindparam("group_id"),
                StudySession.status == SessionStatus.SCHEDULED,
                StudySession.starts_at <= sa.bindparam("now", type_=UTCDateTime),
                counts_as_worked(),
            )
            .exists()
        )

    def prefers(answer, role_type_id):
        return (
            sa.select(AvailabilityRole.role_type_id)
            .where(
                AvailabilityRole.availability_id == answer.id,
                AvailabilityRole.role_type_id == role_type_id,
            )
            .exists()
        )

    def answer_columns(answer) -> list:
        return [answer.id, answer.can_help, answer.any_role, answer.note, answer.created_at]

    return (
        sa.select(
            User.id,
            User.display_name,
            *(done(r) for r in role_types),
            *answer_columns(here),
            *(prefers(here, r) for r in role_types),
            *answer_columns(usual),
            *(prefers(usual, r) for r in role_types),
        )
        .join(
            Membership,
            (Membership.user_id == User.id)
            & (Membership.group_id == sa.bindparam("group_id"))
            & (Membership.status == MembershipStatus.ACTIVE),
        )
        .outerjoin(
            here,
            (here.user_id == User.id)
            & (here.session_id == sa.bindparam("session_id"))
            & here.ended_at.is_(None),
        )
        .outerjoin(usual, (usual.user_id == User.id) & usual_applies & usual.ended_at.is_(None))
        .order_by(*by_name())
    )


def members_for_session(
    db_session: Session, group: Group, session: StudySession, *, now: datetime
) -> GroupForSession:
    """The group's active members by name, each with the session's role types they have
    worked before, and those who can help with the session. One statement: a row per member,
    its columns a few per role type of the session (index look-ups of the member's places
    and answers), however long the group's history.

    Same rules as `has_done_role` (a worked place in a held session that started) and
    `current_availability` (the session answer wins over the series one, which applies to
    sessions starting after it was given; "not this time" hides it). Slots must be loaded.
    """
    role_type_ids = sorted({slot.role_type_id for slot in session.slots})
    params = {
        "group_id": group.id,
        "session_id": session.id,
        "series_id": session.series_id,
        "starts_at": session.starts_at,
        "now": now,
        **{f"role_type_{i}": r for i, r in enumerate(role_type_ids)},
    }
    statement = _members_statement(len(role_type_ids), session.series_id is not None)
    rows = db_session.execute(statement, params).all()
    n = len(role_type_ids)
    members, can_help = [], []
    for row in rows:
        done_flags, rest = row[2 : 2 + n], row[2 + n :]
        member = MemberChoice(
            row[0],
            row[1],
            frozenset(r for r, flag in zip(role_type_ids, done_flags, strict=True) if flag),
        )
        members.append(member)
        own, series = rest[: 5 + n], rest[5 + n :]
        answer = own if own[0] is not None else series  # the session answer wins
        if answer[0] is None or not answer[1]:
            continue
        prefs = answer[5:]
        can_help.append(
            HelpAnswer(
                id=answer[0],
                member=member,
                series_id=None if answer is own else session.series_id,
                note=answer[3],
                created_at=answer[4],
                role_type_ids=None
                if answer[2]
                else frozenset(r for r, flag in zip(role_type_ids, prefs, strict=True) if flag),
            )
        )
    can_help.sort(key=lambda a: (a.created_at, a.id))
    return GroupForSession(members, can_help)
