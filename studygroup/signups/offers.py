"""Swaps: a member who cannot come offers their confirmed place, another member takes it.

"Can someone take my reception place on 12/19?" Members who said they can help with the
session (for any role or for this one) and the role's waitlist are told by email; the first
to take it gets it, under the slot's lock (`lock_slot`), so the place goes to exactly one
person and the role's head-count never moves. A hand-over is not a freed place: it never
goes through `cancel_place` (no waitlist promotion, no refill), the offerer's place is
cancelled as "handed_over" and the taker's confirmed in one transaction.

A role that needs approval, or a taker over the group's no-show limit, makes a request tied
to the offer instead; the organizer's approval (`answer_request`) completes the hand-over,
and until then the offerer keeps the place.

The self-cancel deadline does not stop an offer or a hand-over (the point is that someone
covers); the session's start does. Offers close by themselves when their place stops being
confirmed (cancelled, removed, moved) or the session is cancelled or marked not held: one
flush hook, `_close_offers_of_changed_places`, whatever service made the change.

Functions flush; the caller commits, then sends the queued emails.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.db import utcnow
from studygroup.groups.services import tell_organizers
from studygroup.mail.services import Link, queue_email
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.availability import current_availability
from studygroup.signups.models import (
    Assignment,
    AssignmentStatus,
    OfferRequest,
    OfferStatus,
    PlaceOffer,
)
from studygroup.signups.offer_reads import active_member_ids, offer_refusal, open_offers
from studygroup.signups.organizing import AskFirst, Concerns
from studygroup.signups.places import (
    _confirmed_count,
    _places,
    blocking_place,
    lock_slot,
    places_in_session,
)
from studygroup.signups.records import _detail, _log, no_show_count

NOTE_MAX = 200


# --- offering -----------------------------------------------------------------------------


@dataclass
class Offered:
    offer: PlaceOffer
    told: int  # how many members it went to


def offer_place(
    db_session: Session, *, place: Assignment, member: User, note: str, now: datetime
) -> Offered:
    """Offer `member`'s own confirmed place to whoever takes it first.

    Only the holder, only a confirmed place of a scheduled session that has not started (the
    self-cancel deadline does not matter: someone covering is the point). Refuses a second
    open offer of the place. Emails "place_offered" once per offer and member to the members
    who can help with the session and would take this role (any role, or it among theirs)
    and to the role's waitlist, leaving out the holder and anyone `offer_refusal` refuses
    (a place in the role already, an overlapping confirmed place, not an active member).
    Logs "offered". Locks the slot; the caller commits. Returns the offer and how many
    members it went to (recipients who turned such emails off are counted: they see it on
    the session page).
    """
    if place.user_id != member.id:
        raise RuleViolation(_l("Only the member who holds a place can offer it."))
    slot = lock_slot(db_session, place.slot_id)
    db_session.refresh(place)
    if place.status != AssignmentStatus.CONFIRMED:
        raise RuleViolation(_l("Only a confirmed place can be offered."))
    session = slot.session
    if not session.is_scheduled:
        raise RuleViolation(_l("This session does not take place."))
    if session.starts_at <= now:
        raise RuleViolation(_l("This session has already started or is over."))
    if open_offers(db_session, [place.id]):
        raise RuleViolation(_l("You have offered this place already."))
    offer = PlaceOffer(
        assignment_id=place.id,
        note=" ".join((note or "").split())[:NOTE_MAX],
        status=OfferStatus.OPEN,
        created_at=now,
    )
    offer.place = place
    db_session.add(offer)
    db_session.flush()
    _log(
        db_session,
        session.id,
        "offered",
        actor=member,
        assignment=place,
        detail=_detail(offer=offer.id),
        now=now,
    )
    told = 0
    for user in offer_recipients(db_session, offer):
        told += 1
        queue_email(
            db_session,
            user=user,
            kind="place_offered",
            session=session,
            other_place=place,
            about=_named(member),
            note=offer.note,
            link=Link("signups.show_offer", {"slug": session.group.slug, "offer_id": offer.id}),
            dedupe_key=f"place-offered:{offer.id}:{user.id}",
            now=now,
        )
    return Offered(offer, told)


def offer_recipients(db_session: Session, offer: PlaceOffer) -> list[User]:
    """Who hears of an open offer (see `offer_place`), by id. A fixed number of queries."""
    place = offer.place
    slot = place.slot
    session = slot.session
    available = current_availability(db_session, [session]).get(session.id, {})
    wanted = {
        user_id
        for user_id, availability in available.items()
        if getattr(availability, "can_help", True)
        and (availability.role_type_ids is None or slot.role_type_id in availability.role_type_ids)
    }
    waiting = {p.user_id for p in _places(db_session, slot.id, AssignmentStatus.WAITLISTED)}
    candidates = (wanted | waiting) - {place.user_id}
    members = active_member_ids(db_session, session.group, candidates)
    places = places_in_session(db_session, members, session.id)
    now = offer.created_at
    told = [
        user_id
        for user_id in sorted(members)
        if offer_refusal(offer, member_id=user_id, is_member=True, places=places[user_id], now=now)
        is None
    ]
    if not told:
        return []
    return list(db_session.scalars(sa.select(User).where(User.id.in_(told)).order_by(User.id)))


def withdraw_offer(db_session: Session, *, offer: PlaceOffer, member: User, now: datetime) -> None:
    """The offerer keeps their place after all. Refuses when the offer is no longer open."""
    if offer.place.user_id != member.id:
        raise RuleViolation(_l("Only the member who offered the place can withdraw the offer."))
    lock_slot(db_session, offer.place.slot_id)
    db_session.refresh(offer)
    if offer.status != OfferStatus.OPEN:
        raise RuleViolation(_closed_message(offer))
    offer.status = OfferStatus.WITHDRAWN
    offer.closed_at = now
    _log(
        db_session,
        offer.place.slot.session_id,
        "offer_withdrawn",
        actor=member,
        assignment=offer.place,
        detail=_detail(offer=offer.id),
        now=now,
    )
    db_session.flush()


def _closed_message(offer: PlaceOffer):
    return {
        OfferStatus.TAKEN: _l("Someone has just taken this place."),
        OfferStatus.WITHDRAWN: _l(
            "This offer was withdrawn: the place stays with the member who offered it."
        ),
    }.get(offer.status, _l("This offer is closed: the place or the session changed."))


# --- taking -------------------------------------------------------------------------------


def take_offer(
    db_session: Session, *, offer: PlaceOffer, member: User, now: datetime
) -> Assignment:
    """Take an open offer: the place is `member`'s, the offerer's is cancelled ("handed_over").

    Under the slot's lock (the first to take it wins; the head-count never moves): refuses,
    with the reason, an offer no longer open ("Someone has just taken this place."), a member
    who is not an active member, holds a place in the role already (a waitlist place becomes
    the confirmed one instead) or an overlapping confirmed place, and a session that started
    or does not take place. When the role needs approval or the member is over the group's
    no-show limit, the place is a request tied to the offer instead (organizers are told as
    for any request): the offerer keeps their place until an organizer approves it.
    Returns the member's place (confirmed, or requested). The caller commits.
    """
    slot = lock_slot(db_session, offer.place.slot_id)
    db_session.refresh(offer)
    db_session.refresh(offer.place)
    session = slot.session
    group = session.group
    places = places_in_session(db_session, [member.id], session.id)[member.id]
    refusal = offer_refusal(
        offer,
        member_id=member.id,
        is_member=bool(active_member_ids(db_session, group, [member.id])),
        places=places,
        now=now,
    )
    if refusal is not None:
        raise RuleViolation(refusal)
    waiting = next((p for p in places if p.slot_id == slot.id), None)  # a waitlist place
    needs_approval = slot.role_type.requires_approval or (
        group.no_show_limit is not None
        and no_show_count(db_session, member, group) >= group.no_show_limit
    )
    if needs_approval:
        return _request_offer(db_session, offer, member, waiting, now=now)
    taken = _taker_place(db_session, slot, member, waiting, now=now)
    _hand_over(db_session, offer, taken, actor=member, now=now)
    queue_email(
        db_session,
        user=member,
        kind="took_place",
        place=taken,
        about=_named(offer.place.user),
        now=now,
    )
    return taken


def _taker_place(db_session, slot, member, waiting, *, now) -> Assignment:
    """The taker's confirmed place: their waitlist place in the role, else a new one."""
    if waiting is not None:
        waiting.status = AssignmentStatus.CONFIRMED
        waiting.confirmed_at = now
        waiting.updated_at = now
        return waiting
    place = Assignment(
        slot_id=slot.id,
        user_id=member.id,
        status=AssignmentStatus.CONFIRMED,
        created_at=now,
        updated_at=now,
        confirmed_at=now,
    )
    db_session.add(place)
    return place


def _hand_over(
    db_session: Session, offer: PlaceOffer, taken: Assignment, *, actor: User, now: datetime
) -> None:
    """The offerer's place ends ("handed_over"), the offer is taken, the taker's place is
    confirmed (by the caller): both logged, the offerer told. Call with the slot locked."""
    given = offer.place
    offer.status = OfferStatus.TAKEN  # before the flush hook sees the place cancelled
    offer.closed_at = now
    given.status = AssignmentStatus.CANCELLED
    given.cancelled_at = now
    given.updated_at = now
    db_session.flush()
    offer.taken_by_id = taken.user_id
    offer.taken_place_id = taken.id
    session_id = given.slot.session_id
    _log(
        db_session,
        session_id,
        "handed_over",
        actor=actor,
        assignment=given,
        detail=_detail(offer=offer.id, user=taken.user_id),
        now=now,
    )
    _log(
        db_session,
        session_id,
        "took_offer",
        actor=taken.user,
        assignment=taken,
        detail=_detail(offer=offer.id, user=given.user_id),
        now=now,
    )
    queue_email(
        db_session,
        user=given.user,
        kind="place_taken",
        place=given,
        about=_named(taken.user),
        now=now,
    )
    db_session.flush()


def _request_offer(db_session, offer, member, waiting, *, now) -> Assignment:
    """A request to take the offer, for an organizer to approve (see `take_offer`)."""
    slot = offer.place.slot
    session = slot.session
    if waiting is not None:
        place = waiting
        place.status = AssignmentStatus.REQUESTED
        place.updated_at = now
    else:
        place = Assignment(
            slot_id=slot.id,
            user_id=member.id,
            status=AssignmentStatus.REQUESTED,
            created_at=now,
            updated_at=now,
        )
        db_session.add(place)
    db_session.flush()
    db_session.add(OfferRequest(offer_id=offer.id, assignment_id=place.id))
    _log(
        db_session,
        session.id,
        "requested_offer",
        actor=member,
        assignment=place,
        detail=_detail(offer=offer.id, user=offer.place.user_id),
        now=now,
    )
    queue_email(db_session, user=member, kind="request_received", place=place, now=now)
    tell_organizers(
        db_session,
        session.group,
        kind="talk_request" if slot.role_type.requires_approval else "approval_request",
        about=member,
        place=place,
        answer_at=Link(
            "signups.session_staffing",
            {"slug": session.group.slug, "session_id": session.id},
            f"place-{place.id}",
        ),
        now=now,
    )
    db_session.flush()
    return place


def approve_offer_request(
    db_session: Session,
    *,
    organizer: User,
    place: Assignment,
    slot: RoleSlot,
    now: datetime,
    confirmed: str | None = None,
) -> bool:
    """Called by `answer_request` when it approves `place` (slot locked): when the request
    was made by taking an offer that is still open, completes the hand-over and returns True
    (the caller then does nothing more). False for any other request, or when the offer was
    taken, withdrawn or closed meanwhile: it is then approved as an ordinary request.

    The head-count does not move and the waitlist is not asked (the offer went to it too);
    an overlapping confirmed place asks first (`AskFirst`), as for any approval.
    """
    offer = db_session.scalar(
        sa.select(PlaceOffer)
        .join(OfferRequest, OfferRequest.offer_id == PlaceOffer.id)
        .where(OfferRequest.assignment_id == place.id)
    )
    if offer is None:
        return False
    db_session.refresh(offer)
    db_session.refresh(offer.place)
    if offer.status != OfferStatus.OPEN or offer.place.status != AssignmentStatus.CONFIRMED:
        return False
    member = place.user
    places = places_in_session(db_session, [member.id], slot.session_id)[member.id]
    clash = blocking_place(places, slot)
    if clash is not None:
        concerns = Concerns(
            member=member,
            slot=slot,
            filled=_confirmed_count(db_session, slot.id) - 1,  # the offerer's place goes
            overlap=clash,
        )
        if confirmed != concerns.key:
            raise AskFirst(concerns)
    place.status = AssignmentStatus.CONFIRMED
    place.confirmed_at = now
    place.updated_at = now
    _log(db_session, slot.session_id, "approved", actor=organizer, assignment=place, now=now)
    _hand_over(db_session, offer, place, actor=organizer, now=now)
    queue_email(db_session, user=member, kind="request_approved", place=place, now=now)
    db_session.flush()
    return True


# --- names in emails ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Anonymous:
    """Someone who chose not to appear by name, as emails about offers name them: "A member"
    in the recipient's language (lazy, so it is translated where the message is written)."""

    display_name: object = _l("A member")
    id: int = 0


def _named(user: User):
    return user if user.appear_by_name else _Anonymous()


# --- offers end with their place ----------------------------------------------------------


@sa.event.listens_for(Session, "before_flush")
def _close_offers_of_changed_places(db_session, flush_context, instances) -> None:
    """An open offer closes when its place stops being confirmed (cancelled, removed, moved,
    a member leaving the group) or its session is cancelled or marked not held, whichever
    service made the change: the one place this is decided. An offer the change itself took
    or withdrew keeps that status."""
    place_ids, session_ids, at = [], [], None
    for obj in db_session.dirty:
        if isinstance(obj, Assignment):
            if _changed(obj, "status") and obj.status != AssignmentStatus.CONFIRMED:
                place_ids.append(obj.id)
                at = obj.updated_at
        elif (
            isinstance(obj, StudySession)
            and _changed(obj, "status")
            and obj.status != SessionStatus.SCHEDULED
        ):
            session_ids.append(obj.id)
            at = obj.updated_at
    if not (place_ids or session_ids):
        return
    in_sessions = (
        sa.select(Assignment.id)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(RoleSlot.session_id.in_(session_ids))
    )
    with db_session.no_autoflush:
        offers = db_session.scalars(
            sa.select(PlaceOffer).where(
                PlaceOffer.status == OfferStatus.OPEN,
                sa.or_(
                    PlaceOffer.assignment_id.in_(place_ids),
                    PlaceOffer.assignment_id.in_(in_sessions),
                ),
            )
        ).all()
    for offer in offers:
        if offer.status == OfferStatus.OPEN:
            offer.status = OfferStatus.CLOSED
            offer.closed_at = at or utcnow()


def _changed(obj, attribute: str) -> bool:
    return sa.inspect(obj).attrs[attribute].history.has_changes()
