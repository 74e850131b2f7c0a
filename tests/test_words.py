"""Wording in both languages (review of issue 9: R27, R30; trial: T10): the English UI uses
English quotes, examples and plurals; Japanese punctuation lives in the Japanese catalog."""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po

from studygroup.extensions import db
from studygroup.groups.models import Membership, MembershipStatus
from studygroup.rules import RuleViolation
from studygroup.signups.models import LIVE_STATUSES, Assignment, Attendance
from studygroup.signups.organizing import assign
from studygroup.signups.services import cancel_place, sign_up
from tests.factories import slots_of
from tests.test_login_devices import log_in, time_passes

NOW = datetime.now(UTC)
TEMPLATE = Path(__file__).resolve().parent.parent / "studygroup/translations/messages.pot"
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")
# The reading (ふりがな) is written in kana, so its example is kana in every language.
JAPANESE_ON_PURPOSE = {"In kana, e.g. はせがわ ひかり. Lists of members are sorted by it."}


def test_english_texts_have_no_japanese_quotes_or_examples():
    with TEMPLATE.open("rb") as f:
        catalog = read_po(f)
    japanese = []
    for message in catalog:
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            if text and JAPANESE.search(text) and text not in JAPANESE_ON_PURPOSE:
                japanese.append(text)
    assert japanese == []


@pytest.fixture
def talk(make):
    """A group with a speaker's talk approved and another one waiting for an answer."""
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    session = make.session(group, day=date.today() + timedelta(days=12))
    speaker = slots_of(session)["speaker"]
    speaker.headcount = 2
    approved = sign_up(
        db.session,
        member=make.member(group, make.user(display_name="Daniel")),
        slot=speaker,
        now=NOW,
        talk_title="Kubernetes for study groups",
    )
    approved.status = approved.status.CONFIRMED
    sign_up(
        db.session,
        member=make.member(group, make.user(display_name="Sam")),
        slot=speaker,
        now=NOW,
        talk_title="Testing talk",
    )
    db.session.commit()
    return organizer, group, session


@pytest.mark.parametrize(
    "lang, approved, asking",
    [
        ("en", "“Kubernetes for study groups”", "Sam asks to speak: “Testing talk”"),
        ("ja", "「Kubernetes for study groups」", "Samさんの登壇申請「Testing talk」"),
    ],
)
def test_talk_titles_are_quoted_in_the_readers_language(client, auth, talk, lang, approved, asking):
    organizer, group, session = talk
    organizer.locale = lang
    db.session.commit()
    auth.login_as(organizer)
    for path in (
        f"/g/{group.slug}/sessions/{session.id}/staffing",
        f"/g/{group.slug}/sessions/{session.id}",
    ):
        page = client.get(path).get_data(as_text=True)
        assert approved in page, path
    organize = client.get("/organize").get_data(as_text=True)
    assert asking in organize
    wrong = "「" if lang == "en" else "“"
    for page in (organize,):
        assert wrong not in page


def test_approving_a_talk_says_so_with_english_quotes(client, auth, talk):
    organizer, group, session = talk
    auth.login_as(organizer)
    place = db.session.scalar(sa.select(Assignment).where(Assignment.status == "requested"))
    done = client.post(
        f"/g/{group.slug}/places/{place.id}", data={"action": "approve"}, follow_redirects=True
    )
    page = done.get_data(as_text=True)
    assert "Sam&#39;s talk “Testing talk” is approved." in page
    assert "「" not in page


@pytest.mark.parametrize(
    "lang, example",
    [("en", "e.g. Python, infrastructure, photography."), ("ja", "例: Python, インフラ, 写真")],
)
def test_the_skills_example_is_in_the_readers_language(client, auth, make, lang, example):
    auth.login_as(make.user(locale=lang))
    page = client.get("/profile").get_data(as_text=True)
    assert example in page


# --- counts that can be one (R30) ---------------------------------------------------------


def test_a_network_lockout_of_one_minute_is_said_in_the_singular(app, make):
    attacker = app.test_client()
    for n in range(app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        log_in(attacker, f"guess{n}@example.com", "wrong password")
    time_passes(seconds=14 * 60 + 30)  # the oldest failure leaves the window in 30 s
    refused = log_in(app.test_client())
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Try again in 1 minute, or use a browser" in page


def test_a_self_cancel_deadline_of_one_hour_is_said_in_the_singular(app, make):
    group = make.group()
    group.self_cancel_hours_before = 1
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=3))
    place = sign_up(db.session, member=member, slot=slots_of(session)["setup"], now=NOW)
    db.session.commit()
    with app.test_request_context():
        with pytest.raises(RuleViolation) as refused:
            cancel_place(
                db.session,
                place=place,
                actor=member,
                now=session.starts_at - timedelta(minutes=30),
                by_organizer=False,
            )
        message = str(refused.value.message)
    assert message.startswith("Cancelling yourself is possible until 1 hour before the start.")


def test_a_picture_with_one_coworker_says_person(client, auth, make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    session = make.session(group, day=date.today() - timedelta(days=10))
    setup = slots_of(session)["setup"]
    ann, ben = (make.member(group, make.user(display_name=n)) for n in ("Ann", "Ben"))
    for person in (ann, ben):
        assign(db.session, organizer=organizer, member=person, slot=setup, now=NOW)
    db.session.commit()
    auth.login_as(ann)
    page = client.get("/coworkers", follow_redirects=True).get_data(as_text=True)
    assert "Ann in the middle, 1 person around" in page


# --- one name per status, on every page and in CSVs (R16) ---------------------------------


def _attendance_cell(text: str) -> list[str]:
    return re.findall(r"Not recorded[^<,\r\n]*", text)


def test_an_unrecorded_place_has_one_name_on_every_page_and_in_the_csv(client, auth, make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    member = make.member(group, make.user(display_name="Kana"))
    session = make.session(group, day=date.today() - timedelta(days=3))
    assign(db.session, organizer=organizer, member=member, slot=slots_of(session)["setup"], now=NOW)
    db.session.commit()
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == member.id))
    auth.login_as(member)
    seen = {"schedule": _attendance_cell(client.get("/schedule").get_data(as_text=True))}
    auth.login_as(organizer)
    for name, path in [
        ("member page", f"/g/{group.slug}/members/{membership.id}"),
        ("staffing", f"/g/{group.slug}/sessions/{session.id}/staffing"),
        ("staffing CSV", f"/g/{group.slug}/sessions/{session.id}/staffing.csv"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        seen[name] = _attendance_cell(response.get_data(as_text=True))
    assert seen == {name: ["Not recorded"] for name in seen}


def test_every_status_has_a_name_in_both_languages(app):
    from studygroup.templating import (
        ATTENDANCE_NAMES,
        MEMBERSHIP_STATUS_NAMES,
        PLACE_STATUS_NAMES,
    )

    tables = [
        (PLACE_STATUS_NAMES, LIVE_STATUSES),
        (ATTENDANCE_NAMES, list(Attendance)),
        (MEMBERSHIP_STATUS_NAMES, list(MembershipStatus)),
    ]
    for table, statuses in tables:
        assert set(table) == {s.value for s in statuses}
        with app.test_request_context(headers={"Accept-Language": "ja"}):
            assert all(JAPANESE.search(str(name)) for name in table.values()), table
