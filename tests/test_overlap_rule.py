"""The one overlap rule: confirmed places block an overlapping role; a waitlist place or a request
never does, and a promotion passes by a member whose place would overlap (issue 9, #5)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.mail.models import OutboundEmail
from studygroup.rules import RuleViolation
from studygroup.signups.models import Assignment, AssignmentStatus, StaffingChange
from studygroup.signups.organizing import AskFirst, assign, promote_by_hand
from studygroup.signups.services import sign_up
from tests.factories import slots_of


def now():
    return datetime.now(UTC)


@pytest.fixture
def crowd(make):
    """Setup (9:00-10:00, one place) held by Aki; reception (9:30-10:30) has room."""
    organizer = make.user(display_name="Organizer")
    group = make.group(organizer)
    aki = make.member(group, make.user(display_name="Aki"))
    ben = make.member(group, make.user("ben@example.com", display_name="Ben", locale="ja"))
    cho = make.member(group, make.user(display_name="Cho"))
    session = make.session(group, day=date.today() + timedelta(days=20))
    slots = slots_of(session)
    slots["setup"].headcount = 1
    db.session.commit()
    sign_up(db.session, member=aki, slot=slots["setup"], now=now())
    db.session.commit()
    return organizer, group, session, slots, (aki, ben, cho)


def test_a_waitlist_place_does_not_block_another_role(crowd):
    _organizer, _group, _session, slots, (_aki, ben, _cho) = crowd
    waiting = sign_up(db.session, member=ben, slot=slots["setup"], now=now())
    assert waiting.status == AssignmentStatus.WAITLISTED
    # Reception overlaps setup, but a place on setup's waitlist is no place yet.
    place = sign_up(db.session, member=ben, slot=slots["reception"], now=now())
    assert place.status == AssignmentStatus.CONFIRMED


def test_confirmed_places_block_and_requests_do_not(crowd, make):
    _organizer, group, _session, slots, (aki, ben, _cho) = crowd
    with pytest.raises(RuleViolation, match="overlaps with your place as Setup"):
        sign_up(db.session, member=aki, slot=slots["reception"], now=now())
    # A request (here: a member over the no-show limit) holds no time: it may be declined.
    group.no_show_limit = 0
    db.session.commit()
    request = sign_up(db.session, member=ben, slot=slots["reception"], now=now())
    assert request.status == AssignmentStatus.REQUESTED
    other = sign_up(db.session, member=ben, slot=slots["setup"], now=now())
    assert other.status == AssignmentStatus.REQUESTED


def test_the_session_page_offers_the_open_role_to_a_member_on_a_waitlist(crowd, client, auth):
    _organizer, group, session, slots, (_aki, _ben, cho) = crowd
    sign_up(db.session, member=cho, slot=slots["setup"], now=now())
    db.session.commit()
    auth.login_as(cho)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Overlaps your place" not in page
    assert f'action="/g/{group.slug}/slots/{slots["reception"].id}/signup"' in page
    response = client.post(f"/g/{group.slug}/slots/{slots['reception'].id}/signup")
    assert response.status_code == 302
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "You hold Reception at an overlapping time" in page


def test_promotion_passes_by_a_member_whose_place_overlaps_and_tells_them(
    crowd, client, auth, smtp_server
):
    _organizer, group, session, slots, (aki, ben, cho) = crowd
    # Ben waits first for setup, then takes reception (overlapping); Cho waits second.
    ben_waiting = sign_up(db.session, member=ben, slot=slots["setup"], now=now())
    sign_up(db.session, member=ben, slot=slots["reception"], now=now())
    cho_waiting = sign_up(db.session, member=cho, slot=slots["setup"], now=now())
    db.session.commit()

    auth.login_as(aki)
    aki_place = db.session.scalar(
        sa.select(Assignment).where(Assignment.user_id == aki.id, Assignment.status == "confirmed")
    )
    client.post(f"/g/{group.slug}/places/{aki_place.id}/cancel")

    assert db.session.get(Assignment, cho_waiting.id).status == AssignmentStatus.CONFIRMED
    assert db.session.get(Assignment, ben_waiting.id).status == AssignmentStatus.WAITLISTED
    [told] = smtp_server.to("ben@example.com")[-1:]
    assert "設営" in told["Subject"]  # Ben reads Japanese: in his language
    body = told.get_content()
    assert "受付" in body  # why: his place as reception overlaps
    log = db.session.scalars(
        sa.select(StaffingChange.action).where(StaffingChange.assignment_id == ben_waiting.id)
    ).all()
    assert "passed_over" in log

    # Cho gives the place up again: Ben is passed by once more, but told only once.
    auth.login_as(cho)
    client.post(f"/g/{group.slug}/places/{cho_waiting.id}/cancel")
    assert db.session.get(Assignment, ben_waiting.id).status == AssignmentStatus.WAITLISTED
    passed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboundEmail)
        .where(OutboundEmail.user_id == ben.id, OutboundEmail.kind == "waitlist_passed_over")
    )
    assert passed == 1


def test_a_hand_promotion_into_an_overlap_asks_first(crowd):
    organizer, _group, _session, slots, (_aki, ben, _cho) = crowd
    waiting = sign_up(db.session, member=ben, slot=slots["setup"], now=now())
    reception = sign_up(db.session, member=ben, slot=slots["reception"], now=now())
    with pytest.raises(AskFirst) as asked:
        promote_by_hand(db.session, organizer=organizer, place=waiting, now=now())
    assert asked.value.concerns.overlap.id == reception.id
    assert waiting.status == AssignmentStatus.WAITLISTED
    key = asked.value.concerns.key
    promote_by_hand(db.session, organizer=organizer, place=waiting, now=now(), confirmed=key)
    assert waiting.status == AssignmentStatus.CONFIRMED


def test_assigning_over_a_waitlist_place_asks_nothing(crowd):
    organizer, _group, _session, slots, (_aki, ben, _cho) = crowd
    sign_up(db.session, member=ben, slot=slots["setup"], now=now())
    outcome = assign(
        db.session, organizer=organizer, member=ben, slot=slots["reception"], now=now()
    )
    assert outcome.place.status == AssignmentStatus.CONFIRMED
