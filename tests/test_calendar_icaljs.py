"""Our feeds read by Mozilla's ical.js, the parser inside Thunderbird.

ical.js knows no time zones but the VTIMEZONEs in the feed itself, so these tests check that
ours give the right instants, across daylight saving too. `make test` installs it with npm
(tests/icaljs); without node the tests skip, except in CI, where they must run.
"""

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from studygroup.extensions import db
from studygroup.sessions.services import cancel_session, create_session, to_utc, update_session
from studygroup.signups.organizing import assign
from tests.factories import slots_of
from tests.test_calendar import EN, JA, group_body, member_body, parse, session_on

HERE = Path(__file__).resolve().parent / "icaljs"
NOW = datetime.now(UTC)


def _reader(package: str, script: str):
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / package).is_dir():
        reason = f"node or tests/icaljs/node_modules/{package} is missing (`make test` runs npm ci)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the JavaScript readers' checks must run")
        pytest.skip(reason)

    def read(body: bytes) -> dict:
        done = subprocess.run(
            [node, str(HERE / script)], input=body, capture_output=True, check=True
        )
        return json.loads(done.stdout)

    return read


@pytest.fixture(scope="module")
def icaljs():
    return _reader("ical.js", "read.mjs")


@pytest.fixture(scope="module")
def nodeical():
    """node-ical, the other JavaScript reader: it too reads a TZID time in the repeated hour
    as the second pass."""
    return _reader("node-ical", "read-node-ical.mjs")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_berlin_and_tokyo_times_from_our_vtimezones(make, icaljs):
    berlin = make.group(timezone="Europe/Berlin")
    before = session_on(make, berlin, date(2027, 3, 20))  # CET, UTC+1
    after = session_on(make, berlin, date(2027, 4, 3))  # CEST, UTC+2
    early = session_on(make, berlin, date(2027, 3, 28), start=time(3, 30), end=time(5))  # CEST
    autumn = session_on(make, berlin, date(2027, 10, 30), start=time(22), end=time(23, 30))
    night = create_session(  # 01:30 to 02:30 on the night the clocks go back: 2 hours
        db.session,
        group=berlin,
        title="Night",
        starts_at=to_utc(date(2027, 10, 31), time(1, 30), "Europe/Berlin"),
        ends_at=to_utc(date(2027, 10, 31), time(1, 30), "Europe/Berlin") + timedelta(hours=2),
        venue="",
        now=NOW,
    )
    db.session.commit()

    feed = icaljs(group_body(berlin))
    assert feed["timezones"] == ["Europe/Berlin"]
    by_uid = {e["uid"]: e for e in feed["events"]}
    for session in (before, after, early, autumn, night):
        event = by_uid[f"session-{session.id}@sg.example"]
        assert _utc(event["start"]) == session.starts_at, event
        assert _utc(event["end"]) == session.ends_at, event
    assert by_uid[f"session-{before.id}@sg.example"]["local_start"] == "2027-03-20T10:00:00"
    assert by_uid[f"session-{after.id}@sg.example"]["local_start"] == "2027-04-03T10:00:00"
    assert by_uid[f"session-{after.id}@sg.example"]["tzid"] == "Europe/Berlin"

    tokyo = make.group(timezone="Asia/Tokyo")
    session = session_on(make, tokyo, date(2027, 3, 20))
    (event,) = icaljs(group_body(tokyo))["events"]
    assert _utc(event["start"]) == datetime(2027, 3, 20, 1, 0, tzinfo=UTC)
    assert event["local_start"] == "2027-03-20T10:00:00"
    assert event["uid"] == f"session-{session.id}@sg.example"


def test_text_status_and_sequence_as_thunderbird_reads_them(make, icaljs):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    member = make.member(group, make.user(display_name="鈴木, 花子; \\ さん"))
    title = "第12回 Python, Go; Rust 入門"
    session = make.session(group, title=title)
    session.venue = "渋谷区民会館, 第2会議室; 3F"
    session.description = "持ち物: ノートPC, 電源\n懇親会あり; 参加費 500円"
    db.session.commit()
    place = assign(
        db.session, organizer=organizer, member=member, slot=slots_of(session)["setup"], now=NOW
    ).place
    db.session.commit()

    (event,) = icaljs(group_body(group, options=JA))["events"]
    assert event["summary"] == title
    assert event["location"] == "渋谷区民会館, 第2会議室; 3F"
    assert event["description"].startswith("持ち物: ノートPC, 電源\n懇親会あり; 参加費 500円\n\n")
    assert (event["status"], event["sequence"]) == ("CONFIRMED", 0)

    later = session.starts_at + timedelta(days=7)
    update_session(
        db.session,
        session,
        title=title,
        starts_at=later,
        ends_at=session.ends_at + timedelta(days=7),
        venue=session.venue,
        description=session.description,
        now=datetime.now(UTC),
    )
    db.session.commit()
    (moved,) = icaljs(member_body(member, options=EN))["events"]
    assert moved["uid"] == f"place-{place.id}@sg.example"
    assert moved["summary"] == f"Setup: {title}"
    assert moved["sequence"] == 1
    assert _utc(moved["start"]) == later - timedelta(hours=1)

    cancel_session(session, now=datetime.now(UTC))
    db.session.commit()
    (cancelled,) = icaljs(group_body(group, options=JA))["events"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["sequence"] == 2
    assert cancelled["summary"] == f"【中止】{title}"


@pytest.mark.parametrize(
    ("zone", "day", "repeated"),
    [
        ("America/New_York", date(2027, 11, 7), time(1, 30)),
        ("Europe/Berlin", date(2027, 10, 31), time(2, 30)),
    ],
)
def test_both_passes_of_the_repeated_hour_keep_their_moment(
    make, icaljs, nodeical, zone, day, repeated
):
    """When clocks go back, the wall clock shows `repeated` twice: an hour apart. Windows
    starting or ending at either pass must come out at their own instant in both readers."""
    group = make.group(timezone=zone)
    first = datetime.combine(day, repeated, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # fold=0
    second = first + timedelta(hours=1)  # the same wall time, one hour later
    assert second.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == datetime.combine(day, repeated)
    windows = {
        "first to second pass": (first, second - timedelta(minutes=15)),
        "within the first pass": (first, first + timedelta(minutes=20)),
        "within the second pass": (second, second + timedelta(minutes=20)),
        "before into the first": (first - timedelta(hours=2), first),
        "second pass to after": (second, second + timedelta(hours=2)),
    }
    sessions = {}
    for label, (starts_at, ends_at) in windows.items():
        sessions[label] = create_session(
            db.session,
            group=group,
            title=label,
            starts_at=starts_at,
            ends_at=ends_at,
            venue="",
            now=NOW,
        )
    db.session.commit()
    body = group_body(group)
    for read in (icaljs, nodeical):
        by_title = {e["summary"]: e for e in read(body)["events"]}
        for label, (starts_at, ends_at) in windows.items():
            event = by_title[label]
            assert (_utc(event["start"]), _utc(event["end"])) == (starts_at, ends_at), (
                read,
                label,
                event,
            )


SUBSCRIPTION_ONLY = {"NAME", "X-WR-CALNAME", "REFRESH-INTERVAL", "X-PUBLISHED-TTL"}


def test_downloads_are_events_to_import_not_calendars_to_subscribe(make, client, auth, icaljs):
    """A single session or place file has no calendar name or refresh interval (some clients
    then offer to subscribe instead of importing); the subscription feeds keep them."""
    organizer = make.user()
    group = make.group(organizer, name="Shibuya.py")
    member = make.member(group, make.user(display_name="Aoi"))
    session = make.session(group)
    place = assign(
        db.session, organizer=organizer, member=member, slot=slots_of(session)["setup"], now=NOW
    ).place
    db.session.commit()
    auth.login_as(member)
    downloads = {
        "session": client.get(f"/g/{group.slug}/sessions/{session.id}/calendar.ics"),
        "place": client.get(f"/schedule/places/{place.id}/calendar.ics"),
    }
    for what, response in downloads.items():
        assert response.status_code == 200, what
        assert response.headers["Content-Disposition"].startswith("attachment;"), what
        calendar = parse(response.data)  # vobject
        assert SUBSCRIPTION_ONLY.isdisjoint(k.upper() for k in calendar.contents), what
        assert len(calendar.contents["vevent"]) == 1, what
        read = icaljs(response.data)
        assert SUBSCRIPTION_ONLY.isdisjoint(read["properties"]), (what, read["properties"])
        assert {"VERSION", "PRODID"} <= set(read["properties"]), what
        assert len(read["events"]) == 1, what

    for feed in (group_body(group), member_body(member)):
        assert {k.upper() for k in parse(feed).contents} >= SUBSCRIPTION_ONLY
        assert set(icaljs(feed)["properties"]) >= SUBSCRIPTION_ONLY
