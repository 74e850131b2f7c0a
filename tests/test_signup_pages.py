import csv
import io
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.signups.models import Assignment, AssignmentStatus, Attendance, StaffingChange
from studygroup.signups.organizing import assign, set_attendance
from studygroup.signups.services import sign_up
from tests.factories import slots_of


def test_members_see_names_and_the_public_sees_counts(client, auth, make):
    group = make.group()
    helper = make.member(group, make.user(display_name="Hanako Helper"))
    session = make.session(group, day=date.today() + timedelta(days=10))
    sign_up(db.session, member=helper, slot=slots_of(session)["setup"], now=datetime.now(UTC))
    db.session.commit()
    path = f"/g/{group.slug}/sessions/{session.id}"
    public = client.get(path).get_data(as_text=True)
    assert "Hanako Helper" not in public and "1 of 3" in public
    auth.login_as(make.member(group))
    page = client.get(path).get_data(as_text=True)
    assert "Hanako Helper" in page and "2 more needed" in page and "Sign up" in page


def test_sign_up_cancel_and_schedule_through_the_pages(client, auth, make):
    group = make.group()
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=10), title="第3回")
    setup, reception, speaker = slots_of(session).values()
    auth.login_as(member)
    response = client.post(f"/g/{group.slug}/slots/{setup.id}/signup", follow_redirects=True)
    assert "You are signed up as Setup" in response.get_data(as_text=True)
    clash = client.post(f"/g/{group.slug}/slots/{reception.id}/signup", follow_redirects=True)
    assert "overlaps with your place as Setup" in clash.get_data(as_text=True)
    talk = client.post(
        f"/g/{group.slug}/slots/{speaker.id}/signup",
        data={"talk_title": "", "talk_abstract": ""},
        follow_redirects=True,
    )
    assert "Give a title" in talk.get_data(as_text=True)
    schedule = client.get("/schedule").get_data(as_text=True)
    assert "第3回" in schedule and "Confirmed" in schedule
    place = db.session.scalar(sa.select(Assignment).where(Assignment.user_id == member.id))
    client.post(f"/g/{group.slug}/places/{place.id}/cancel", data={"back": "schedule"})
    assert db.session.get(Assignment, place.id).status == AssignmentStatus.CANCELLED
    assert "You have no places coming up." in client.get("/schedule").get_data(as_text=True)


def test_a_member_cannot_cancel_someone_elses_place(client, auth, make):
    group = make.group()
    owner, other = make.member(group), make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=10))
    place = sign_up(
        db.session, member=owner, slot=slots_of(session)["setup"], now=datetime.now(UTC)
    )
    db.session.commit()
    auth.login_as(other)
    assert client.post(f"/g/{group.slug}/places/{place.id}/cancel").status_code == 403
    other_group = make.group()
    auth.login_as(make.member(other_group))
    assert client.post(f"/g/{other_group.slug}/places/{place.id}/cancel").status_code == 404


def test_organizer_staffing_flow_and_history(client, auth, make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    a = make.member(group, make.user(display_name="Aki"))
    b = make.member(group, make.user(display_name="Ben"))
    session = make.session(group, day=date.today() + timedelta(days=10))
    setup, reception, _speaker = slots_of(session).values()
    reception.headcount = 1
    db.session.commit()
    auth.login_as(organizer)
    overview = client.get(f"/g/{group.slug}/staffing").get_data(as_text=True)
    assert "0/1" in overview and "1 more needed" in overview
    client.post(
        f"/g/{group.slug}/sessions/{session.id}/staffing/assign",
        data={"slot_id": reception.id, "user_id": a.id},
    )
    over = client.post(
        f"/g/{group.slug}/sessions/{session.id}/staffing/assign",
        data={"slot_id": reception.id, "user_id": b.id},
    )
    assert "Reception is full (1/1)" in over.get_data(as_text=True)
    client.post(
        f"/g/{group.slug}/sessions/{session.id}/staffing/assign",
        data={"slot_id": reception.id, "user_id": b.id, "confirmed": "full:1/1"},
    )
    place_b = db.session.scalar(sa.select(Assignment).where(Assignment.user_id == b.id))
    client.post(
        f"/g/{group.slug}/places/{place_b.id}", data={"action": "move", "to_slot_id": setup.id}
    )
    moved = db.session.scalar(
        sa.select(Assignment).where(
            Assignment.user_id == b.id, Assignment.status == AssignmentStatus.CONFIRMED
        )
    )
    assert moved.slot_id == setup.id
    page = client.get(f"/g/{group.slug}/sessions/{session.id}/staffing").get_data(as_text=True)
    assert "Aki" in page and "Ben" in page and "History" in page
    actions = set(db.session.scalars(sa.select(StaffingChange.action)))
    assert {"assigned", "moved"} <= actions


def test_attendance_in_one_click_and_records_with_csv(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    worker = make.member(group, make.user(display_name='=HYPERLINK("x")'))
    absent = make.member(group, make.user(display_name="佐藤"))
    past = make.session(group, day=date.today() - timedelta(days=3), title="第1回")
    setup = slots_of(past)["setup"]
    now = datetime.now(UTC)
    assign(db.session, organizer=organizer, member=worker, slot=setup, now=now)
    no_show = assign(db.session, organizer=organizer, member=absent, slot=setup, now=now).place
    set_attendance(
        db.session, organizer=organizer, place=no_show, attendance=Attendance.NO_SHOW, now=now
    )
    db.session.commit()
    auth.login_as(organizer)
    response = client.post(f"/g/{group.slug}/sessions/{past.id}/attendance", follow_redirects=True)
    assert "1 place marked as worked" in response.get_data(as_text=True)

    export = client.get(f"/g/{group.slug}/records.csv")
    assert export.mimetype == "text/csv"
    raw = export.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name['\'=HYPERLINK("x")'][1] == "1"  # neutralised, and counted
    assert by_name["佐藤"][4] == "1"
    staffing = client.get(f"/g/{group.slug}/sessions/{past.id}/staffing.csv")
    text = staffing.get_data().decode("utf-8-sig")
    assert "第1回" in text and "No-show" in text and "'=HYPERLINK" in text

    page = client.get(f"/g/{group.slug}/records").get_data(as_text=True)
    assert "Setup ×1" in page


def test_staffing_pages_use_a_fixed_number_of_queries(client, auth, make, count_queries):
    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group, day=date.today() + timedelta(days=10))
    auth.login_as(organizer)
    path = f"/g/{group.slug}/sessions/{session.id}/staffing"

    def measure():
        with count_queries() as q:
            assert client.get(path).status_code == 200
        return q.count

    few = measure()
    for slot in slots_of(session).values():
        slot.headcount = 10
        for _ in range(3):
            member = make.member(group)
            sign_up(db.session, member=member, slot=slot, now=datetime.now(UTC), talk_title="t")
    db.session.commit()
    assert measure() == few


def test_a_confirmed_talk_shows_on_the_session_page_for_everyone(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    speaker = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=10))
    auth.login_as(speaker)
    client.post(
        f"/g/{group.slug}/slots/{slots_of(session)['speaker'].id}/signup",
        data={"talk_title": "型ヒントとFlask", "talk_abstract": "入門"},
    )
    place = db.session.scalar(sa.select(Assignment).where(Assignment.user_id == speaker.id))
    assert place.status == AssignmentStatus.REQUESTED
    path = f"/g/{group.slug}/sessions/{session.id}"
    assert "型ヒントとFlask" not in client.get(path).get_data(as_text=True).split("<main")[1]
    auth.login_as(organizer)
    client.post(f"/g/{group.slug}/places/{place.id}", data={"action": "approve"})
    client.post("/logout")
    assert "“型ヒントとFlask”" in client.get(path).get_data(as_text=True)


def test_sign_up_window_is_explained_and_enforced(client, auth, make):
    group = make.group()
    member = make.member(group)
    far = make.session(group, day=date.today() + timedelta(days=120))
    auth.login_as(member)
    page = client.get(f"/g/{group.slug}/sessions/{far.id}").get_data(as_text=True)
    assert "Sign-up opens on" in page and "Sign up</button>" not in page
    refused = client.post(
        f"/g/{group.slug}/slots/{slots_of(far)['setup'].id}/signup", follow_redirects=True
    )
    assert "has not opened yet" in refused.get_data(as_text=True)


def test_assigning_shows_who_has_done_the_role_before(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    veteran = make.member(group, make.user(display_name="Veteran"))
    past = make.session(group, day=date.today() - timedelta(days=30))
    assign(
        db.session,
        organizer=organizer,
        member=veteran,
        slot=slots_of(past)["setup"],
        now=datetime.now(UTC),
    )
    db.session.commit()
    upcoming = make.session(group, day=date.today() + timedelta(days=10))
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/sessions/{upcoming.id}/staffing").get_data(as_text=True)
    assert "Veteran · has done Setup" in page


def test_raising_the_head_count_promotes_the_waitlist(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group, day=date.today() + timedelta(days=10))
    reception = slots_of(session)["reception"]
    reception.headcount = 1
    db.session.commit()
    first, second = make.member(group), make.member(group)
    for member in (first, second):
        sign_up(db.session, member=member, slot=reception, now=datetime.now(UTC))
    db.session.commit()
    auth.login_as(organizer)
    client.post(
        f"/g/{group.slug}/sessions/{session.id}/slots/{reception.id}",
        data={
            f"slot{reception.id}-headcount": "2",
            f"slot{reception.id}-start_time": "09:30",
            f"slot{reception.id}-end_time": "10:30",
        },
    )
    statuses = set(
        db.session.scalars(sa.select(Assignment.status).where(Assignment.slot_id == reception.id))
    )
    assert statuses == {AssignmentStatus.CONFIRMED}
