"""Session cards: the lists of upcoming sessions on the home page and a group's page, each
session with its roles' head-counts, its participant counts and whether the viewer said they
can help, in ONE statement for any page of the list.

`staffing_for` gives who holds each place; a card only shows how many, so it counts in SQL
instead of loading every place.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from math import ceil

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from studygroup.auth.models import User
from studygroup.groups.models import RoleType
from studygroup.paging import Page
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus, Availability
from studygroup.signups.places import HeadCount


@dataclass(frozen=True)
class SlotFill(HeadCount):
    """How full one role of a session is (what `SlotStaffing` says of it, without the people)."""

    slot: RoleSlot
    filled: int  # confirmed places


@dataclass
class SessionCards:
    """One page of upcoming sessions, their slots loaded (`session.slots`, with role types)."""

    sessions: Page[StudySession]
    staffing: dict[int, SlotFill] = field(default_factory=dict)  # by slot id
    # {session id: (registered, capacity, waitlisted)}, sessions that take participants only
    participant_counts: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    can_help: set[int] = field(default_factory=set)  # session ids the viewer can help with


def _count_of(model, *where) -> sa.ScalarSelect:
    return (
        sa.select(sa.func.count())
        .select_from(model)
        .where(*where)
        .correlate_except(model)
        .scalar_subquery()
    )


def _viewer_can_help() -> sa.ColumnElement[bool]:
    """The viewer's (`viewer_id`) current "I can help" for the row's session: their answer
    for the session if they gave one ("not this time" included), else their series answer
    given before the session starts (as `current_availability`). At most one current answer
    of each kind exists (unique indexes), so each is a scalar."""
    mine = sa.and_(
        Availability.user_id == sa.bindparam("viewer_id"), Availability.ended_at.is_(None)
    )
    for_session = (
        sa.select(Availability.can_help)
        .where(mine, Availability.session_id == StudySession.id)
        .correlate(StudySession)
        .scalar_subquery()
    )
    for_series = (
        sa.select(Availability.can_help)
        .where(
            mine,
            Availability.series_id == StudySession.series_id,
            Availability.created_at < StudySession.starts_at,
        )
        .correlate(StudySession)
        .scalar_subquery()
    )
    return sa.func.coalesce(for_session, for_series, sa.false())


@cache
def _cards_statement(with_viewer: bool) -> sa.Select:
    """Built once per process (building it cost more than running it), with the groups, the
    time, the page and the viewer as parameters."""
    ranked = (
        sa.select(
            StudySession.id,
            sa.func.row_number()
            .over(order_by=(StudySession.starts_at, StudySession.id))
            .label("n"),
            sa.func.count().over().label("total"),
        )
        .where(
            StudySession.group_id.in_(sa.bindparam("group_ids", expanding=True)),
            StudySession.ends_at >= sa.bindparam("now"),
        )
        .subquery()
    )
    page, size = sa.bindparam("page", type_=sa.Integer), sa.bindparam("size", type_=sa.Integer)
    # The page asked for, or the last one when it is past the end (as `paginate`).
    last_page = (ranked.c.total + size - 1) // size
    number = sa.case(
        (ranked.c.total > sa.bindparam("skip", type_=sa.Integer), page), else_=last_page
    )
    return (
        sa.select(
            StudySession,
            ranked.c.total,
            _count_of(
                Participant,
                Participant.session_id == StudySession.id,
                Participant.status == ParticipantStatus.REGISTERED,
            ),
            _count_of(
                Participant,
                Participant.session_id == StudySession.id,
                Participant.status == ParticipantStatus.WAITLISTED,
            ),
            _viewer_can_help() if with_viewer else sa.false(),
            RoleSlot,
            RoleType,
            _count_of(
                Assignment,
                Assignment.slot_id == RoleSlot.id,
                Assignment.status == AssignmentStatus.CONFIRMED,
            ),
        )
        .join(ranked, ranked.c.id == StudySession.id)
        .outerjoin(RoleSlot, RoleSlot.session_id == StudySession.id)
        .outerjoin(RoleType, RoleType.id == RoleSlot.role_type_id)
        .where(ranked.c.n > (number - 1) * size, ranked.c.n <= number * size)
        .order_by(ranked.c.n, RoleSlot.position, RoleSlot.id)
    )


def session_cards(
    db_session: Session,
    *,
    group_ids: Iterable[int],
    now: datetime,
    page: int,
    size: int,
    viewer: User | None = None,
) -> SessionCards:
    """Page `page` of the sessions not yet over in these groups (cancelled ones too), soonest
    first, as `upcoming_page` lists them (a page past the end is the last page), with their
    slots and role types loaded. `viewer`: an active member of these groups whose "I can
    help" answers to read (None: nobody's).

    One statement whatever the page and the number of sessions, slots and places. The
    sessions' groups are not in it: the callers have them loaded already (`session.group`
    then costs no statement).
    """
    group_ids = list(group_ids)
    page = max(page, 1)
    if not group_ids:
        return SessionCards(Page([], 1, size, 0))
    parameters = {
        "group_ids": group_ids,
        "now": now,
        "page": page,
        "size": size,
        "skip": (page - 1) * size,
    }
    if viewer is not None:
        parameters["viewer_id"] = viewer.id
    rows = db_session.execute(_cards_statement(viewer is not None), parameters).all()

    sessions: list[StudySession] = []
    slots: dict[int, list[RoleSlot]] = {}
    cards = SessionCards(Page([], 1, size, 0))
    total = rows[0][1] if rows else 0
    for session, _total, registered, waitlisted, can_help, role_slot, kind, filled in rows:
        if session.id not in slots:
            sessions.append(session)
            slots[session.id] = []
            if session.takes_participants:
                cards.participant_counts[session.id] = (
                    registered,
                    session.participant_capacity,
                    waitlisted,
                )
            if can_help:
                cards.can_help.add(session.id)
        if role_slot is not None:
            set_committed_value(role_slot, "role_type", kind)
            slots[session.id].append(role_slot)
            cards.staffing[role_slot.id] = SlotFill(role_slot, filled)
    for session in sessions:
        set_committed_value(session, "slots", slots[session.id])
    number = min(page, max(1, ceil(total / size)))
    cards.sessions = Page(sessions, number, size, total)
    return cards
