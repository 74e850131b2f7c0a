"""Organizers are pointed at what needs them: the "needs you" service and the top of /organize,
emails about requests to answer (real SMTP), and what each staffing action says it did."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import JoinPolicy, MemberRole
from studygroup.groups.services import join_group
from studygroup.main.attention import needs_attention
from studygroup.sessions.services import cancel_session
from studygroup.signups.models import Assignment, AssignmentStatus, Attendance
from studygroup.signups.organizing import assign, confirm_attendance, set_attendance
from studygroup.signups.services import sign_up
from studygroup.urls import DEVELOPMENT_BASE_URL
from tests.factories import slots_of


def now():
    return datetime.now(UTC)


def in_days(n):
    return date.today() + timedelta(days=n)


def staff(slot, organizer, *members, at=None):
    """Confirmed places, given by an organizer (as if before the session, for past ones)."""
    for member in members:
        assign(db.session, organizer=organizer, member=member, slot=slot, now=at or now())
    db.session.commit()


def given_before(organizer, member, slot):
    """A confirmed place in a past session, given ten days before it."""
    place = assign(
        db.session,
        organizer=organizer,
        member=member,
        slot=slot,
        now=slot.session.starts_at - timedelta(days=10),
    ).place
    db.session.commit()
    return place


@pytest.fixture
def world(make):
    """An organizer of two groups (and a plain member of a third), with one of each need."""
    organizer = make.user(display_name="Aiko Sato")
    group_a = make.group(organizer, name="A Python", slug="a-python")
    group_b = make.group(organizer, name="B Rust", slug="b-rust", join_policy=JoinPolicy.APPROVAL)
    other = make.group(name="C Other", slug="c-other")
    make.member(other, organizer)
    ken, mari, yui, sho = (
        make.member(group_a, make.user(display_name=name)) for name in ("Ken", "Mari", "Yui", "Sho")
    )

    soon = make.session(group_a, day=in_days(5), title="Soon")
    s = slots_of(soon)
    talk = sign_up(db.session, member=ken, slot=s["speaker"], now=now(), talk_title="Typing")
    staff(s["reception"], organizer, mari, yui)
    waiting = sign_up(db.session, member=sho, slot=s["reception"], now=now())
    db.session.commit()

    later = make.session(group_a, day=in_days(30), title="Later")  # gaps too far ahead to list
    cancelled = make.session(group_a, day=in_days(3), title="Called off")
    sign_up(db.session, member=mari, slot=slots_of(cancelled)["speaker"], now=now(), talk_title="X")
    cancel_session(cancelled, now=now())

    ended = make.session(group_a, day=in_days(-2), title="Ended")
    staff(slots_of(ended)["setup"], organizer, mari, yui, at=now() - timedelta(days=10))
    set_attendance(
        db.session,
        organizer=organizer,
        place=db.session.scalar(
            sa.select(Assignment)
            .where(Assignment.user_id == yui.id)
            .where(Assignment.slot_id == slots_of(ended)["setup"].id)
        ),
        attendance=Attendance.NO_SHOW,
        now=now(),
    )
    confirmed = make.session(group_a, day=in_days(-9), title="Confirmed")
    confirm_attendance(db.session, organizer=organizer, session=confirmed, now=now())
    make.session(group_a, day=in_days(-120), title="Long ago")
    db.session.commit()

    newcomer = make.user(display_name="Newcomer")
    asking = join_group(db.session, user=newcomer, group=group_b, now=now())
    # Needs of a group the organizer only belongs to stay out.
    stranger = make.member(other)
    sign_up(
        db.session,
        member=stranger,
        slot=slots_of(make.session(other))["speaker"],
        now=now(),
        talk_title="Not mine",
    )
    db.session.commit()
    return {
        "organizer": organizer,
        "a": group_a,
        "b": group_b,
        "talk": talk,
        "waiting": waiting,
        "soon": soon,
        "later": later,
        "ended": ended,
        "asking": asking,
    }


def test_needs_attention_lists_what_waits_in_each_group_i_organize(world):
    needs = needs_attention(db.session, world["organizer"], now())
    assert [n.group.name for n in needs] == ["A Python", "B Rust"]
    a, b = needs

    assert [(p.id, p.user.display_name, p.talk_title) for p in a.requests] == [
        (world["talk"].id, "Ken", "Typing")
    ]  # not the request in the cancelled session, nor the other group's

    [line] = a.waitlists
    assert line.role.slot.role_type.key == "reception"
    assert [p.id for p in line.people] == [world["waiting"].id]
    assert (line.role.filled, line.room) == (2, 0)

    [gaps] = a.gaps  # "Later" is 30 days ahead; "Called off" is cancelled
    assert gaps.session.title == "Soon"
    assert [(r.slot.role_type.key, r.missing) for r in gaps.roles] == [("setup", 3), ("speaker", 1)]

    assert [(d.session.title, d.unmarked) for d in a.attendance] == [("Ended", 1)]
    assert a.join_requests == []

    assert (b.requests, b.waitlists, b.gaps, b.attendance) == ([], [], [], [])
    assert [m.user.display_name for m in b.join_requests] == ["Newcomer"]
    assert (a.count, b.count) == (4, 1)


def test_a_waitlist_shows_the_room_a_larger_head_count_makes(world):
    reception = world["waiting"].slot
    reception.headcount = 4
    db.session.commit()
    [a, _b] = needs_attention(db.session, world["organizer"], now())
    [line] = a.waitlists
    assert (line.role.filled, line.room) == (2, 2)
    assert ("reception", 2) in [(r.slot.role_type.key, r.missing) for r in a.gaps[0].roles]


def test_answered_and_confirmed_things_leave_the_list(world, make):
    organizer = world["organizer"]
    from studygroup.groups.services import approve_member
    from studygroup.signups.organizing import answer_request

    answer_request(db.session, organizer=organizer, place=world["talk"], approve=True, now=now())
    approve_member(db.session, world["asking"], now=now())
    confirm_attendance(db.session, organizer=organizer, session=world["ended"], now=now())
    db.session.commit()
    a, b = needs_attention(db.session, organizer, now())
    assert (a.requests, a.attendance, b.join_requests) == ([], [], [])
    assert b.count == 0


def test_someone_who_organizes_nothing_has_no_needs(make):
    assert needs_attention(db.session, make.user(), now()) == []


def test_needs_attention_takes_the_same_queries_for_one_group_or_many(make, count_queries):
    organizer = make.user()

    def busy_group():
        group = make.group(organizer, join_policy=JoinPolicy.APPROVAL)
        members = [make.member(group) for _ in range(4)]
        for day in (2, 6, -1, -3):
            session = make.session(group, day=in_days(day))
            s = slots_of(session)
            if day > 0:
                sign_up(db.session, member=members[0], slot=s["speaker"], now=now(), talk_title="T")
                for m in members[1:]:  # two places, one waits
                    sign_up(db.session, member=m, slot=s["reception"], now=now())
            else:
                staff(s["setup"], organizer, *members[:3], at=now() - timedelta(days=10))
        join_group(db.session, user=make.user(), group=group, now=now())
        db.session.commit()

    busy_group()
    assert organizer.id  # loaded before counting: the service's own queries are counted
    with count_queries() as one:
        [needs] = needs_attention(db.session, organizer, now())
    assert needs.requests and needs.waitlists and needs.gaps and needs.attendance
    assert needs.join_requests
    for _ in range(3):
        busy_group()
    db.session.expire_all()
    assert organizer.id
    with count_queries() as four:
        assert len(needs_attention(db.session, organizer, now())) == 4
    assert one.count == four.count == 3  # memberships, sessions with their slots, places waiting


# --- the page -----------------------------------------------------------------------------


def test_organize_opens_with_what_needs_me_each_one_click_away(client, auth, world):
    auth.login_as(world["organizer"])
    page = client.get("/organize").get_data(as_text=True)
    needs = page[page.index('id="needs"') : page.index("</section>")]
    assert "Needs you" in needs
    assert needs.index("A Python") < needs.index("B Rust")
    assert "Ken asks to speak: “Typing”" in needs
    assert "Newcomer asks to join the group" in needs
    assert "Confirm who worked: Ended" in needs and "1 place not marked yet" in needs
    assert "Reception: 1 waiting" in needs and "the role is full" in needs
    assert "Setup: 3 more needed" in needs and "Speaker: 1 more needed" in needs
    assert "Called off" not in needs and "Later" not in needs and "Not mine" not in needs
    assert "Nothing needs you" not in needs

    links = set(re.findall(r'href="([^"]+)"', needs))
    soon, ended, a, b = world["soon"], world["ended"], world["a"], world["b"]
    reception = world["waiting"].slot
    expected = {
        f"/g/{a.slug}/sessions/{soon.id}/staffing#place-{world['talk'].id}",
        f"/g/{a.slug}/sessions/{soon.id}/staffing#slot-{reception.id}",
        f"/g/{a.slug}/sessions/{soon.id}/staffing#slot-{slots_of(soon)['setup'].id}",
        f"/g/{a.slug}/sessions/{ended.id}/staffing#attendance",
        f"/g/{b.slug}/members?status=pending#member-{world['asking'].id}",
    }
    assert expected <= links
    # Each link lands on a page that has the place it points at.
    for link in expected:
        path, anchor = link.split("#")
        target = client.get(path)
        assert target.status_code == 200, link
        assert f'id="{anchor}"' in target.get_data(as_text=True), link


def test_the_needs_read_in_japanese(client, auth, world):
    world["organizer"].locale = "ja"
    db.session.commit()
    auth.login_as(world["organizer"])
    page = client.get("/organize").get_data(as_text=True)
    assert "対応が必要なこと" in page
    assert "Kenさんの登壇申請「Typing」" in page
    assert "Newcomerさんがグループへの参加を申請しています" in page


def test_nothing_needs_an_organizer_of_a_quiet_group(client, auth, make):
    organizer = make.user()
    make.group(organizer)
    auth.login_as(organizer)
    page = client.get("/organize").get_data(as_text=True)
    assert "Needs you" in page
    assert "Nothing needs you now" in page


def test_a_request_and_a_join_request_are_answered_right_on_organize(client, auth, world):
    auth.login_as(world["organizer"])
    talk, asking, a, b = world["talk"], world["asking"], world["a"], world["b"]
    response = client.post(
        f"/g/{a.slug}/places/{talk.id}", data={"action": "approve", "back": "organize"}
    )
    assert response.status_code == 302 and response.location.endswith("/organize#needs")
    assert db.session.get(Assignment, talk.id).status == AssignmentStatus.CONFIRMED
    page = client.get("/organize").get_data(as_text=True)
    assert "Ken&#39;s talk “Typing” is approved. Ken is told by email." in page
    assert "Ken asks to speak" not in page

    response = client.post(
        f"/g/{b.slug}/members/{asking.id}", data={"action": "decline", "back": "organize"}
    )
    assert response.location.endswith("/organize#needs")
    page = client.get("/organize").get_data(as_text=True)
    assert "Newcomer&#39;s request to join is declined." in page
    assert "Newcomer asks to join" not in page


def test_organize_loads_in_the_same_queries_with_more_needs(client, auth, make, count_queries):
    organizer = make.user()
    group = make.group(organizer)
    members = [make.member(group) for _ in range(4)]
    auth.login_as(organizer)

    def add_session(day):
        s = slots_of(make.session(group, day=in_days(day)))
        for m in members:
            sign_up(db.session, member=m, slot=s["speaker"], now=now(), talk_title="T")
        db.session.commit()

    add_session(4)
    client.get("/organize")
    with count_queries() as few:
        client.get("/organize")
    for day in (5, 6, 7):
        add_session(day)
    with count_queries() as many:
        page = client.get("/organize").get_data(as_text=True)
    assert page.count("asks to speak") == 16
    assert many.count == few.count


# --- what each staffing action says it did --------------------------------------------------


@pytest.fixture
def staffed(make, auth):
    organizer = make.user(display_name="Aiko")
    group = make.group(organizer)
    ito, ueda, mori, kato = (
        make.member(group, make.user(display_name=n)) for n in ("Ito", "Ueda", "Mori", "Kato")
    )
    session = make.session(group, day=in_days(10))
    s = slots_of(session)
    s["reception"].headcount = 1
    db.session.commit()
    auth.login_as(organizer)
    return {
        "group": group,
        "session": session,
        "slots": s,
        "ito": ito,
        "ueda": ueda,
        "mori": mori,
        "kato": kato,
    }


def post_action(client, group, place, **data):
    response = client.post(f"/g/{group.slug}/places/{place.id}", data=data, follow_redirects=True)
    assert response.status_code == 200
    return re.findall(r'<p class="flash [a-z]+"[^>]*>([^<]*)</p>', response.get_data(as_text=True))


def test_each_staffing_action_says_what_happened_with_name_and_role(client, staffed):
    group, s = staffed["group"], staffed["slots"]
    ito, ueda, mori, kato = (staffed[n] for n in ("ito", "ueda", "mori", "kato"))
    talk = sign_up(db.session, member=ito, slot=s["speaker"], now=now(), talk_title="型ヒント入門")
    first = sign_up(db.session, member=ueda, slot=s["reception"], now=now())
    second = sign_up(db.session, member=mori, slot=s["reception"], now=now())
    third = sign_up(db.session, member=kato, slot=s["reception"], now=now())
    db.session.commit()
    assert (second.status, third.status) == ("waitlisted", "waitlisted")

    assert post_action(client, group, talk, action="approve") == [
        "Ito&#39;s talk “型ヒント入門” is approved. Ito is told by email."
    ]
    assert post_action(client, group, third, action="up") == [
        "Kato is number 1 on the waitlist for Reception now."
    ]
    assert post_action(client, group, third, action="down") == [
        "Kato is number 2 on the waitlist for Reception now."
    ]
    # Reception is full: promoting asks first, and saves nothing until confirmed.
    asked = client.post(f"/g/{group.slug}/places/{second.id}", data={"action": "promote"})
    page = asked.get_data(as_text=True)
    assert "Promote Mori from the waitlist to Reception?" in page
    key = re.search(r'name="confirmed" value="([^"]*)"', page).group(1)
    assert post_action(client, group, second, action="promote", confirmed=key) == [
        "Mori has the place as Reception now. Mori is told by email.",
    ]
    assert post_action(client, group, first, action="move", to_slot_id=s["setup"].id) == [
        "Ueda is moved from Reception to Setup. Ueda is told by email.",
    ]
    assert post_action(client, group, second, action="remove") == [
        "Mori is removed from Reception. Mori is told by email.",
        "Kato moved up from the waitlist. Kato is told by email.",
    ]


def test_the_message_says_no_email_went_when_the_member_turned_it_off(client, staffed):
    group, s, ito = staffed["group"], staffed["slots"], staffed["ito"]
    ito.email_signups = False
    talk = sign_up(db.session, member=ito, slot=s["speaker"], now=now(), talk_title="Typing")
    db.session.commit()
    assert post_action(client, group, talk, action="decline") == [
        "Ito&#39;s talk “Typing” is declined."
    ]


def test_attendance_marks_say_whose_and_which_role(client, make, auth):
    organizer = make.user()
    group = make.group(organizer)
    ito = make.member(group, make.user(display_name="Ito"))
    place = given_before(organizer, ito, slots_of(make.session(group, day=in_days(-3)))["setup"])
    auth.login_as(organizer)
    assert post_action(client, group, place, action="no_show") == [
        "Ito is marked as a no-show (Setup)."
    ]
    assert post_action(client, group, place, action="worked") == [
        "Ito is marked as worked (Setup)."
    ]


def test_approving_in_japanese_names_the_talk(client, staffed):
    group, s, ito = staffed["group"], staffed["slots"], staffed["ito"]
    talk = sign_up(db.session, member=ito, slot=s["speaker"], now=now(), talk_title="型ヒント入門")
    db.session.commit()
    client.post("/language", data={"lang": "ja"})
    assert post_action(client, group, talk, action="approve") == [
        "Itoさんの発表「型ヒント入門」を承認しました。Itoさんにメールでお知らせしました。"
    ]


# --- item 13: moving reads as an action ------------------------------------------------------


def test_moving_reads_as_an_action_with_no_role_preset(client, staffed):
    group, session, s = staffed["group"], staffed["session"], staffed["slots"]
    place = sign_up(db.session, member=staffed["ito"], slot=s["reception"], now=now())
    db.session.commit()
    page = client.get(f"/g/{group.slug}/sessions/{session.id}/staffing").get_data(as_text=True)
    item = page[page.index(f'id="place-{place.id}"') :]
    item = item[: item.index("</li>")]
    assert "<select" not in item  # nothing that reads as Ito's current role
    assert "<summary>Move to…</summary>" in item
    targets = re.findall(
        r'<button type="submit" name="to_slot_id" value="(\d+)"[^>]*>([^<]+)<', item
    )
    assert [(int(v), label) for v, label in targets] == [
        (s["setup"].id, "Setup"),
        (s["speaker"].id, "Speaker"),
    ]
    assert 'aria-label="Move Ito to Setup"' in item


@pytest.mark.parametrize("to_slot", [None, "", "abc", "0"])
def test_moving_without_a_role_asks_for_one(client, staffed, to_slot):
    group, s = staffed["group"], staffed["slots"]
    place = sign_up(db.session, member=staffed["ito"], slot=s["reception"], now=now())
    db.session.commit()
    data = {"action": "move"} if to_slot is None else {"action": "move", "to_slot_id": to_slot}
    assert post_action(client, group, place, **data) == ["Choose the role to move Ito to."]
    assert db.session.get(Assignment, place.id).slot_id == s["reception"].id


# --- emails to organizers (real SMTP) ---------------------------------------------------------


def test_a_speaker_request_emails_every_organizer_in_their_language(
    client, auth, make, smtp_server
):
    lead = make.user("lead@example.com", display_name="Lead", locale="en")
    group = make.group(lead, name="渋谷Python勉強会")
    make.member(
        group,
        make.user("co@example.com", display_name="共同", locale="ja"),
        role=MemberRole.ORGANIZER,
    )
    quiet = make.member(
        group, make.user("quiet@example.com", display_name="Quiet"), role=MemberRole.ORGANIZER
    )
    quiet.email_organizer_requests = False
    former = make.member(group, make.user("former@example.com"), role=MemberRole.ORGANIZER)
    from studygroup.groups.services import leave_group, membership_of

    leave_group(db.session, membership_of(db.session, former, group), now=now())
    speaker = make.member(group, make.user("ken@example.com", display_name="Ken Ito", locale="en"))
    session = make.session(group, day=in_days(10), title="第12回")
    db.session.commit()

    auth.login_as(speaker)
    client.post(
        f"/g/{group.slug}/slots/{slots_of(session)['speaker'].id}/signup",
        data={"talk_title": "Typing in practice", "talk_abstract": "Why and how."},
    )
    place = db.session.scalar(sa.select(Assignment).where(Assignment.user_id == speaker.id))
    assert place.status == AssignmentStatus.REQUESTED

    assert len(smtp_server.to("ken@example.com")) == 1  # their own "request sent"
    assert smtp_server.to("quiet@example.com") == [] and smtp_server.to("former@example.com") == []
    [english] = smtp_server.to("lead@example.com")
    assert english["Subject"] == "To answer: Ken Ito asks to speak at 第12回"
    body = english.get_content()
    assert "Ken Ito asks for a place as Speaker." in body
    assert "Talk: Typing in practice" in body and "Why and how." in body
    link = f"/g/{group.slug}/sessions/{session.id}/staffing#place-{place.id}"
    assert f"Answer it here: {DEVELOPMENT_BASE_URL}{link}" in body
    assert "because you organize 渋谷Python勉強会" in body
    [japanese] = smtp_server.to("co@example.com")
    assert japanese["Subject"] == "要対応: Ken Itoさんが第12回での登壇を申請しています"
    assert f"こちらから対応できます: {DEVELOPMENT_BASE_URL}{link}" in japanese.get_content()


def test_an_organizer_asking_is_not_told_of_their_own_request(make, smtp_server):
    lead = make.user("lead@example.com")
    group = make.group(lead)
    co = make.member(group, make.user("co@example.com", locale="en"), role=MemberRole.ORGANIZER)
    session = make.session(group, day=in_days(10))
    sign_up(db.session, member=co, slot=slots_of(session)["speaker"], now=now(), talk_title="Mine")
    from studygroup.views import commit_and_send

    commit_and_send()
    assert [m["Subject"] for m in smtp_server.to("co@example.com")] == [
        f"Request sent: Speaker, {session.title}"
    ]
    assert len(smtp_server.to("lead@example.com")) == 1


def test_a_member_over_the_no_show_limit_makes_an_approval_request(make, smtp_server):
    lead = make.user("lead@example.com", locale="en")
    group = make.group(lead)
    group.no_show_limit = 1
    ken = make.member(group, make.user(display_name="Ken"))
    place = given_before(lead, ken, slots_of(make.session(group, day=in_days(-5)))["setup"])
    set_attendance(
        db.session, organizer=lead, place=place, attendance=Attendance.NO_SHOW, now=now()
    )
    session = make.session(group, day=in_days(10), title="Next")
    request = sign_up(db.session, member=ken, slot=slots_of(session)["reception"], now=now())
    assert request.status == AssignmentStatus.REQUESTED
    from studygroup.views import commit_and_send

    commit_and_send()
    [told] = smtp_server.to("lead@example.com")[-1:]
    assert told["Subject"] == "To answer: Ken asks for a place as Reception, Next"
    assert "After their no-shows in this group" in told.get_content()


def test_a_join_request_emails_the_organizers(client, auth, make, smtp_server):
    lead = make.user("lead@example.com", locale="en")
    group = make.group(lead, name="Rust 読書会", join_policy=JoinPolicy.APPROVAL)
    newcomer = make.user("new@example.com", display_name="Newcomer")
    auth.login_as(newcomer)
    client.post(f"/g/{group.slug}/join")
    client.post(f"/g/{group.slug}/join")  # asking again is one request, one email
    from studygroup.groups.services import membership_of

    membership = membership_of(db.session, newcomer, group)
    assert membership.status == "pending"
    [told] = smtp_server.to("lead@example.com")
    assert told["Subject"] == "To answer: Newcomer asks to join Rust 読書会"
    body = told.get_content()
    assert "Newcomer asks to join the group." in body
    assert (
        f"Answer it here: {DEVELOPMENT_BASE_URL}/g/{group.slug}/members?status=pending"
        f"#member-{membership.id}" in body
    )
    assert "Session:" not in body
    assert smtp_server.to("new@example.com") == []


def test_organizers_turn_request_emails_off_on_their_profile(client, auth, make, smtp_server):
    lead = make.user("lead@example.com", display_name="Lead")
    group = make.group(lead, join_policy=JoinPolicy.APPROVAL)
    auth.login_as(lead)
    page = client.get("/profile").get_data(as_text=True)
    assert "Requests to answer in groups I organize" in page
    assert re.search(r'<input[^>]* checked [^>]*name="email_organizer_requests"', page)
    client.post(
        "/profile",
        data={"display_name": "Lead", "timezone": "Asia/Tokyo", "email_signups": "y"},
    )
    db.session.refresh(lead)
    assert lead.email_organizer_requests is False
    auth.login_as(make.user())
    client.post(f"/g/{group.slug}/join")
    assert smtp_server.to("lead@example.com") == []


def test_an_accepted_newcomer_is_told_where_to_sign_up(client, auth, make, smtp_server):
    lead = make.user("lead@example.com", locale="en")
    group = make.group(lead, name="Rust 読書会", join_policy=JoinPolicy.APPROVAL)
    newcomer = make.user("new@example.com", display_name="Newcomer", locale="ja")
    auth.login_as(newcomer)
    client.post(f"/g/{group.slug}/join")
    from studygroup.groups.services import membership_of

    membership = membership_of(db.session, newcomer, group)
    assert smtp_server.to("new@example.com") == []
    auth.login_as(lead)
    client.post(f"/g/{group.slug}/members/{membership.id}", data={"action": "approve"})
    [welcome] = smtp_server.to("new@example.com")
    assert welcome["Subject"] == "Rust 読書会へようこそ"
    body = welcome.get_content()
    assert "参加申請が承認されました" in body
    assert f"{DEVELOPMENT_BASE_URL}/g/{group.slug}" in body
