"""Swaps: a member offers their confirmed place, another member takes it (signups.offers)."""

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.mail.models import OutboundEmail
from studygroup.rules import RuleViolation
from studygroup.sessions.services import cancel_session
from studygroup.signups.models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    Availability,
    AvailabilityRole,
    OfferStatus,
    PlaceOffer,
    StaffingChange,
)
from studygroup.signups.offers import offer_place, take_offer, withdraw_offer
from studygroup.signups.organizing import answer_request, assign, move_place, set_attendance
from studygroup.signups.services import cancel_place, sign_up
from tests.factories import slots_of


def now():
    return datetime.now(UTC)


def can_help(user, session, *roles):
    """The member says "I can help" with the session: any role, or only `roles`."""
    availability = Availability(
        user_id=user.id, session_id=session.id, any_role=not roles, created_at=now()
    )
    db.session.add(availability)
    db.session.flush()
    for slot in roles:
        db.session.add(
            AvailabilityRole(availability_id=availability.id, role_type_id=slot.role_type_id)
        )
    db.session.commit()


def emails(kind, user=None):
    query = sa.select(OutboundEmail).where(OutboundEmail.kind == kind)
    if user is not None:
        query = query.where(OutboundEmail.user_id == user.id)
    return list(db.session.scalars(query.order_by(OutboundEmail.id)))


def confirmed_in(slot):
    return db.session.scalars(
        sa.select(Assignment.user_id).where(
            Assignment.slot_id == slot.id, Assignment.status == AssignmentStatus.CONFIRMED
        )
    ).all()


def text(response):
    return " ".join(response.get_data(as_text=True).split())


def actions():
    return [
        c.action for c in db.session.scalars(sa.select(StaffingChange).order_by(StaffingChange.id))
    ]


@pytest.fixture
def crew(make):
    """Suzuki holds reception at a session in 20 days; Ito, Sato and Kato are members."""
    organizer = make.user(display_name="Organizer", locale="en")
    group = make.group(organizer)
    suzuki, ito, sato, kato = (
        make.member(group, make.user(display_name=name, locale="en"))
        for name in ("Suzuki", "Ito", "Sato", "Kato")
    )
    session = make.session(group, day=date.today() + timedelta(days=20))
    slots = slots_of(session)
    place = sign_up(db.session, member=suzuki, slot=slots["reception"], now=now())
    db.session.commit()
    return organizer, group, session, slots, place, (suzuki, ito, sato, kato)


def test_who_is_told_availability_roles_waitlist_not_the_holder_nor_blocked(crew, make):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    reception, setup = slots["reception"], slots["setup"]
    can_help(ito, session)  # any role
    can_help(sato, session, setup)  # only setup: not told of reception
    can_help(kato, session, reception)  # reception among their roles, but holds setup (overlaps)
    sign_up(db.session, member=kato, slot=setup, now=now())
    can_help(suzuki, session)  # the holder is never told
    # The waitlist of the role: fill it, then two wait (one also said they can help).
    other = make.member(group, make.user(display_name="Other"))
    sign_up(db.session, member=other, slot=reception, now=now())
    waiting = make.member(group, make.user(display_name="Waiting"))
    sign_up(db.session, member=waiting, slot=reception, now=now())
    sign_up(db.session, member=ito, slot=reception, now=now())  # waits, and can help
    outsider = make.user(display_name="Outsider")  # not a member: never told
    db.session.add(Availability(user_id=outsider.id, session_id=session.id, created_at=now()))
    db.session.commit()

    note = "受付の説明をします"
    offered = offer_place(db.session, place=place, member=suzuki, note=note, now=now())
    db.session.commit()
    told = {e.user_id for e in emails("place_offered")}
    assert told == {ito.id, waiting.id}
    assert offered.told == 2
    assert len(emails("place_offered", ito)) == 1  # once, though both waiting and available
    message = emails("place_offered", ito)[0]
    assert "Suzuki" in message.body and "受付の説明をします" in message.body
    assert f"/g/{group.slug}/offers/{offered.offer.id}" in message.body
    assert "offered" in actions()


def test_first_to_take_wins_and_the_offerer_place_is_handed_over(crew, client, auth):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    reception = slots["reception"]
    offer = offer_place(db.session, place=place, member=suzuki, note="", now=now()).offer
    db.session.commit()

    taken = take_offer(db.session, offer=offer, member=ito, now=now())
    db.session.commit()
    assert taken.status == AssignmentStatus.CONFIRMED
    assert db.session.get(Assignment, place.id).status == AssignmentStatus.CANCELLED
    assert db.session.get(Assignment, place.id).cancelled_at is not None
    assert confirmed_in(reception) == [ito.id]
    offer = db.session.get(PlaceOffer, offer.id)
    assert (offer.status, offer.taken_by_id, offer.taken_place_id) == ("taken", ito.id, taken.id)
    assert len(emails("took_place", ito)) == 1
    [thanks] = emails("place_taken", suzuki)
    assert "Ito took your place as Reception" in thanks.body
    assert "Thank you for finding someone." in thanks.body
    assert actions()[-2:] == ["handed_over", "took_offer"]
    # Nobody was promoted and no "place cancelled" email: a hand-over is not a freed place.
    assert "promoted" not in actions() and not emails("place_cancelled")

    with pytest.raises(RuleViolation, match="Someone has just taken this place"):
        take_offer(db.session, offer=offer, member=sato, now=now())
    db.session.rollback()

    # The organizer reads it in the history, with both names.
    auth.login_as(organizer)
    page = text(client.get(f"/g/{group.slug}/sessions/{session.id}/staffing"))
    assert "Ito: took over an offered place — Reception (from Suzuki)" in page
    assert "Ito: handed the place over — Suzuki, Reception (to Ito)" in page
    client.post("/language", data={"lang": "ja"})  # the organizer reads Japanese
    page = text(client.get(f"/g/{group.slug}/sessions/{session.id}/staffing"))
    assert "Ito: 交代で引き受け — 受付 （Suzukiさんから）" in page
    assert "Ito: 交代で枠を引き継ぎ — Suzuki、受付 （Itoさんへ）" in page


def test_a_waitlist_place_becomes_the_confirmed_one(crew, make):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    reception = slots["reception"]
    sign_up(db.session, member=sato, slot=reception, now=now())
    waiting = sign_up(db.session, member=ito, slot=reception, now=now())
    assert waiting.status == AssignmentStatus.WAITLISTED
    offer = offer_place(db.session, place=place, member=suzuki, note="", now=now()).offer
    taken = take_offer(db.session, offer=offer, member=ito, now=now())
    db.session.commit()
    assert taken.id == waiting.id and taken.status == AssignmentStatus.CONFIRMED
    live = db.session.scalars(
        sa.select(Assignment).where(
            Assignment.user_id == ito.id, Assignment.status.in_(("confirmed", "waitlisted"))
        )
    ).all()
    assert [p.id for p in live] == [waiting.id]
    assert sorted(confirmed_in(reception)) == sorted([sato.id, ito.id])  # 2 of 2, never 3


def test_refusals_say_why(crew, make):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    reception, setup = slots["reception"], slots["setup"]
    with pytest.raises(RuleViolation, match="Only the member who holds"):
        offer_place(db.session, place=place, member=ito, note="", now=now())
    offer = offer_place(db.session, place=place, member=suzuki, note="", now=now()).offer
    db.session.commit()
    with pytest.raises(RuleViolation, match="offered this place already"):
        offer_place(db.session, place=place, member=suzuki, note="", now=now())
    db.session.rollback()
    with pytest.raises(RuleViolation, match="your own place"):
        take_offer(db.session, offer=offer, member=suzuki, now=now())
    db.session.rollback()
    sign_up(db.session, member=kato, slot=setup, now=now())  # setup overlaps reception
    db.session.commit()
    with pytest.raises(RuleViolation, match="overlaps your place as Setup"):
        take_offer(db.session, offer=offer, member=kato, now=now())
    db.session.rollback()
    sign_up(db.session, member=sato, slot=reception, now=now())
    db.session.commit()
    with pytest.raises(RuleViolation, match="already have a place in this role"):
        take_offer(db.session, offer=offer, member=sato, now=now())
    db.session.rollback()
    with pytest.raises(RuleViolation, match="active members"):
        take_offer(db.session, offer=offer, member=make.user(), now=now())
    db.session.rollback()
    with pytest.raises(RuleViolation, match="already started"):
        take_offer(db.session, offer=offer, member=ito, now=session.starts_at)
    db.session.rollback()

    withdraw_offer(db.session, offer=offer, member=suzuki, now=now())
    db.session.commit()
    with pytest.raises(RuleViolation, match="withdrawn"):
        take_offer(db.session, offer=offer, member=ito, now=now())
    db.session.rollback()
    assert db.session.get(Assignment, place.id).status == AssignmentStatus.CONFIRMED
    assert actions()[-1] == "offer_withdrawn"


def test_the_self_cancel_deadline_does_not_stop_a_hand_over(crew):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    late = session.starts_at - timedelta(hours=1)  # past the self-cancel deadline
    with pytest.raises(RuleViolation, match="Cancelling yourself"):
        cancel_place(db.session, place=place, actor=suzuki, now=late, by_organizer=False)
    db.session.rollback()
    offer = offer_place(db.session, place=place, member=suzuki, note="", now=late).offer
    assert take_offer(db.session, offer=offer, member=ito, now=late).status == "confirmed"
    db.session.commit()


@pytest.mark.parametrize("how", ["cancelled", "removed", "moved", "session_cancelled"])
def test_offers_close_with_their_place_or_session(crew, how):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    offer = offer_place(db.session, place=place, member=suzuki, note="", now=now()).offer
    db.session.commit()
    if how == "cancelled":
        cancel_place(db.session, place=place, actor=suzuki, now=now(), by_organizer=False)
    elif how == "removed":
        cancel_place(db.session, place=place, actor=organizer, now=now(), by_organizer=True)
    elif how == "moved":
        move_place(db.session, organizer=organizer, place=place, to_slot=slots["setup"], now=now())
    else:
        cancel_session(session, now=now())
    db.session.commit()
    offer = db.session.get(PlaceOffer, offer.id)
    assert offer.status == OfferStatus.CLOSED and offer.closed_at is not None
    with pytest.raises(RuleViolation, match="closed|cancelled"):
        take_offer(db.session, offer=offer, member=ito, now=now())
    db.session.rollback()
    assert ito.id not in confirmed_in(slots["reception"])


def test_approval_roles_go_through_the_organizer(crew, make, client, auth):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    speaker = slots["speaker"]
    talk = sign_up(db.session, member=kato, slot=speaker, now=now(), talk_title="Flask")
    answer_request(db.session, organizer=organizer, place=talk, approve=True, now=now())
    db.session.commit()
    offer = offer_place(db.session, place=talk, member=kato, note="", now=now()).offer
    db.session.commit()

    asked = take_offer(db.session, offer=offer, member=sato, now=now())
    db.session.commit()
    assert asked.status == AssignmentStatus.REQUESTED
    assert db.session.get(Assignment, talk.id).status == "confirmed"  # Kato keeps it meanwhile
    assert db.session.get(PlaceOffer, offer.id).status == "open"
    assert len(emails("talk_request", organizer)) == 2  # Kato's own, then Sato's
    assert actions()[-1] == "requested_offer"
    auth.login_as(organizer)
    page = text(client.get(f"/g/{group.slug}/sessions/{session.id}/staffing"))
    assert "Approving hands over the place Kato offered." in page
    assert "Sato: asked to take over an offered place — Speaker (from Kato)" in page

    answer_request(db.session, organizer=organizer, place=asked, approve=True, now=now())
    db.session.commit()
    assert confirmed_in(speaker) == [sato.id]
    assert db.session.get(Assignment, talk.id).status == "cancelled"
    assert db.session.get(PlaceOffer, offer.id).status == "taken"
    assert len(emails("place_taken", kato)) == 1
    assert len(emails("request_approved", sato)) == 1
    assert actions()[-3:] == ["approved", "handed_over", "took_offer"]


def test_a_member_over_the_no_show_limit_asks_first(crew, make):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    group.no_show_limit = 1
    past = make.session(group, day=date.today() - timedelta(days=3))
    missed = assign(
        db.session, organizer=organizer, member=ito, slot=slots_of(past)["setup"], now=now()
    ).place
    set_attendance(
        db.session, organizer=organizer, place=missed, attendance=Attendance.NO_SHOW, now=now()
    )
    offer = offer_place(db.session, place=place, member=suzuki, note="", now=now()).offer
    db.session.commit()
    asked = take_offer(db.session, offer=offer, member=ito, now=now())
    db.session.commit()
    assert asked.status == AssignmentStatus.REQUESTED
    assert len(emails("approval_request", organizer)) == 1
    # Meanwhile another member takes it at once: the first to take it wins.
    take_offer(db.session, offer=offer, member=sato, now=now())
    db.session.commit()
    assert confirmed_in(slots["reception"]) == [sato.id]
    # Ito's request is an ordinary request now: approving it gives the role's other place,
    # and takes nothing from anyone.
    answer_request(db.session, organizer=organizer, place=asked, approve=True, now=now())
    db.session.commit()
    assert sorted(confirmed_in(slots["reception"])) == sorted([sato.id, ito.id])
    assert "handed_over" not in actions()[-1:]


def test_pages_offer_take_and_other_groups_404(crew, client, auth, make):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    auth.login_as(suzuki)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Can&#39;t come? Offer your place" in page or "Can't come? Offer your place" in page
    # Without the CSRF token nothing happens.
    app = client.application
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/g/{group.slug}/places/{place.id}/offer", data={"note": "x"})
        assert refused.status_code in (400, 422)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PlaceOffer)) == 0
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    too_long = client.post(f"/g/{group.slug}/places/{place.id}/offer", data={"note": "x" * 201})
    assert too_long.status_code == 422
    assert "200" in too_long.get_data(as_text=True)
    done = client.post(
        f"/g/{group.slug}/places/{place.id}/offer", data={"note": "Bring the badge box"}
    )
    assert done.status_code == 302
    offer = db.session.scalar(sa.select(PlaceOffer))
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Withdraw the offer" in page
    page = client.get("/schedule").get_data(as_text=True)
    assert "Withdraw the offer" in page

    # Another member sees it and takes it; one whose place overlaps sees why not.
    sign_up(db.session, member=kato, slot=slots["setup"], now=now())
    db.session.commit()
    auth.login_as(kato)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Suzuki offers their place as Reception." in page
    assert "You cannot take it: It overlaps your place as Setup" in page
    auth.login_as(ito)
    page = client.get(f"/g/{group.slug}/offers/{offer.id}").get_data(as_text=True)
    assert "Bring the badge box" in page and "Take the place as Reception" in page
    taken = client.post(f"/g/{group.slug}/offers/{offer.id}/take", data={"back": "offer"})
    assert taken.status_code == 302 and taken.location.endswith(f"/offers/{offer.id}")
    assert confirmed_in(slots["reception"]) == [ito.id]
    page = client.get(f"/g/{group.slug}/offers/{offer.id}").get_data(as_text=True)
    assert "You took this place" in page

    # Another group's member, or the offer under another group's address: 404 / 403.
    other_group = make.group(slug="elsewhere")
    stranger = make.member(other_group)
    auth.login_as(stranger)
    assert client.get(f"/g/{other_group.slug}/offers/{offer.id}").status_code == 404
    assert client.post(f"/g/{other_group.slug}/offers/{offer.id}/take").status_code == 404
    assert client.get(f"/g/{group.slug}/offers/{offer.id}").status_code == 403
    assert client.post(f"/g/{group.slug}/offers/{offer.id}/take").status_code == 403
    auth.login_as(sato)  # not the offerer: may not withdraw
    assert client.post(f"/g/{group.slug}/offers/{offer.id}/withdraw").status_code == 403


def test_emails_in_each_recipient_language(crew, make):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    ito.locale = "ja"
    can_help(ito, session)
    db.session.commit()
    offer = offer_place(db.session, place=place, member=suzuki, note="", now=now()).offer
    take_offer(db.session, offer=offer, member=ito, now=now())
    db.session.commit()
    [offered] = emails("place_offered", ito)
    assert "受付" in offered.subject and re.search(r"[ぁ-ん]", offered.body)
    [took] = emails("took_place", ito)
    assert "受付" in took.subject
    [taken] = emails("place_taken", suzuki)
    assert taken.subject.startswith("Your place was taken")


def test_session_page_reads_offers_in_one_query(crew, client, auth, count_queries):
    organizer, group, session, slots, place, (suzuki, ito, sato, kato) = crew
    auth.login_as(ito)
    path = f"/g/{group.slug}/sessions/{session.id}"
    client.get(path)
    with count_queries() as before:
        client.get(path)
    offer_place(db.session, place=place, member=suzuki, note="", now=now())
    for member in (sato, kato):
        sign_up(db.session, member=member, slot=slots["setup"], now=now())
    db.session.commit()
    for member in (sato, kato):
        offer = offer_place(
            db.session,
            place=db.session.scalar(
                sa.select(Assignment).where(
                    Assignment.user_id == member.id, Assignment.status == "confirmed"
                )
            ),
            member=member,
            note="",
            now=now(),
        )
        assert offer.offer.id
    db.session.commit()
    with count_queries() as after:
        assert "Take it" in client.get(path).get_data(as_text=True)
    assert after.count == before.count  # the offers come with the page's own query count


def test_two_takers_race_exactly_one_gets_the_place(app_factory, make):
    app = app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 10, "max_overflow": 0, "pool_timeout": 30}
    )
    group = make.group()
    holder, first, second = (make.member(group) for _ in range(3))
    session = make.session(group, day=date.today() + timedelta(days=14))
    reception = slots_of(session)["reception"]
    place = sign_up(db.session, member=holder, slot=reception, now=now())
    db.session.commit()
    offer_id = offer_place(db.session, place=place, member=holder, note="", now=now()).offer.id
    db.session.commit()
    barrier = threading.Barrier(2, timeout=30)
    outcomes = []

    def attempt(user_id):
        with app.app_context():
            user = db.session.get(User, user_id)
            offer = db.session.get(PlaceOffer, offer_id)
            offer.place.slot.session.group  # noqa: B018 (loaded before the race)
            offer.place.slot.role_type  # noqa: B018
            barrier.wait()
            try:
                take_offer(db.session, offer=offer, member=user, now=datetime.now(UTC))
                db.session.commit()
                outcomes.append("took")
            except RuleViolation as refused:
                db.session.rollback()
                outcomes.append(str(refused.message))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(u.id,)) for u in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["Someone has just taken this place.", "took"]
    assert len(confirmed_in(reception)) == 1
    assert confirmed_in(reception)[0] in (first.id, second.id)
