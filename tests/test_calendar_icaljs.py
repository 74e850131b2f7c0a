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

import pytest

from studygroup.extensions import db
from studygroup.sessions.services import cancel_session, create_session, to_utc, update_session
from studygroup.signups.services import assign
from tests.test_calendar import EN, JA, group_body, member_body, session_on, slots

HERE = Path(__file__).resolve().parent / "icaljs"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def icaljs():
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "ical.js").is_dir():
        reason = "node or tests/icaljs/node_modules is missing (`make test` runs npm ci)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the ical.js checks must run")
        pytest.skip(reason)

    def read(body: bytes) -> dict:
        done = subprocess.run(
            [node, str(HERE / "read.mjs")], input=body, capture_output=True, check=True
        )
        return json.loads(done.stdout)

    return read


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
        db.session, organizer=organizer, member=member, slot=slots(session)["setup"], now=NOW
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
