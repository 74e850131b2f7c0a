"""The staffing pages say what happened and what is left (trial of issue 9: T15, T16, T20, T22,
T23): history names whose place it is, the attendance button goes once nothing is left, the
flashes tell the same way whether the member hears by email, dates come with their times."""

import re

import pytest

from studygroup.extensions import db
from studygroup.signups.models import Attendance
from studygroup.signups.organizing import set_attendance
from studygroup.signups.services import sign_up
from tests import test_organize
from tests.factories import slots_of
from tests.test_organize import given_before, in_days, now, post_action

staffed = test_organize.staffed


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash [a-z]+"[^>]*>([^<]*)</p>', page)


def _history(page: str) -> str:
    return re.sub(r"\s+", " ", page.split('<ul class="history">', 1)[1].split("</ul>", 1)[0])


def test_history_names_the_member_when_an_organizer_assigns_herself(client, auth, make):
    organizer = make.user(display_name="Misaki")
    group = make.group(organizer)
    ken = make.member(group, make.user(display_name="Ken"))
    session = make.session(group, day=in_days(10))
    setup = slots_of(session)["setup"]
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}/staffing"
    client.post(f"{url}/assign", data={"slot_id": setup.id, "user_id": organizer.id})
    auth.login_as(ken)
    client.post(f"/g/{group.slug}/slots/{setup.id}/signup")
    auth.login_as(organizer)
    history = _history(client.get(url).get_data(as_text=True))
    assert "Misaki: assigned — Misaki, Setup" in history
    assert "Ken: signed up — Setup" in history  # her own sign-up needs her name once


def test_the_attendance_button_goes_once_nothing_is_left_to_record(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    ito, ueda = (make.member(group, make.user(display_name=n)) for n in ("Ito", "Ueda"))
    session = make.session(group, day=in_days(-2))
    setup = slots_of(session)["setup"]
    first = given_before(organizer, ito, setup)
    given_before(organizer, ueda, setup)
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}/staffing"
    button = re.compile(r"<button[^>]*>(Confirm attendance[^<]*)</button>")

    assert button.findall(client.get(url).get_data(as_text=True)) == [
        "Confirm attendance: 2 unrecorded places count as worked"
    ]
    set_attendance(
        db.session, organizer=organizer, place=first, attendance=Attendance.NO_SHOW, now=now()
    )
    db.session.commit()
    assert button.findall(client.get(url).get_data(as_text=True)) == [
        "Confirm attendance: 1 unrecorded place counts as worked"
    ]
    confirmed = client.post(f"/g/{group.slug}/sessions/{session.id}/attendance")
    page = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "Attendance confirmed: 1 place marked as worked." in _flashes(page)
    assert button.findall(page) == []
    assert "Attendance confirmed on " in page


def test_everyone_recorded_by_hand_is_confirmed_without_a_count_of_nothing(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    ito = make.member(group, make.user(display_name="Ito"))
    session = make.session(group, day=in_days(-2))
    place = given_before(organizer, ito, slots_of(session)["setup"])
    set_attendance(
        db.session, organizer=organizer, place=place, attendance=Attendance.WORKED, now=now()
    )
    db.session.commit()
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}/staffing"
    assert "Confirm attendance: everyone is recorded" in client.get(url).get_data(as_text=True)
    confirmed = client.post(f"/g/{group.slug}/sessions/{session.id}/attendance")
    page = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert _flashes(page) == ["Attendance confirmed."]
    assert "Confirm attendance" not in page


def test_assigning_says_the_member_is_told_by_email_as_moving_does(client, staffed):
    group, session, s = staffed["group"], staffed["session"], staffed["slots"]
    ito, ueda = staffed["ito"], staffed["ueda"]
    ueda.email_signups = False
    db.session.commit()
    url = f"/g/{group.slug}/sessions/{session.id}/staffing/assign"
    told = client.post(url, data={"slot_id": s["setup"].id, "user_id": ito.id})
    assert _flashes(client.get(told.headers["Location"]).get_data(as_text=True)) == [
        "Ito is assigned to Setup. Ito is told by email."
    ]
    quiet = client.post(url, data={"slot_id": s["setup"].id, "user_id": ueda.id})
    assert _flashes(client.get(quiet.headers["Location"]).get_data(as_text=True)) == [
        "Ueda is assigned to Setup."
    ]


def test_a_promotion_reads_as_one_in_both_languages(client, staffed):
    group, session, s = staffed["group"], staffed["session"], staffed["slots"]
    ito, ueda = staffed["ito"], staffed["ueda"]
    first = sign_up(db.session, member=ito, slot=s["reception"], now=now())
    sign_up(db.session, member=ueda, slot=s["reception"], now=now())
    db.session.commit()
    page = client.get(f"/g/{group.slug}/sessions/{session.id}/staffing").get_data(as_text=True)
    assert re.search(r'<button[^>]*value="promote"[^>]*>Promote</button>', page)
    assert "Give the place" not in page

    client.post("/language", data={"lang": "ja"})  # the organizer reads Japanese
    flashes = post_action(client, group, first, action="remove")
    assert "Ueda さんがキャンセル待ちから繰り上がりました。" not in flashes  # no stray space
    assert (
        flashes[1]
        == "Uedaさんがキャンセル待ちから繰り上がりました。Uedaさんにメールでお知らせしました。"
    )


def test_the_staffing_overview_shows_each_sessions_time(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    make.session(group, day=in_days(8), title="Morning")
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/staffing").get_data(as_text=True)
    row = page.split("Morning", 1)[1].split("</td>", 1)[0]
    assert re.search(r"10:00\s*–\s*12:00", row), row


@pytest.mark.parametrize("started", [False, True])
def test_the_edit_page_leads_to_staffing_and_to_cancel_or_not_held(client, auth, make, started):
    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group, day=in_days(-3 if started else 9))
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}/edit").get_data(as_text=True)
    assert f'href="/g/{group.slug}/sessions/{session.id}/staffing"' in page
    if started:
        assert f'action="/g/{group.slug}/sessions/{session.id}/not-held"' in page
        assert f'action="/g/{group.slug}/sessions/{session.id}/cancel"' not in page
    else:
        assert f'action="/g/{group.slug}/sessions/{session.id}/cancel"' in page
        assert "Cancel this session" in page
