"""Issue 13, the organizer's pages: /organize, the staffing overview and a session's staffing
page each build cold in at most four statements (the login statement included) however much
the group holds, are served warm in one, and show a change on the next request."""

import re
from types import SimpleNamespace

import pytest

from studygroup.extensions import db
from studygroup.signups.availability_changes import set_availability
from studygroup.signups.offers import offer_place, take_offer
from studygroup.signups.organizing import assign
from studygroup.signups.services import sign_up
from tests.conftest import kept_statements
from tests.factories import slots_of
from tests.test_organize import given_before, in_days, now


@pytest.fixture
def crew(make, auth):
    organizer = make.user(display_name="Aiko")
    group = make.group(organizer)
    auth.login_as(organizer)
    return SimpleNamespace(make=make, organizer=organizer, group=group, rounds=0, upcoming=[])


def grow(crew):
    """One more round of everything the pages show: members, coming sessions with confirmed
    places, a waitlist, a talk request, an offer taken as a request, "can help" answers, and
    past sessions with worked places (the assign form's "has done")."""
    make, organizer, group = crew.make, crew.organizer, crew.group
    crew.rounds += 1
    r = crew.rounds
    members = [make.member(group, make.user(display_name=f"M{r}-{n}")) for n in range(6)]
    for day in (3 + r, 10 + r):
        session = make.session(group, day=in_days(day), title=f"Coming {r}/{day}")
        crew.upcoming.append(session)
        s = slots_of(session)
        s["reception"].headcount = 2
        db.session.commit()
        for m in members[:3]:
            sign_up(db.session, member=m, slot=s["reception"], now=now())
        sign_up(db.session, member=members[3], slot=s["speaker"], now=now(), talk_title="Talk")
        place = assign(
            db.session, organizer=organizer, member=members[4], slot=s["setup"], now=now()
        )
        db.session.commit()
        offer = offer_place(db.session, place=place.place, member=members[4], note="", now=now())
        db.session.commit()
        s["setup"].role_type.requires_approval = False
        take_offer(db.session, offer=offer.offer, member=members[5], now=now())
        set_availability(db.session, member=members[0], session=session, any_role=True, now=now())
        set_availability(
            db.session,
            member=members[1],
            session=session,
            any_role=False,
            role_type_ids=[s["setup"].role_type_id],
            now=now(),
        )
        db.session.commit()
    past = make.session(group, day=in_days(-7 - r), title=f"Past {r}")
    for m in members[:2]:
        given_before(organizer, m, slots_of(past)["setup"])
    crew.past = past


def _cold(client, count_queries, url):
    client.get(url)
    with count_queries() as q:
        response = client.get(url)
    assert response.status_code == 200
    return q.count


def _warm(client, count_queries, url):
    return kept_statements(client, count_queries, url)


def _urls(crew):
    slug = crew.group.slug
    return {
        "organize": "/organize",
        "overview": f"/g/{slug}/staffing",
        "gaps": f"/g/{slug}/staffing?show=gaps",
        "staffing": f"/g/{slug}/sessions/{crew.upcoming[0].id}/staffing",
        "past staffing": f"/g/{slug}/sessions/{crew.past.id}/staffing",
    }


@pytest.mark.parametrize("page", ["organize", "overview", "gaps", "staffing", "past staffing"])
def test_cold_page_takes_at_most_four_statements_however_much_data(
    client, crew, count_queries, page
):
    grow(crew)
    url = _urls(crew)[page]
    once = _cold(client, count_queries, url)
    grow(crew)
    assert _cold(client, count_queries, url) == once <= 4


@pytest.mark.parametrize("page", ["organize", "overview", "staffing", "past staffing"])
def test_warm_page_takes_one_statement(client, crew, count_queries, page):
    grow(crew)
    assert _warm(client, count_queries, _urls(crew)[page]) == 1


def test_organize_shows_a_renamed_session_next(client, crew):
    grow(crew)
    assert "Coming 1/4" in client.get("/organize").get_data(as_text=True)
    crew.upcoming[0].title = "Renamed meetup"
    db.session.commit()
    page = client.get("/organize").get_data(as_text=True)
    assert "Renamed meetup" in page and "Coming 1/4" not in page


def test_overview_shows_a_new_sign_up_next(client, crew, make):
    grow(crew)
    url = f"/g/{crew.group.slug}/staffing"
    assert "1/3" in client.get(url).get_data(as_text=True)  # setup: one of three
    newcomer = make.member(crew.group, make.user(display_name="Newcomer"))
    for session in crew.upcoming:
        sign_up(db.session, member=newcomer, slot=slots_of(session)["setup"], now=now())
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "1/3" not in page and "2/3" in page


def test_staffing_page_shows_an_assignment_and_a_new_member_next(client, crew, make):
    grow(crew)
    session = crew.upcoming[0]
    url = f"/g/{crew.group.slug}/sessions/{session.id}/staffing"
    assert "Newcomer" not in client.get(url).get_data(as_text=True)
    newcomer = make.member(crew.group, make.user(display_name="Newcomer"))
    page = client.get(url).get_data(as_text=True)
    assert '">Newcomer</option>' in page  # in the assign form, nowhere else yet
    setup = slots_of(session)["setup"]
    client.post(f"{url}/assign", data={"slot_id": setup.id, "user_id": newcomer.id})
    page = client.get(url).get_data(as_text=True)
    assert '<span class="name">Newcomer</span>' in page


def test_past_staffing_page_shows_attendance_marked_next(client, crew):
    grow(crew)
    url = f"/g/{crew.group.slug}/sessions/{crew.past.id}/staffing"
    assert "No-show" in client.get(url).get_data(as_text=True)
    place_ids = [p for p in _place_ids(client.get(url).get_data(as_text=True))]
    client.post(f"/g/{crew.group.slug}/places/{place_ids[0]}", data={"action": "no_show"})
    assert "att-no_show" in client.get(url).get_data(as_text=True)


def _place_ids(page):
    return [int(n) for n in re.findall(r'<li id="place-(\d+)">', page)]


def test_has_done_shows_after_a_worked_session(client, crew, make):
    grow(crew)
    session = crew.upcoming[0]
    url = f"/g/{crew.group.slug}/sessions/{session.id}/staffing"
    newcomer = make.member(crew.group, make.user(display_name="Newcomer"))
    page = client.get(url).get_data(as_text=True)
    assert '">Newcomer</option>' in page
    given_before(crew.organizer, newcomer, slots_of(crew.past)["reception"])
    page = client.get(url).get_data(as_text=True)
    assert '">Newcomer · has done Reception</option>' in page


def test_can_help_shows_a_new_answer_next(client, crew, make):
    grow(crew)
    session = crew.upcoming[0]
    url = f"/g/{crew.group.slug}/sessions/{session.id}/staffing"
    newcomer = make.member(crew.group, make.user(display_name="Newcomer"))
    assert "<td>Newcomer" not in client.get(url).get_data(as_text=True)
    set_availability(db.session, member=newcomer, session=session, any_role=True, now=now())
    db.session.commit()
    assert "<td>Newcomer" in client.get(url).get_data(as_text=True)


def test_can_help_lists_what_the_availability_rules_say_for_a_series(client, auth, make):
    from studygroup.signups.availability import current_availability
    from tests.test_availability_pages import _series

    organizer = make.user()
    group = make.group(organizer)
    usually, once = (make.member(group, make.user(display_name=n)) for n in ("Usu", "Once"))
    first, second, *_ = _series(group, organizer)
    auth.login_as(usually)
    client.post(
        f"/g/{group.slug}/sessions/{first.id}/availability",
        data={"any_role": "any", "usually": "y"},
    )
    setup = slots_of(second)["setup"]
    set_availability(
        db.session,
        member=once,
        session=second,
        any_role=False,
        role_type_ids=[setup.role_type_id],
        now=now(),
    )
    db.session.commit()
    auth.login_as(organizer)
    for session, names in ((first, {"Usu"}), (second, {"Usu", "Once"})):
        url = f"/g/{group.slug}/sessions/{session.id}/staffing"
        page = client.get(url).get_data(as_text=True)
        listed = set(re.findall(r"<tr><td>(\w+)", page))
        ruled = current_availability(db.session, [session])[session.id]
        assert listed == names == {db.session.get(type(usually), u).display_name for u in ruled}
        assert page.count("usually available") == 1
    assert "<td>Setup</td>" in page
