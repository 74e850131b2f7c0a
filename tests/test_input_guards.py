"""The five 500s of issue 9 (digits that are not ASCII, NUL in a path, ids past the database's
integer) and the shared guards that refuse such input on both engines."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import Group
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import Assignment
from studygroup.signups.services import sign_up

TOO_BIG = 2**31


SERIES = {
    "title": "T",
    "pattern": "custom",
    "first_day": "2027-01-01",
    "months": "6",
    "start_time": "10:00",
    "end_time": "12:00",
}


@pytest.mark.parametrize("interval", ["²", "٣", "１２", "𝟗"])
def test_a_rule_interval_in_other_digits_is_refused(client, organizer_and_group, interval):
    _organizer, group = organizer_and_group
    response = client.post(
        f"/g/{group.slug}/series/new", data={**SERIES, "rule": f"FREQ=WEEKLY;INTERVAL={interval}"}
    )
    assert response.status_code == 200
    assert "INTERVAL must be a number from 1 to 12." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StudySession)) == 0


@pytest.mark.parametrize("part", ["BYMONTHDAY=²", "BYSETPOS=１", "COUNT=٣"])
def test_other_rule_parts_in_other_digits_are_refused(client, organizer_and_group, part):
    _organizer, group = organizer_and_group
    response = client.post(
        f"/g/{group.slug}/series/new", data={**SERIES, "rule": f"FREQ=MONTHLY;BYDAY=SA;{part}"}
    )
    assert response.status_code == 200
    assert 'class="error"' in response.get_data(as_text=True)


def _settings(group: Group, **changes) -> dict:
    return {
        "name": group.name,
        "slug": group.slug,
        "timezone": group.timezone,
        "join_policy": group.join_policy.value,
        "visibility": group.visibility.value,
        "signup_opens_days_before": "30",
        "signup_closes_hours_before": "0",
        "self_cancel_hours_before": "24",
        "reminder_lead_hours": "144,24",
        **changes,
    }


REMINDERS = "Give up to 5 whole hours from 1 to 720"
# WTForms' IntegerField takes whatever int() takes; the app's forms take ASCII digits.
WHOLE_NUMBER = "Enter a whole number in digits 0-9."


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        *[("reminder_lead_hours", v, REMINDERS) for v in ["²", "24,²", "١٢", "１２", "24,⁴⁸"]],
        *[("self_cancel_hours_before", v, WHOLE_NUMBER) for v in ["１２", "٣", "1_0", "+5", " 5"]],
    ],
)
def test_numbers_in_other_digits_are_refused(client, organizer_and_group, field, value, message):
    _organizer, group = organizer_and_group
    response = client.post(f"/g/{group.slug}/edit", data=_settings(group, **{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.refresh(group)
    assert group.reminder_lead_hours == "144,24"
    assert group.self_cancel_hours_before == 24


def test_a_number_past_the_database_integer_is_refused_in_a_form(client, organizer_and_group):
    _organizer, group = organizer_and_group
    response = client.post(f"/g/{group.slug}/edit", data=_settings(group, no_show_limit=str(2**63)))
    assert response.status_code == 422
    assert "Enter a number from 1 to 100." in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/coworkers/link/a%00b", "/coworkers/link/%00", "/g/a%00"])
def test_nul_in_a_path_is_404(client, make, path):
    assert client.get(path).status_code == 404


def test_nul_in_a_path_is_404_when_logged_in(client, auth, make):
    auth.login_as(make.user())
    assert client.get("/coworkers/link/a%00b").status_code == 404


@pytest.mark.parametrize("query", ["lang=%00", "next=/%00", "group=1%00"])
def test_nul_in_a_query_string_is_refused_with_a_reason(client, auth, make, query):
    auth.login_as(make.user())
    response = client.get(f"/coworkers?{query}", follow_redirects=True)
    assert response.status_code == 400
    assert "characters that are not allowed" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "field", [{"timezone": "Asia/Tokyo\x00"}, {"join_policy": "\x00"}, {"slug": "\x00"}]
)
def test_nul_in_a_choice_or_address_gets_a_message(client, organizer_and_group, field):
    _organizer, group = organizer_and_group
    response = client.post(f"/g/{group.slug}/edit", data=_settings(group, **field))
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("membership_id", [TOO_BIG, 2**63, 10**10 - 1])
def test_a_group_feed_link_past_the_database_integer_is_404(client, make, membership_id):
    make.group()
    response = client.get(f"/calendar/group/{membership_id}.{'A' * 43}.ics")
    assert response.status_code == 404


@pytest.mark.parametrize("to_slot_id", [str(TOO_BIG), str(2**63), "-1", "0", "１", "²"])
def test_moving_a_place_to_an_impossible_role_is_refused(
    client, organizer_and_group, make, to_slot_id
):
    _organizer, group = organizer_and_group
    session = make.session(group)
    slot = db.session.scalars(
        sa.select(RoleSlot).where(RoleSlot.session_id == session.id).order_by(RoleSlot.position)
    ).first()
    place = sign_up(db.session, member=make.member(group), slot=slot, now=datetime.now(UTC))
    db.session.commit()
    response = client.post(
        f"/g/{group.slug}/places/{place.id}",
        data={"action": "move", "to_slot_id": to_slot_id},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    # No such role here (404), or the staffing page asks which role to move to.
    assert response.status_code == 404 or "Choose the role to move" in page
    assert db.session.get(Assignment, place.id).slot_id == slot.id


@pytest.mark.parametrize("value", [str(TOO_BIG), str(2**63), "１", "٣", "1\x00"])
def test_query_string_ids_past_the_database_integer_are_ignored(client, auth, make, value):
    user = make.user()
    auth.login_as(user)
    response = client.get(f"/people/{user.id}/coworkers", query_string={"group": value})
    assert response.status_code in (200, 400)


def test_request_args_get_type_int_is_strict(app):
    with app.test_request_context(
        "/?a=2147483648&b=%EF%BC%91&c=-5&d=2147483647&e=+3&f=%C2%B2&g=12"
    ):
        from flask import request

        args = request.args
        assert args.get("a", type=int) is None
        assert args.get("b", type=int) is None
        assert args.get("c", type=int) == -5
        assert args.get("d", type=int) == 2**31 - 1
        assert args.get("e", type=int) is None
        assert args.get("f", type=int) is None
        assert args.get("g", type=int) == 12
        assert args.getlist("g", type=int) == [12]
        assert args.getlist("a", type=int) == []
