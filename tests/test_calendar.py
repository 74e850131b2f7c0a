"""Calendar feeds, read back with vobject (not the icalendar library that wrote them)."""

import io
import json
import logging
import re
import time as time_module
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa
import vobject
from sqlalchemy import event

from studygroup.auth.models import User
from studygroup.calendar import feeds, tokens
from studygroup.extensions import db
from studygroup.groups.models import Group, Membership, Visibility
from studygroup.groups.role_types import role_types_of
from studygroup.sessions.models import StudySession
from studygroup.sessions.services import (
    cancel_session,
    create_session,
    reinstate_session,
    to_utc,
    update_session,
    update_slot,
)
from studygroup.signups.models import Assignment
from studygroup.signups.organizing import assign
from studygroup.signups.services import cancel_place, sign_up
from tests.factories import slots_of

NOW = datetime.now(UTC)
EN = feeds.FeedOptions(locale="en", base_url="https://sg.example", uid_domain="sg.example")
JA = feeds.FeedOptions(locale="ja", base_url="https://sg.example", uid_domain="sg.example")


def parse(body: bytes):
    # A VTIMEZONE belongs to its own calendar (RFC 5545), but vobject keeps the first one it
    # met for each TZID for the whole process; forget them so each feed is read on its own.
    vobject.icalendar.__dict__["__tzidMap"].clear()
    return vobject.readOne(body.decode("utf-8"))


def events(body: bytes) -> dict[str, object]:
    calendar = parse(body)
    return {event.uid.value: event for event in calendar.contents.get("vevent", [])}


def group_body(group, options=EN, now=None) -> bytes:
    now = now or NOW
    sessions = feeds.group_feed_sessions(db.session, group, now=now)
    return feeds.group_feed(group, sessions, options=options)


def member_body(member, options=EN, now=None) -> bytes:
    now = now or NOW
    data = feeds.member_feed_data(db.session, member, now=now)
    return feeds.member_feed(member, data, options=options)


def group_version(group, now=None) -> str:
    """The group feed's version as the feed URLs read it (the cache key's part)."""
    head = feeds.group_feed_head(db.session, now=now or NOW, by="id", value=group.id)
    return head.version.key


def session_on(make, group, day, start=time(10), end=time(12), title="Monthly meetup"):
    return make.session(group, day=day, start=start, end=end, title=title)


def member_url(user) -> str:
    return f"/calendar/member/{tokens.token_of(user)}.ics"


@pytest.fixture
def crew(make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer, name="Shibuya.py, Tokyo; monthly", slug="shibuya")
    aoi = make.member(group, make.user(display_name="Aoi"))
    ben = make.member(group, make.user(display_name="Ben"))
    session = session_on(make, group, date.today() + timedelta(days=20))
    reception = slots_of(session)["reception"]
    setup = slots_of(session)["setup"]
    place = assign(db.session, organizer=organizer, member=aoi, slot=reception, now=NOW).place
    assign(db.session, organizer=organizer, member=ben, slot=setup, now=NOW)
    db.session.commit()
    return organizer, group, aoi, ben, session, place


# --- the format ---------------------------------------------------------------------------


def test_group_feed_is_well_formed_for_every_client(crew, make):
    organizer, group, _aoi, _ben, session, _place = crew
    body = group_body(group)

    assert not body.startswith(b"\xef\xbb\xbf")  # no BOM
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")  # CRLF only
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # folding never splits a character
    text = body.decode("utf-8")
    for forbidden in ("METHOD:", "ORGANIZER", "ATTENDEE", "RRULE"):
        assert forbidden not in text

    calendar = parse(body)
    assert calendar.version.value == "2.0"
    assert calendar.prodid.value == feeds.PRODID
    # Calendar-level names are escaped too: the comma and semicolon come back as written.
    assert calendar.contents["x-wr-calname"][0].value == "Shibuya.py, Tokyo; monthly"
    assert calendar.contents["name"][0].value == "Shibuya.py, Tokyo; monthly"
    assert calendar.contents["refresh-interval"][0].value == "PT1H"
    assert calendar.contents["refresh-interval"][0].params["VALUE"] == ["DURATION"]
    assert calendar.contents["x-published-ttl"][0].value == "PT1H"
    assert [tz.tzid.value for tz in calendar.contents["vtimezone"]] == ["Asia/Tokyo"]

    (event,) = calendar.contents["vevent"]
    assert event.uid.value == f"session-{session.id}@sg.example"
    assert event.summary.value == "Monthly meetup"
    assert event.location.value == "Community hall"
    assert event.url.value == f"https://sg.example/g/shibuya/sessions/{session.id}"
    assert event.status.value == "CONFIRMED"
    assert event.sequence.value == "0"
    assert "TZID=Asia/Tokyo" in text
    start = event.dtstart.value
    assert (start.hour, start.minute) == (10, 0)
    assert start.astimezone(UTC) == session.starts_at
    assert event.dtend.value.astimezone(UTC) == session.ends_at
    # DTSTAMP and LAST-MODIFIED are the session's own change time, not "now".
    assert event.dtstamp.value == session.updated_at.replace(microsecond=0)
    assert event.contents["last-modified"][0].value == session.updated_at.replace(microsecond=0)


def test_text_round_trips_commas_semicolons_newlines_and_japanese(make):
    group = make.group(name="渋谷\\Python")
    title = "第12回 Python, Go; Rust 入門 \\ もくもく会"
    venue = "渋谷区民会館, 第2会議室; 3F"
    description = "持ち物: ノートPC, 電源\n懇親会あり; 参加費 500円\n\n" + "あいうえお" * 40
    session = make.session(group, title=title)
    session.venue = venue
    session.description = description
    db.session.commit()

    body = group_body(group, options=JA)
    for line in body.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")
    calendar = parse(body)
    (event,) = calendar.contents["vevent"]
    assert event.summary.value == title
    assert event.location.value == venue
    assert event.description.value.startswith(description)
    assert calendar.contents["x-wr-calname"][0].value == "渋谷\\Python"


def test_the_same_data_builds_the_same_bytes(crew, app, client):
    _organizer, group, aoi, _ben, _session, _place = crew
    assert group_body(group) == group_body(group)
    assert member_body(aoi) == member_body(aoi)

    first = client.get("/g/shibuya/calendar.ics")
    app.extensions["calendar_feeds"].clear()  # a new process: built again from the rows
    second = client.get("/g/shibuya/calendar.ics")
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]


def test_an_empty_feed_still_has_a_component(make):
    group = make.group(timezone="Europe/Berlin")
    calendar = parse(group_body(group))
    assert [tz.tzid.value for tz in calendar.contents["vtimezone"]] == ["Europe/Berlin"]
    assert "vevent" not in calendar.contents


# --- changes reach calendars --------------------------------------------------------------


def test_a_time_change_raises_sequence_in_both_feeds(crew):
    _organizer, group, aoi, _ben, session, place = crew
    before_group, before_member = events(group_body(group)), events(member_body(aoi))
    uid_session = f"session-{session.id}@sg.example"
    uid_place = f"place-{place.id}@sg.example"
    assert before_member[uid_place].sequence.value == "0"

    later = session.starts_at + timedelta(hours=2)
    update_session(
        db.session,
        session,
        title=session.title,
        starts_at=later,
        ends_at=session.ends_at + timedelta(hours=2),
        venue=session.venue,
        description=session.description,
        # From the clock, not NOW (taken at import): a long run must not date the edit before
        # the rows the fixture has just written.
        now=datetime.now(UTC) + timedelta(minutes=1),
    )
    db.session.commit()

    after_group, after_member = events(group_body(group)), events(member_body(aoi))
    assert after_group[uid_session].sequence.value == "1"
    assert after_group[uid_session].dtstart.value.astimezone(UTC) == later
    assert after_group[uid_session].dtstamp.value > before_group[uid_session].dtstamp.value
    # The reception window follows the session: 30 minutes before to 30 after its start.
    assert after_member[uid_place].sequence.value == "1"
    assert after_member[uid_place].dtstart.value.astimezone(UTC) == later - timedelta(minutes=30)
    assert set(after_group) == set(before_group)  # same UIDs: moved, not duplicated


def test_moving_only_a_role_window_updates_the_place(crew):
    _organizer, group, aoi, _ben, session, place = crew
    reception = slots_of(session)["reception"]
    update_slot(
        db.session,
        reception,
        headcount=reception.headcount,
        starts_at=reception.starts_at - timedelta(minutes=30),
        ends_at=reception.ends_at,
        now=NOW + timedelta(minutes=1),
    )
    db.session.commit()
    place_event = events(member_body(aoi))[f"place-{place.id}@sg.example"]
    assert place_event.sequence.value == "1"
    assert place_event.dtstart.value.astimezone(UTC) == reception.starts_at
    # The session itself did not move: its event in the group feed keeps its SEQUENCE.
    assert events(group_body(group))[f"session-{session.id}@sg.example"].sequence.value == "0"


def test_a_cancelled_session_is_marked_then_leaves_after_30_days(crew):
    _organizer, group, aoi, _ben, session, place = crew
    cancel_session(session, now=NOW)
    db.session.commit()

    event = events(group_body(group))[f"session-{session.id}@sg.example"]
    assert event.status.value == "CANCELLED"
    assert event.sequence.value == "1"
    assert event.summary.value == "[Cancelled] Monthly meetup"
    ja_event = events(group_body(group, options=JA))[f"session-{session.id}@sg.example"]
    assert ja_event.summary.value == "【中止】Monthly meetup"
    place_event = events(member_body(aoi))[f"place-{place.id}@sg.example"]
    assert place_event.status.value == "CANCELLED"
    assert place_event.summary.value.startswith("[Cancelled] Reception")

    day_29 = session.starts_at + timedelta(days=29)
    day_31 = session.starts_at + timedelta(days=31)
    assert f"session-{session.id}@sg.example" in events(group_body(group, now=day_29))
    assert events(group_body(group, now=day_31)) == {}
    assert events(member_body(aoi, now=day_31)) == {}
    # Held after all: back as confirmed, with a higher SEQUENCE.
    reinstate_session(session, now=NOW + timedelta(minutes=1))
    db.session.commit()
    event = events(group_body(group))[f"session-{session.id}@sg.example"]
    assert (event.status.value, event.sequence.value) == ("CONFIRMED", "2")


def test_a_withdrawn_place_leaves_the_member_feed(crew):
    organizer, _group, aoi, _ben, _session, place = crew
    assert f"place-{place.id}@sg.example" in events(member_body(aoi))
    cancel_place(db.session, place=place, actor=organizer, now=NOW, by_organizer=True)
    db.session.commit()
    assert events(member_body(aoi)) == {}


def test_times_are_right_in_tokyo_and_across_berlins_march_change(make):
    tokyo = make.group(timezone="Asia/Tokyo")
    berlin = make.group(timezone="Europe/Berlin")
    # Two Saturdays around the change on 28 March 2027 (01:00 UTC: 02:00 becomes 03:00).
    before = session_on(make, berlin, date(2027, 3, 20))
    after = session_on(make, berlin, date(2027, 4, 3))
    in_tokyo = session_on(make, tokyo, date(2027, 3, 20))

    calendar = parse(group_body(berlin))
    by_uid = {e.uid.value: e for e in calendar.contents["vevent"]}
    for session, utc_hour in ((before, 9), (after, 8)):
        start = by_uid[f"session-{session.id}@sg.example"].dtstart.value
        assert (start.hour, start.minute) == (10, 0)  # 10:00 on the wall clock, both times
        assert start.astimezone(UTC) == datetime.combine(
            session.starts_at.date(), time(utc_hour), tzinfo=UTC
        )
    # The VTIMEZONE gives the onset as RFC 5545 wants it: the wall clock before the change.
    (zone,) = calendar.contents["vtimezone"]
    daylight = zone.contents["daylight"][0]
    assert daylight.dtstart.value == datetime(2027, 3, 28, 2, 0)
    assert (daylight.tzoffsetfrom.value, daylight.tzoffsetto.value) == ("+0100", "+0200")

    start = events(group_body(tokyo))[f"session-{in_tokyo.id}@sg.example"].dtstart.value
    assert (start.hour, start.astimezone(UTC).hour) == (10, 1)


def test_a_member_feed_lists_places_at_their_role_times_with_coworkers(crew, make):
    organizer, group, aoi, ben, session, place = crew
    hidden = make.member(group, make.user(display_name="Secret Sato"))
    hidden.appear_by_name = False
    speaker_slot = slots_of(session)["speaker"]
    assign(db.session, organizer=organizer, member=hidden, slot=speaker_slot, now=NOW)
    # A waitlisted place is not one the member holds: not in the feed.
    other = session_on(make, group, date.today() + timedelta(days=50))
    full = slots_of(other)["reception"]
    full.headcount = 0
    sign_up(db.session, member=aoi, slot=full, now=NOW)
    db.session.commit()

    calendar = parse(member_body(aoi))
    (event,) = calendar.contents["vevent"]
    reception = slots_of(session)["reception"]
    assert event.uid.value == f"place-{place.id}@sg.example"
    assert event.summary.value == "Reception: Monthly meetup"
    assert event.dtstart.value.astimezone(UTC) == reception.starts_at
    assert event.dtend.value.astimezone(UTC) == reception.ends_at
    assert event.dtstart.value.strftime("%H:%M") == "09:30"
    description = event.description.value
    assert description.startswith("Reception 09:30–10:30\n")
    assert "Also working: Ben (Setup), a member (Speaker)" in description
    assert "Secret Sato" not in description and "Aoi" not in description.split("\n")[2]
    assert event.url.value == f"https://sg.example/g/shibuya/sessions/{session.id}"
    assert calendar.contents["x-wr-calname"][0].value == "My places on studygroup"

    ja = parse(member_body(aoi, options=JA)).contents["vevent"][0]
    assert ja.summary.value == "受付: Monthly meetup"
    assert "一緒に活動する人: Benさん（設営）、あるメンバー（登壇者）" in ja.description.value


def test_feeds_change_whenever_what_they_show_changes(crew, make):
    """Every kind of change gives new bytes and a new version (the cache key), so no poll is
    ever answered from a stale cached copy."""
    organizer, group, aoi, ben, session, _place = crew
    newcomer = make.member(group, make.user(display_name="Newcomer"))

    def state():
        now = datetime.now(UTC)
        return (
            group_body(group),
            member_body(aoi),
            group_version(group, now),
            feeds.member_feed_version(db.session, aoi, now=now).key,
        )

    def edit_session(**changes):
        values = dict(
            title=session.title,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            venue=session.venue,
            description=session.description,
        )
        values.update(changes)
        update_session(db.session, session, now=datetime.now(UTC), **values)

    reception = next(r for r in role_types_of(db.session, group) if r.key == "reception")
    setup = next(r for r in role_types_of(db.session, group) if r.key == "setup")
    setup_slot = slots_of(session)["setup"]
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)  # a server whose clock is behind
    steps = [
        (
            "title edited by a slow clock",
            lambda: update_session(
                db.session,
                session,
                title="Slow clock",
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                venue=session.venue,
                description=session.description,
                now=an_hour_ago,
            ),
            "both",
        ),
        ("group renamed", lambda: setattr(group, "name", "Shibuya.py 2"), "both"),
        ("title edited", lambda: edit_session(title="New title"), "both"),
        ("description edited", lambda: edit_session(description="Bring a laptop"), "group"),
        ("co-worker renamed", lambda: setattr(ben, "display_name", "Benjamin"), "member"),
        ("co-worker hides name", lambda: setattr(ben, "appear_by_name", False), "member"),
        ("role renamed", lambda: setattr(reception, "name", "Front desk"), "member"),
        ("co-worker's role renamed", lambda: setattr(setup, "name", "Stage crew"), "member"),
        (
            "new co-worker",
            lambda: assign(
                db.session,
                organizer=organizer,
                member=newcomer,
                slot=setup_slot,
                now=datetime.now(UTC),
            ),
            "member",
        ),
        (
            "co-worker leaves",
            lambda: cancel_place(
                db.session,
                place=next(
                    p
                    for p in db.session.scalars(
                        sa.select(Assignment).where(Assignment.user_id == newcomer.id)
                    )
                ),
                actor=organizer,
                now=datetime.now(UTC),
                by_organizer=True,
            ),
            "member",
        ),
        ("member's time zone", lambda: setattr(aoi, "timezone", "Europe/Berlin"), "member"),
    ]
    before = state()
    for what, change, shows_in in steps:
        change()
        db.session.commit()
        after = state()
        if shows_in in ("group", "both"):
            assert after[0] != before[0] and after[2] != before[2], what
        if shows_in in ("member", "both"):
            assert after[1] != before[1] and after[3] != before[3], what
        before = after
    text = member_body(aoi).decode()
    assert "Front desk: New title" in text and "a member (Stage crew)" in text
    assert "Newcomer" not in text


# --- HTTP ---------------------------------------------------------------------------------


def test_feed_responses_have_the_right_headers(crew, client):
    _organizer, _group, aoi, _ben, _session, _place = crew
    _settle(client, "/g/shibuya/calendar.ics", member_url(aoi))
    for url, cache in (("/g/shibuya/calendar.ics", "public"), (member_url(aoi), "private")):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert "Content-Disposition" not in response.headers  # Apple would download it
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert cache in response.headers["Cache-Control"]
        etag = response.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert response.headers["Last-Modified"]
        parse(response.data)

        head = client.head(url)
        assert head.status_code == 200 and head.data == b""
        assert head.headers["Content-Length"] == str(len(response.data))
        assert head.headers["ETag"] == etag


def _settle(client, *urls):
    """Build the feeds, then wait: Last-Modified (when a version was first built) is sent once
    it is over a second old, as it counts whole seconds."""
    for url in urls:
        client.get(url)
    time_module.sleep(1.05)


def test_conditional_requests(crew, client):
    organizer, _group, aoi, _ben, session, place = crew
    _settle(client, "/g/shibuya/calendar.ics", member_url(aoi))
    for url in ("/g/shibuya/calendar.ics", member_url(aoi)):
        first = client.get(url)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == etag
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
        # If-None-Match decides when both are sent; If-Modified-Since alone is compared.
        both = client.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
        assert both.status_code == 200
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        old = "Mon, 01 Jan 2024 00:00:00 GMT"
        assert client.get(url, headers={"If-Modified-Since": old}).status_code == 200

    # A change within the second of the last one: no Last-Modified to rely on, and a client
    # holding the earlier date gets the new feed.
    url = member_url(aoi)
    modified = client.get(url).headers["Last-Modified"]
    etag = client.get(url).headers["ETag"]
    cancel_place(db.session, place=place, actor=organizer, now=datetime.now(UTC), by_organizer=True)
    db.session.commit()
    fresh = client.get(url)
    assert "Last-Modified" not in fresh.headers
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 200
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200
    # Giving up a place moves Last-Modified forward.
    _settle(client)
    later = client.get(url).headers["Last-Modified"]
    assert parsedate_to_datetime(later) > parsedate_to_datetime(modified)
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 200
    assert b"BEGIN:VEVENT" not in client.get(url).data

    etag = client.get("/g/shibuya/calendar.ics").headers["ETag"]
    cancel_session(session, now=datetime.now(UTC))
    db.session.commit()
    changed = client.get("/g/shibuya/calendar.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert b"STATUS:CANCELLED" in changed.data


def group_link(group, member) -> str:
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.group_id == group.id, Membership.user_id == member.id
        )
    )
    return tokens.group_link_token(membership, group, member)


def test_tokens_open_their_own_feed_only_and_reset_closes_the_old_url(crew, client, auth):
    _organizer, group, aoi, _ben, _session, _place = crew
    member_token, group_token = tokens.token_of(aoi), group_link(group, aoi)
    assert len(member_token) >= 43
    # Only a hash is stored: the token itself is in no column.
    db.session.expire_all()
    assert aoi.calendar_token_hash == tokens.token_hash(member_token) != member_token
    stored = [
        str(value)
        for table in (User.__table__, Membership.__table__)
        for row in db.session.execute(sa.select(table)).all()
        for value in row
    ]
    assert member_token not in stored and group_token.split(".")[1] not in stored

    assert client.get(f"/calendar/member/{member_token}.ics").status_code == 200
    assert client.get(f"/calendar/group/{group_token}.ics").status_code == 200
    for url in (
        f"/calendar/group/{member_token}.ics",  # a member token opens no group feed
        f"/calendar/member/{group_token}.ics",
        f"/calendar/group/{group_token[:-1]}x.ics",
        f"/calendar/group/{int(group_token.split('.')[0]) + 1}.{group_token.split('.')[1]}.ics",
        f"/calendar/member/{member_token[:-1]}x.ics",
        "/calendar/member/short.ics",
        f"/calendar/member/{aoi.id}.ics",
        f"/calendar/member/{'A' * 200}.ics",
    ):
        assert client.get(url).status_code == 404, url

    auth.login_as(aoi)
    response = client.post("/calendar/reset")
    assert response.status_code == 302
    db.session.expire_all()
    assert client.get(f"/calendar/member/{member_token}.ics").status_code == 404
    new_token = tokens.token_of(aoi)
    assert new_token != member_token
    assert client.get(f"/calendar/member/{new_token}.ics").status_code == 200
    assert new_token in client.get("/schedule").get_data(as_text=True)


def test_members_only_groups_give_each_member_a_link_of_their_own(make, client, auth):
    organizer = make.user()
    group = make.group(organizer, slug="inner", visibility=Visibility.MEMBERS)
    member, other = make.member(group), make.member(group)
    outsider = make.user()
    make.session(group)
    assert client.get("/g/inner/calendar.ics").status_code == 404
    mine, theirs = group_link(group, member), group_link(group, other)
    assert mine != theirs
    assert client.get(f"/calendar/group/{mine}.ics").status_code == 200

    auth.login_as(outsider)
    assert client.get("/g/inner").status_code == 404
    auth.login_as(member)
    page = client.get("/g/inner").get_data(as_text=True)
    assert f"/calendar/group/{mine}.ics" in page and theirs not in page
    assert "webcal://" in page
    assert "/calendar/reset" not in page  # only organizers reset the group's links

    # Leaving the group closes the member's link, and only theirs.
    assert client.post("/g/inner/leave").status_code == 302
    assert client.get(f"/calendar/group/{mine}.ics").status_code == 404
    assert client.get(f"/calendar/group/{theirs}.ics").status_code == 200

    # The member who stays makes new links of their own: their old group link stops too.
    auth.login_as(other)
    assert client.post("/calendar/reset").status_code == 302
    assert client.get(f"/calendar/group/{theirs}.ics").status_code == 404
    db.session.expire_all()
    theirs = group_link(group, other)
    assert client.get(f"/calendar/group/{theirs}.ics").status_code == 200

    # An organizer's reset retires every member's link.
    auth.login_as(organizer)
    assert client.post("/g/inner/calendar/reset").status_code == 302
    assert client.get(f"/calendar/group/{theirs}.ics").status_code == 404
    db.session.expire_all()
    assert client.get(f"/calendar/group/{group_link(group, other)}.ics").status_code == 200


def test_subscribe_links_on_the_schedule_and_group_pages(crew, client, auth):
    _organizer, _group, aoi, _ben, _session, place = crew
    page = client.get("/g/shibuya").get_data(as_text=True)  # anyone, for a public group
    assert "webcal://localhost/g/shibuya/calendar.ics" in page
    assert "https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2Flocalhost" in page
    assert "http://localhost/g/shibuya/calendar.ics" in page
    assert "Google Calendar refreshes subscribed calendars only every few hours" in page

    auth.login_as(aoi)
    page = client.get("/schedule").get_data(as_text=True)
    token = tokens.token_of(aoi)
    assert f"webcal://localhost/calendar/member/{token}.ics" in page
    assert f"http://localhost/calendar/member/{token}.ics" in page
    assert f"/schedule/places/{place.id}/calendar.ics" in page
    assert 'action="/calendar/reset"' in page


def test_feed_urls_follow_the_public_base_url_behind_a_proxy(crew, app_factory):
    _organizer, group, aoi, _ben, _session, _place = crew
    app = app_factory(PUBLIC_BASE_URL="https://study.example/sg")
    with app.test_request_context("/"):
        from studygroup.calendar.links import group_subscription, member_subscription

        subscription = member_subscription(db.session.merge(aoi), lang="en")
        assert subscription.url.startswith("https://study.example/sg/calendar/member/")
        assert subscription.webcal.startswith("webcal://study.example/sg/calendar/member/")
    body = app.test_client().get("/g/shibuya/calendar.ics").data.decode()
    assert "URL:https://study.example/sg/g/shibuya/sessions/" in body
    assert "@study.example" in body  # UIDs use the public host, whatever the request's

    proxied = app_factory(PROXY_FIX_X_PROTO=1, PROXY_FIX_X_HOST=1)
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cal.example"}
    page = proxied.test_client().get("/g/shibuya", headers=headers).get_data(as_text=True)
    assert "webcal://cal.example/g/shibuya/calendar.ics" in page
    assert group_subscription is not None


def test_tokens_never_reach_the_logs(crew, app, client):
    _organizer, group, aoi, _ben, _session, _place = crew
    app.logger.setLevel(logging.INFO)
    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    token = tokens.token_of(aoi)
    client.get(f"/calendar/member/{token}.ics")
    client.get(f"/calendar/member/{token[:-1]}x.ics")
    link = group_link(group, aoi)
    client.get(f"/calendar/group/{link}.ics")
    client.post(f"/calendar/member/{token}.ics")  # 405: matched no view
    client.get(f"/calendar/member/{token}.ics/")  # 404
    client.get(f"/calendar/member/{token}")  # 404
    logged = stream.getvalue()
    paths = [json.loads(line)["path"] for line in logged.splitlines() if line.startswith("{")]
    assert "/calendar/member/[redacted].ics" in paths
    assert token not in logged and token[:-1] not in logged
    assert link.split(".")[1] not in logged


# --- single files -------------------------------------------------------------------------


def test_one_session_and_one_place_as_files(crew, client, auth, make):
    _organizer, group, aoi, ben, session, place = crew
    response = client.get(f"/g/shibuya/sessions/{session.id}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    (event,) = parse(response.data).contents["vevent"]
    assert event.uid.value.startswith(f"session-{session.id}@")  # the group feed's UID

    url = f"/schedule/places/{place.id}/calendar.ics"
    assert client.get(url).status_code == 302  # log in first
    auth.login_as(ben)
    assert client.get(url).status_code == 404  # someone else's place
    auth.login_as(aoi)
    response = client.get(url)
    assert response.status_code == 200
    (event,) = parse(response.data).contents["vevent"]
    assert event.uid.value.startswith(f"place-{place.id}@")
    assert "Ben (Setup)" in event.description.value

    inner = make.group(visibility=Visibility.MEMBERS)
    hidden = make.session(inner)
    assert client.get(f"/g/{inner.slug}/sessions/{hidden.id}/calendar.ics").status_code == 404
    public = make.group()  # one anybody may see: the session must belong to it
    assert client.get(f"/g/{public.slug}/sessions/{session.id}/calendar.ics").status_code == 404


# --- cost ---------------------------------------------------------------------------------


def test_each_version_is_built_once_and_served_cheaply(crew, app, client, count_queries):
    _organizer, _group, aoi, _ben, session, _place = crew
    cache = app.extensions["calendar_feeds"]
    cache.clear()
    builds = cache.builds
    client.get("/g/shibuya/calendar.ics")
    with count_queries() as queries:
        response = client.get("/g/shibuya/calendar.ics")
    assert response.status_code == 200
    assert cache.builds == builds + 1  # the second request was served from the cache
    assert queries.count <= 2  # the group, and the version's one aggregate
    etag = response.headers["ETag"]
    with count_queries() as queries:
        again = client.get("/g/shibuya/calendar.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert queries.count <= 2

    cancel_session(session, now=datetime.now(UTC) + timedelta(seconds=1))
    db.session.commit()
    assert b"STATUS:CANCELLED" in client.get("/g/shibuya/calendar.ics").data
    assert cache.builds == builds + 2


def test_member_feed_queries_do_not_grow_with_places(crew, make, app, client, count_queries):
    organizer, group, aoi, _ben, _session, _place = crew

    url = member_url(aoi)

    def count(*, cold=True):
        if cold:
            app.extensions["calendar_feeds"].clear()
        with count_queries() as queries:
            assert client.get(url).status_code == 200
        return queries.count

    few = count()
    for weeks in range(1, 7):
        session = session_on(make, group, date.today() + timedelta(days=20 + 7 * weeks))
        assign(
            db.session, organizer=organizer, member=aoi, slot=slots_of(session)["setup"], now=NOW
        )
        db.session.commit()
    assert len(events(client.get(url).data)) == 7
    # The token, the version (2); to build: the member, the places and the co-workers.
    assert count() == few <= 6
    assert count(cold=False) <= 3  # a poll of an unchanged feed: the token and the version


def test_version_query_counts_cancelled_sessions_leaving(make):
    group = make.group()
    gone = make.session(group, day=date.today() - timedelta(days=40))
    cancel_session(gone, now=gone.starts_at - timedelta(days=1))
    kept = make.session(group, day=date.today() - timedelta(days=10))
    db.session.commit()
    version = group_version(group)
    assert [s.id for s in feeds.group_feed_sessions(db.session, group, now=NOW)] == [kept.id]
    # A day later nothing more has left the feed; 21 days later the kept one is past but it
    # was not cancelled, so it stays: the same version.
    for days in (1, 21):
        assert group_version(group, NOW + timedelta(days=days)) == version
    # A session cancelled (beforehand) 10 days ago leaves 20 days from now: a new version then.
    cancel_session(kept, now=kept.starts_at - timedelta(hours=1))
    db.session.commit()
    before = group_version(group, NOW + timedelta(days=19))
    after = group_version(group, NOW + timedelta(days=21))
    assert before != after


def test_a_time_the_clock_shows_twice_keeps_its_moment(make):
    """The night daylight saving ends, 01:30 comes twice. A local time with a TZID means the
    first one (RFC 5545), so an end at the second 01:30 is written in UTC instead."""
    group = make.group(timezone="America/New_York")
    starts_at = to_utc(date(2027, 11, 7), time(0, 30), group.timezone)  # 04:30 UTC, EDT
    session = create_session(
        db.session,
        group=group,
        title="Night owls",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),  # 06:30 UTC: the second 01:30, EST
        venue="",
        now=NOW,
    )
    db.session.commit()
    body = group_body(group)
    event = events(body)[f"session-{session.id}@sg.example"]
    assert event.dtstart.value.astimezone(UTC) == starts_at
    assert event.dtend.value.astimezone(UTC) == starts_at + timedelta(hours=2)
    assert "DTEND:20271107T063000Z" in body.decode()
    assert db.session.get(StudySession, session.id).sequence == 0


def test_polls_within_a_second_ask_the_database_once(crew, app_factory, count_queries):
    """Production keeps what a feed URL resolved to for CALENDAR_VERSION_TTL seconds."""
    _organizer, _group, aoi, _ben, session, _place = crew
    app = app_factory(CALENDAR_VERSION_TTL=1.0)
    client = app.test_client()
    url = member_url(aoi)
    memo = app.extensions["calendar_versions"]
    first = client.get("/g/shibuya/calendar.ics")
    client.get(url)
    with count_queries() as queries:
        again = client.get(
            "/g/shibuya/calendar.ics", headers={"If-None-Match": first.headers["ETag"]}
        )
        client.get(url)
    assert again.status_code == 304
    assert queries.count == 0
    cancel_session(session, now=datetime.now(UTC) + timedelta(seconds=1))
    db.session.commit()
    memo.clear()  # what a second later looks like
    assert b"STATUS:CANCELLED" in client.get("/g/shibuya/calendar.ics").data
    assert b"STATUS:CANCELLED" in client.get(url).data
    assert client.get("/calendar/member/" + "x" * 43 + ".ics").status_code == 404


def test_an_error_in_a_feed_reports_no_token(crew, app, client, monkeypatch):
    _organizer, _group, aoi, _ben, _session, _place = crew
    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    app.logger.setLevel(logging.INFO)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(feeds, "member_feed_version", broken)
    token = tokens.token_of(aoi)
    assert client.get(f"/calendar/member/{token}.ics").status_code == 500
    logged = stream.getvalue()
    assert "database went away" in logged  # the error is reported...
    assert token not in logged  # ...without the token


def test_a_lock_is_not_an_edit(crew, make):
    """Signing up locks the session row (on SQLite with a no-op UPDATE): the group feed, whose
    bytes come from the session's change time, stays the same."""
    _organizer, group, _aoi, _ben, session, _place = crew
    body = group_body(group)
    version = group_version(group)
    newcomer = make.member(group, make.user())
    sign_up(db.session, member=newcomer, slot=slots_of(session)["reception"], now=NOW)
    db.session.commit()
    assert group_body(group) == body
    assert group_version(group) == version


def test_a_new_token_key_retires_every_link(crew, app_factory, client, auth):
    """After CALENDAR_TOKEN_KEY (or SECRET_KEY) changes, old links are 404, pages say the
    link must be made anew, and a new link works."""
    _organizer, _group, aoi, _ben, _session, _place = crew
    old = member_url(aoi)
    assert client.get(old).status_code == 200
    rekeyed = app_factory(CALENDAR_TOKEN_KEY="a brand new key")
    new_client = rekeyed.test_client()
    assert new_client.get(old).status_code == 404
    with new_client.session_transaction() as cookie:
        cookie["_user_id"] = aoi.get_id()
    page = new_client.get("/schedule").get_data(as_text=True)
    assert "stopped working when the site" in page and "webcal://" not in page
    assert new_client.post("/calendar/reset").status_code == 302
    page = new_client.get("/schedule").get_data(as_text=True)
    assert "webcal://" in page
    with rekeyed.app_context():
        from studygroup.models import User

        fresh = db.session.get(User, aoi.id)
        assert new_client.get(f"/calendar/member/{tokens.token_of(fresh)}.ics").status_code == 200


def test_new_members_and_groups_have_feed_links_from_the_start(app_factory, make):
    """The factory registers the mapper event that gives them (once per process, however
    many apps it builds)."""
    app_factory()
    member = make.user()
    group = make.group(member)
    assert tokens.token_is_current(member) and group.calendar_token_salt
    assert event.contains(User, "before_insert", tokens._give_new_rows_a_token)
    assert event.contains(Group, "before_insert", tokens._give_new_rows_a_token)
    assert len(User.__mapper__.dispatch.before_insert) == 1


def test_member_feed_language_follows_the_member_then_the_link(crew, client, auth):
    """A calendar client sends no language: members who follow their browser get the feed in
    the language of the page they copied the link from; a language setting of their own wins."""
    _organizer, _group, aoi, _ben, _session, _place = crew
    assert aoi.locale is None  # "as my browser says"
    auth.login_as(aoi)
    page = client.get("/schedule", headers={"Accept-Language": "en"}).get_data(as_text=True)
    english = re.search(r'value="http://localhost(/calendar/member/[^"]+)"', page)[1]
    assert english.endswith("?lang=en")
    assert b"SUMMARY:Reception: Monthly meetup" in client.get(english).data
    japanese = english.replace("lang=en", "lang=ja")
    assert "SUMMARY:受付: Monthly meetup" in client.get(japanese).get_data(as_text=True)
    aoi.locale = "ja"
    db.session.commit()
    assert "SUMMARY:受付: Monthly meetup" in client.get(english).get_data(as_text=True)
