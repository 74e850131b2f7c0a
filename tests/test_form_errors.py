"""A refused form comes back with what was typed and the error next to its field, never as a
redirect that loses the input (issue 9, #7)."""

import re
from datetime import date, timedelta

import sqlalchemy as sa
from markupsafe import escape

from studygroup.extensions import db
from studygroup.signups.models import Assignment
from tests.factories import slots_of

ABSTRACT = "Typed SQLAlchemy 2 で\nモデルを書く話。30分。"


def _field(page: str, field_id: str) -> str:
    """The markup of the .field div holding `field_id`."""
    match = re.search(
        rf'<div class="field[^"]*">(?:(?!<div class="field).)*?id="{re.escape(field_id)}".*?</div>',
        page,
        re.S,
    )
    assert match, f"no field {field_id}"
    return match.group(0)


def test_a_speaker_request_without_a_title_keeps_the_abstract(client, auth, make):
    group = make.group()
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=10))
    speaker = slots_of(session)["speaker"]
    auth.login_as(member)
    response = client.post(
        f"/g/{group.slug}/slots/{speaker.id}/signup",
        data={"talk_title": "  ", "talk_abstract": ABSTRACT},
    )
    assert response.status_code == 422  # the page again, not a redirect
    page = response.get_data(as_text=True)
    assert '<details class="request" open>' in page
    title = _field(page, f"talk_title-{speaker.id}")
    assert "Give a title for what you will present." in title and 'aria-invalid="true"' in title
    assert "Typed SQLAlchemy 2 で\nモデルを書く話。30分。</textarea>" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0

    # Too long a title: the form's own check, the same way.
    too_long = client.post(
        f"/g/{group.slug}/slots/{speaker.id}/signup",
        data={"talk_title": "x" * 201, "talk_abstract": ABSTRACT},
    )
    assert too_long.status_code == 422
    assert "x" * 201 in _field(too_long.get_data(as_text=True), f"talk_title-{speaker.id}")


def test_a_slot_form_error_shows_next_to_its_field_on_the_edit_page(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group, day=date.today() + timedelta(days=10))
    reception = slots_of(session)["reception"]
    auth.login_as(organizer)
    prefix = f"slot{reception.id}"
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/slots/{reception.id}",
        data={
            f"{prefix}-headcount": "9999",
            f"{prefix}-start_time": "09:15",
            f"{prefix}-end_time": "10:30",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    headcount = _field(page, f"{prefix}-headcount")
    assert "Enter a number from 0 to 500." in headcount and 'value="9999"' in headcount
    assert 'value="09:15"' in _field(page, f"{prefix}-start_time")  # kept as typed
    db.session.refresh(reception)
    assert reception.headcount == 2


def test_adding_a_role_the_session_has_shows_the_error_by_the_choice(client, auth, make):
    from datetime import UTC, datetime

    from studygroup.groups.models import Anchor
    from studygroup.groups.role_types import add_role_type

    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group, day=date.today() + timedelta(days=10))
    add_role_type(
        db.session,
        group=group,
        name="Cleanup",
        default_headcount=2,
        start_anchor=Anchor.END,
        start_offset_minutes=0,
        end_anchor=Anchor.END,
        end_offset_minutes=30,
        requires_approval=False,
        now=datetime.now(UTC),
    )
    db.session.commit()
    setup = slots_of(session)["setup"]
    auth.login_as(organizer)
    # Setup is in the session already (another tab added it, say): not a choice any more.
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/slots", data={"role_type_id": setup.role_type_id}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    choice = _field(page, "role_type_id")
    assert 'class="error"' in choice and "Cleanup" in choice


def test_a_refused_assignment_keeps_the_choices_and_shows_why(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group, make.user(display_name="Kana"))
    session = make.session(group, day=date.today() + timedelta(days=10))
    reception = slots_of(session)["reception"]
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}/staffing/assign"
    missing = client.post(url, data={"slot_id": reception.id})
    assert missing.status_code == 422
    assert "Please fill this in." in _field(missing.get_data(as_text=True), "user_id")

    client.post(url, data={"slot_id": reception.id, "user_id": member.id})
    again = client.post(url, data={"slot_id": reception.id, "user_id": member.id})
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert "Kana already has this place." in page
    assert f'<option value="{member.id}" selected>' in page


def test_fields_point_only_at_help_that_exists(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'aria-describedby="None"' not in page


def test_the_profile_takes_a_reading_only_in_kana_or_latin_letters(client, auth, make):
    from studygroup.auth.models import User

    member = make.user(display_name="長谷川 ひかり")
    auth.login_as(member)

    def save(reading, language="en"):
        data = {"display_name": "長谷川 ひかり", "reading": reading, "timezone": "Asia/Tokyo"}
        return client.post("/profile", data=data, headers={"Accept-Language": language})

    for reading in (
        "はせがわ ひかり",
        "ハセガワ　ヒカリ",
        "ﾊｾｶﾞﾜ ﾋｶﾘ",
        "らーめん・たろう",
        "Hikari O'Hasegawa-Smith",
    ):
        assert save(reading).status_code == 302, reading
        assert db.session.get(User, member.id).reading == reading
    for reading, language, message in (
        ("長谷川", "en", "Write the reading in hiragana or katakana"),
        ("はせがわ1", "ja", "ふりがなは、ひらがな・カタカナで入力してください"),
        ("<b>ひかり</b>", "en", "Write the reading in hiragana or katakana"),
        ("は" * 81, "ja", "80文字以内"),
    ):
        page = save(reading, language).get_data(as_text=True)
        shown = _field(page, "reading")
        assert message in shown and 'aria-invalid="true"' in shown, reading
        assert f'value="{escape(reading)}"' in shown  # what was typed stays
        assert db.session.get(User, member.id).reading == "Hikari O'Hasegawa-Smith"
