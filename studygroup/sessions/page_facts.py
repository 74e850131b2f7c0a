"""What the session page reads besides the session and its slots, in one statement.

The page's view composes signups (places and their offers), participants (counts and the
viewer's registration) and announcements (whether any are for the viewer); each room keeps
its rule (`live_place_in`, `registration_of`, `session_announcements_seen_by_id`) and this
module only puts their SQL into the one statement the page sends after the session's.
"""

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from studygroup.announcements.services import session_announcements_seen_by_id
from studygroup.auth.models import User
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.participants.services import registration_of
from studygroup.sessions.models import StudySession
from studygroup.signups.models import Assignment, OfferStatus, PlaceOffer
from studygroup.signups.places import SlotStaffing, live_place_in, staffing_from
from studygroup.signups.records import counts_as_worked
from studygroup.thanks.services import reported_in_session_exists, thanks_sent_by


@dataclass
class SessionPageFacts:
    staffing: dict[int, SlotStaffing]  # `staffing_for` the session
    open_offers: dict[int, PlaceOffer]  # by place id
    # For a session that takes participants: (registered, waitlisted, the viewer's
    # registration as `my_registration` gives it); else None.
    participants: tuple[int, int, Participant | None] | None
    announcements_to_show: bool  # any announcement of the session the viewer may read
    # After the session (thanks): the places that count as worked, the people the viewer
    # thanked there, and whether any note about it was reported (for organizers).
    worked: list[Assignment]
    thanked: set[int]
    reported_any: bool


def session_page_facts(
    db_session: Session, session: StudySession, *, viewer: User | None, organizer: bool
) -> SessionPageFacts:
    """The session's live places with their holders and open offers (and, for thanks, which
    count as worked and which holders the viewer thanked), its participant counts and the
    viewer's registration, whether the viewer has announcements to read there and whether
    a note about it was reported: one query, one row per place (a place has at most one open
    offer; the other columns are one value each). The session's slots must be loaded."""
    takes = session.takes_participants
    parameters = {
        "session_id": session.id,
        "slot_ids": [slot.id for slot in session.slots],
        "viewer_id": viewer.id if viewer is not None else None,
    }
    statement = _facts_statement(takes, viewer is not None, organizer)
    rows = db_session.execute(statement, parameters).all()
    places = [row[0] for row in rows if row[0] is not None]
    registration, registered, waitlisted, any_seen = rows[0][2:6]
    return SessionPageFacts(
        staffing=staffing_from(session.slots, places),
        open_offers={row[0].id: row[1] for row in rows if row[1] is not None},
        participants=(registered, waitlisted, registration) if takes else None,
        announcements_to_show=bool(any_seen),
        worked=[row[0] for row in rows if row[0] is not None and row[6]],
        thanked={row[0].user_id for row in rows if row[0] is not None and row[7]},
        reported_any=bool(rows[0][8]),
    )


@cache
def _facts_statement(takes: bool, viewer: bool, organizer: bool) -> sa.Select:
    """The page's statement, built once per process for each kind of viewer (building it
    cost more than running it), the session, its slots and the viewer as parameters."""
    session_id = sa.bindparam("session_id")
    viewer_id = sa.bindparam("viewer_id") if viewer else None
    counted = _participants_counted(session_id) if takes else (sa.null(), sa.null())
    seen = session_announcements_seen_by_id(session_id, viewer_id, organizer)
    mine = (
        Participant.id
        == registration_of(viewer_id, session_id)
        .with_only_columns(Participant.id)
        .correlate(None)  # its own look at the table, not the joined row's
        .scalar_subquery()
        if takes and viewer
        else sa.false()
    )
    return (
        sa.select(
            Assignment,
            PlaceOffer,
            Participant,
            *counted,
            seen.exists() if seen is not None else sa.false(),
            counts_as_worked(Assignment, StudySession),
            thanks_sent_by(viewer_id, session_id, Assignment.user_id) if viewer else sa.false(),
            reported_in_session_exists(session_id) if organizer else sa.false(),
        )
        .select_from(StudySession)
        .outerjoin(Assignment, live_place_in(sa.bindparam("slot_ids", expanding=True)))
        .outerjoin(
            PlaceOffer,
            (PlaceOffer.assignment_id == Assignment.id) & (PlaceOffer.status == OfferStatus.OPEN),
        )
        .outerjoin(Participant, mine)
        .where(StudySession.id == session_id)
        .options(joinedload(Assignment.user))
        .order_by(Assignment.id)
    )


def _participants_counted(session_id) -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """SQL: the session's registered and waitlisted participants, as `participant_counts`."""

    def counted(status: ParticipantStatus) -> sa.ScalarSelect:
        return (
            sa.select(sa.func.count())
            .select_from(Participant)
            .where(Participant.session_id == session_id, Participant.status == status)
            .correlate(None)  # counts the table, not the joined registration
            .scalar_subquery()
        )

    return counted(ParticipantStatus.REGISTERED), counted(ParticipantStatus.WAITLISTED)
