"""Reading swaps (offers of a place): who may take one (`offer_refusal`, the one rule for the
take button, the offer page, who is told, and `take_offer`), the open offers of places and
of a session, and what the offer page shows. No changes here: offering and taking are in
`signups.offers`.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from studygroup.auth.models import User
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.i18n import role_label
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import (
    Assignment,
    AssignmentStatus,
    OfferRequest,
    OfferStatus,
    PlaceOffer,
)
from studygroup.signups.places import blocking_place, places_in_session

# --- who may take an offer ----------------------------------------------------------------


def offer_refusal(
    offer: PlaceOffer,
    *,
    member_id: int,
    is_member: bool,
    places: list[Assignment],
    now: datetime,
):
    """Why this member cannot take the offer, as a sentence, or None when they can.

    `places` are the member's live places in the offer's session (slots loaded). The one rule
    for the take button, the offer page, who is told, and `take_offer` (there under the lock).
    """
    slot = offer.place.slot
    session = slot.session
    if offer.status == OfferStatus.TAKEN:
        return _l("Someone has just taken this place.")
    if offer.status == OfferStatus.WITHDRAWN:
        return _l("This offer was withdrawn: the place stays with the member who offered it.")
    if offer.status == OfferStatus.CLOSED or offer.place.status != AssignmentStatus.CONFIRMED:
        return _l("This offer is closed: the place or the session changed.")
    if session.is_cancelled:
        return _l("This session is cancelled.")
    if session.is_not_held:
        return _l("This session is marked as not held.")
    if session.starts_at <= now:
        return _l("This session has already started or is over.")
    if slot.role_type.is_retired:
        return _l("This role is retired.")
    if member_id == offer.place.user_id:
        return _l("This is your own place.")
    if not is_member:
        return _l("Only active members of the group can take a place.")
    if any(p.slot_id == slot.id and p.status != AssignmentStatus.WAITLISTED for p in places):
        return _l("You already have a place in this role.")
    clash = blocking_place(places, slot)
    if clash is not None:
        return _l(
            "It overlaps your place as %(role)s: one person can hold roles whose times do "
            "not overlap.",
            role=_role_name(clash.slot),
        )
    return None


def _role_name(slot: RoleSlot) -> str:
    return role_label(slot.role_type)


def active_member_ids(db_session: Session, group: Group, user_ids) -> set[int]:
    user_ids = set(user_ids)
    if not user_ids:
        return set()
    return set(
        db_session.scalars(
            sa.select(Membership.user_id).where(
                Membership.group_id == group.id,
                Membership.status == MembershipStatus.ACTIVE,
                Membership.user_id.in_(user_ids),
            )
        )
    )


# --- reading ------------------------------------------------------------------------------


def open_offers(db_session: Session, place_ids) -> dict[int, PlaceOffer]:
    """The open offer of each of these places, by place id, in one query (none without
    places)."""
    place_ids = list(set(place_ids))
    if not place_ids:
        return {}
    offers = db_session.scalars(
        sa.select(PlaceOffer).where(
            PlaceOffer.status == OfferStatus.OPEN, PlaceOffer.assignment_id.in_(place_ids)
        )
    )
    return {offer.assignment_id: offer for offer in offers}


def open_offers_in_session(db_session: Session, session_id: int) -> dict[int, PlaceOffer]:
    """The open offers of a session's places, by place id: one query, however many."""
    offers = db_session.scalars(
        sa.select(PlaceOffer)
        .join(Assignment, Assignment.id == PlaceOffer.assignment_id)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(PlaceOffer.status == OfferStatus.OPEN, RoleSlot.session_id == session_id)
    )
    return {offer.assignment_id: offer for offer in offers}


@dataclass
class OfferView:
    """An open offer on a session page: who offers, and whether the viewer may take it."""

    offer: PlaceOffer
    refusal: object = None  # why the viewer cannot take it (a sentence), or None

    @property
    def can_take(self) -> bool:
        return self.refusal is None


def offers_on_session(
    db_session: Session,
    session: StudySession,
    staffing,
    *,
    viewer: User | None,
    is_member: bool,
    now: datetime,
    open_offers: dict[int, PlaceOffer] | None = None,
) -> dict[int, OfferView]:
    """Open offers of the session's confirmed places, by place id, with the viewer's chance
    to take each. `staffing` is `staffing_for` of the session (one query for the offers,
    however many, nothing more: the viewer's places are in `staffing`); no query at all when
    `open_offers` brings them (`sessions.page_facts`)."""
    confirmed = {p.id: p for s in staffing.values() for p in s.confirmed}
    if open_offers is None:
        open_offers = open_offers_in_session(db_session, session.id)
    offers = {place_id: offer for place_id, offer in open_offers.items() if place_id in confirmed}
    if not offers:
        return {}
    mine = [
        p
        for s in staffing.values()
        for p in (*s.confirmed, *s.waitlist, *s.requested)
        if viewer is not None and p.user_id == viewer.id
    ]
    views = {}
    for place_id, offer in offers.items():
        set_committed_value(offer, "place", confirmed[place_id])
        views[place_id] = OfferView(
            offer,
            offer_refusal(
                offer,
                member_id=viewer.id if viewer is not None else 0,
                is_member=is_member,
                places=mine,
                now=now,
            ),
        )
    return views


def get_offer(db_session: Session, group: Group, offer_id: int) -> PlaceOffer | None:
    """The offer with its place, slot, session and people, if it belongs to `group`."""
    offer = db_session.scalar(
        sa.select(PlaceOffer)
        .where(PlaceOffer.id == offer_id)
        .options(
            joinedload(PlaceOffer.place).joinedload(Assignment.user),
            joinedload(PlaceOffer.place)
            .joinedload(Assignment.slot)
            .joinedload(RoleSlot.session)
            .joinedload(StudySession.group),
            joinedload(PlaceOffer.place).joinedload(Assignment.slot).joinedload(RoleSlot.role_type),
            joinedload(PlaceOffer.taken_by),
        )
    )
    if offer is None or offer.place.slot.session.group_id != group.id:
        return None
    return offer


def refusal_for(db_session: Session, offer: PlaceOffer, member: User, *, now: datetime):
    """`offer_refusal` for one member, read from the database (the offer page)."""
    slot = offer.place.slot
    places = places_in_session(db_session, [member.id], slot.session_id)[member.id]
    is_member = bool(active_member_ids(db_session, slot.session.group, [member.id]))
    return offer_refusal(offer, member_id=member.id, is_member=is_member, places=places, now=now)


def pending_request_of(db_session: Session, offer: PlaceOffer, member: User):
    """The member's request to take this offer that waits for an organizer, or None."""
    return db_session.scalar(
        sa.select(Assignment)
        .join(OfferRequest, OfferRequest.assignment_id == Assignment.id)
        .where(
            OfferRequest.offer_id == offer.id,
            Assignment.user_id == member.id,
            Assignment.status == AssignmentStatus.REQUESTED,
        )
    )
