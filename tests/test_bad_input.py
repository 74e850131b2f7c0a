"""Hostile or careless input gets a message or a 404, never a 500, on both engines."""

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.role_types import role_types_of
from studygroup.sessions.models import StudySession


def test_control_characters_are_removed_from_text(client, organizer_and_group):
    _organizer, group = organizer_and_group
    response = client.post(
        f"/g/{group.slug}/sessions/new",
        data={
            "title": "Null\x00 byte\x07 talk",
            "day": "2027-03-03",
            "start_time": "19:00",
            "end_time": "21:00",
            "venue": "Hall\x00",
            "description": "line one\nline two",
        },
    )
    assert response.status_code == 302
    session = db.session.scalar(sa.select(StudySession).where(StudySession.group_id == group.id))
    assert session.title == "Null byte talk"
    assert session.venue == "Hall"
    assert session.description == "line one\nline two"


@pytest.mark.parametrize(
    "data",
    [
        {"day": "9999-12-31"},
        {"day": "0001-01-01"},
        {"day": "2027-02-30"},
        {"start_time": "25:00"},
        {"start_time": ""},
        {"title": "x" * 5000},
    ],
)
def test_bad_session_values_give_messages(client, organizer_and_group, data):
    _organizer, group = organizer_and_group
    form = {"title": "T", "day": "2027-03-03", "start_time": "19:00", "end_time": "21:00"}
    form.update(data)
    response = client.post(f"/g/{group.slug}/sessions/new", data=form)
    assert response.status_code == 200
    assert "Please check the fields marked below." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        {"first_day": "9999-12-01"},
        {"interval": "many", "pattern": "weekly"},
        {"weekday": "XX"},
        {"pattern": "yearly"},
        {"ordinals": ["7"]},
        {"pattern": "custom", "rule": "FREQ=MONTHLY;BYDAY=+3SA\r\nDTSTART:19700101"},
        {"pattern": "custom", "rule": "FREQ=MONTHLY;UNTIL=99999999"},
        {"pattern": "custom", "rule": "FREQ=SECONDLY"},
        {"pattern": "custom", "rule": "FREQ=WEEKLY;INTERVAL=0"},
        {"pattern": "custom", "rule": "FREQ=YEARLY;BYEASTER=400"},
        {"pattern": "custom", "rule": "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=1"},
    ],
)
def test_bad_series_values_give_messages(client, organizer_and_group, data):
    _organizer, group = organizer_and_group
    form = {
        "title": "T",
        "pattern": "monthly",
        "ordinals": ["3"],
        "weekday": "SA",
        "first_day": "2027-01-01",
        "months": "6",
        "start_time": "10:00",
        "end_time": "12:00",
    }
    form.update(data)
    response = client.post(f"/g/{group.slug}/series/new", data=form)
    assert response.status_code == 200, data
    page = response.get_data(as_text=True)
    assert 'class="error"' in page or 'class="flash error"' in page, data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StudySession)) == 0


def test_malformed_addresses_are_404(client, organizer_and_group):
    _organizer, group = organizer_and_group
    for path in [
        "/g/%00",
        "/g/a%00b/sessions/1",
        f"/g/{group.slug}/invite/%00",
        "/g/" + "x" * 500,
        f"/g/{group.slug}/sessions/99999999999999999999",
    ]:
        assert client.get(path).status_code == 404, path


def test_bad_numbers_for_roles_give_messages(client, organizer_and_group):
    _organizer, group = organizer_and_group
    response = client.post(
        f"/g/{group.slug}/roles",
        data={
            "name": "X",
            "default_headcount": "-1",
            "start_offset_minutes": "99999",
            "start_anchor": "middle",
            "end_offset_minutes": "zero",
            "end_anchor": "end",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a number from 0 to 500." in page
    assert "Enter a number from -1440 to 1440." in page
    assert len(role_types_of(db.session, group)) == 3


def test_unknown_member_action_is_refused(client, organizer_and_group, make):
    _organizer, group = organizer_and_group
    make.member(group)
    from studygroup.groups.models import Membership

    target = db.session.scalars(sa.select(Membership).where(Membership.group_id == group.id)).all()
    response = client.post(f"/g/{group.slug}/members/{target[-1].id}", data={"action": "delete"})
    assert response.status_code == 400
