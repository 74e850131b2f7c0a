"""How places are filled (group and role settings, sign-up refused for formed roles) and the
pages of "I can help": the session page's form, the group page, My schedule, the staffing
page's list."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import FillMode, Group, RoleType
from studygroup.rules import RuleViolation
from studygroup.sessions.series import create_series, monthly_rule, plan_series
from studygroup.sessions.services import get_session
from studygroup.signups.availability import current_availability
from studygroup.signups.availability_changes import set_availability
from studygroup.signups.models import Assignment, Availability
from studygroup.signups.organizing import assign
from studygroup.signups.services import sign_up
from tests.factories import slots_of


def now():
    return datetime.now(UTC)


def roles_of(group):
    query = sa.select(RoleType).where(RoleType.group_id == group.id)
    return {r.key: r for r in db.session.scalars(query)}


def formed(group):
    group = db.session.get(Group, group.id)
    group.fill_mode = FillMode.FORMED
    db.session.commit()
    return group


@pytest.fixture
def team(make):
    organizer = make.user(display_name="Organizer")
    group = formed(make.group(organizer))
    member = make.member(group, make.user(display_name="Suzuki"))
    session = make.session(group, day=date.today() + timedelta(days=20))
    return organizer, group, member, session


def test_signing_up_for_a_formed_role_is_refused_but_organizers_assign(team):
    organizer, group, member, session = team
    _setup, reception, speaker = slots_of(session).values()
    with pytest.raises(RuleViolation) as refused:
        sign_up(db.session, member=member, slot=reception, now=now())
    assert "say you can help instead" in str(refused.value.message)
    db.session.rollback()
    # The speaker needs approval: by request, whatever the group's mode.
    assert not speaker.role_type.is_formed
    place = sign_up(db.session, member=member, slot=speaker, now=now(), talk_title="Typed ORM")
    assert place.status == "requested"
    # A role set to first come in a formed group takes sign-ups.
    setup = slots_of(session)["setup"]
    setup.role_type.fill_mode = FillMode.FIRST_COME
    assert sign_up(db.session, member=member, slot=setup, now=now()).status == "confirmed"
    outcome = assign(db.session, organizer=organizer, member=organizer, slot=reception, now=now())
    assert outcome.place.status == "confirmed"
    db.session.commit()


def test_group_settings_say_how_places_are_filled(client, organizer_and_group):
    organizer, group = organizer_and_group
    page = client.get(f"/g/{group.slug}/edit").get_data(as_text=True)
    assert 'name="fill_mode"' in page and 'name="team_days_before"' in page
    data = {
        "name": group.name,
        "slug": group.slug,
        "timezone": "Asia/Tokyo",
        "join_policy": "open",
        "visibility": "public",
        "signup_opens_days_before": "60",
        "signup_closes_hours_before": "0",
        "self_cancel_hours_before": "24",
        "reminder_lead_hours": "144,24",
        "fill_mode": "formed",
        "team_days_before": "61",
    }
    bad = client.post(f"/g/{group.slug}/edit", data=data)
    assert bad.status_code == 422
    assert 'id="team_days_before-help"' in bad.get_data(as_text=True)
    assert db.session.get(Group, group.id).fill_mode == FillMode.FIRST_COME
    assert client.post(f"/g/{group.slug}/edit", data={**data, "fill_mode": "x"}).status_code == 422
    ok = client.post(f"/g/{group.slug}/edit", data={**data, "team_days_before": "14"})
    assert ok.status_code == 302
    group = db.session.get(Group, group.id)
    assert (group.fill_mode, group.team_days_before) == (FillMode.FORMED, 14)


def test_a_role_can_differ_from_the_group(client, organizer_and_group):
    organizer, group = organizer_and_group
    reception = roles_of(group)["reception"]
    page = client.get(f"/g/{group.slug}/roles/{reception.id}/edit").get_data(as_text=True)
    assert "As the group (first come)" in page
    assert 'checked id="fill_mode-0"' in page
    data = {
        "name": "",
        "default_headcount": "2",
        "start_offset_minutes": "-30",
        "start_anchor": "start",
        "end_offset_minutes": "0",
        "end_anchor": "start",
        "fill_mode": "formed",
    }
    assert client.post(f"/g/{group.slug}/roles/{reception.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(RoleType, reception.id).fill_mode == FillMode.FORMED
    listing = client.get(f"/g/{group.slug}/roles").get_data(as_text=True)
    assert "organizers form the team" in listing
    page = client.get(f"/g/{group.slug}/roles/{reception.id}/edit").get_data(as_text=True)
    assert 'checked id="fill_mode-2"' in page
    # Back to the group's mode, and a bad value is a message next to the field.
    bad = client.post(
        f"/g/{group.slug}/roles/{reception.id}/edit", data={**data, "fill_mode": "nope"}
    )
    assert bad.status_code == 422
    assert (
        client.post(
            f"/g/{group.slug}/roles/{reception.id}/edit", data={**data, "fill_mode": ""}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(RoleType, reception.id).fill_mode is None
    # A new role can be formed from the start.
    client.post(
        f"/g/{group.slug}/roles",
        data={**data, "name": "Streaming", "fill_mode": "formed"},
    )
    streaming = db.session.scalar(sa.select(RoleType).where(RoleType.name == "Streaming"))
    assert streaming.fill_mode == FillMode.FORMED


def test_the_member_says_they_can_help_changes_and_withdraws(client, auth, team):
    organizer, group, member, session = team
    auth.login_as(member)
    url = f"/g/{group.slug}/sessions/{session.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="can-help"' in page
    assert "0 people can help so far." in page
    assert "not a promise and not a place" in page and "about 10 days before" in page
    assert "Join the waitlist" not in page and ">Sign up<" not in page

    reception, setup = roles_of(group)["reception"], roles_of(group)["setup"]
    # Roles chosen but none ticked: the message is next to the field; nothing saved.
    bad = client.post(f"{url}/availability", data={"any_role": "roles", "note": "x"})
    assert bad.status_code == 422
    assert "Choose at least one role, or any role." in bad.get_data(as_text=True)
    too_long = client.post(f"{url}/availability", data={"any_role": "any", "note": "x" * 201})
    assert too_long.status_code == 422 and "x" * 201 in too_long.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Availability)) == 0

    done = client.post(
        f"{url}/availability",
        data={"any_role": "roles", "roles": [str(reception.id)], "note": "only until 11:00"},
    )
    assert done.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "You said you can help" in page and "(Reception)" in page
    assert "only until 11:00" in page and "1 person can help so far." in page

    client.post(
        f"{url}/availability",
        data={"any_role": "roles", "roles": [str(reception.id), str(setup.id)]},
    )
    found = current_availability(db.session, [get_session(db.session, group, session.id)])
    assert found[session.id][member.id].role_type_ids == {reception.id, setup.id}

    # A role not of this session is refused (a forged form).
    other = roles_of(group)["speaker"]
    forged = client.post(f"{url}/availability", data={"any_role": "roles", "roles": [other.id]})
    assert forged.status_code == 422

    assert client.post(f"{url}/availability/withdraw").status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "You said you can help" not in page and "0 people can help so far." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Availability)) == 2


def test_not_a_member_cannot_say_so(client, auth, team, make):
    organizer, group, member, session = team
    auth.login_as(make.user())
    url = f"/g/{group.slug}/sessions/{session.id}"
    assert 'id="can-help"' not in client.get(url).get_data(as_text=True)
    assert client.post(f"{url}/availability", data={"any_role": "any"}).status_code in (403, 404)
    other = make.group()
    assert client.post(
        f"/g/{other.slug}/sessions/{session.id}/availability", data={"any_role": "any"}
    ).status_code in (403, 404)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Availability)) == 0


def _series(group, organizer):
    planned = plan_series(
        rule=monthly_rule([3], "SA"),
        first_day=date.today() + timedelta(days=20),
        months=3,
        start_time=time(10),
        end_time=time(12),
        tz=group.timezone,
        limit=50,
    )
    sessions = create_series(
        db.session,
        group=group,
        creator=organizer,
        title="Monthly meetup",
        rule=monthly_rule([3], "SA"),
        planned=planned,
        now=now(),
    )
    db.session.commit()
    return sessions


def test_usually_available_and_not_this_time(client, auth, make):
    organizer = make.user()
    group = formed(make.group(organizer))
    member = make.member(group)
    first, second, *_ = _series(group, organizer)
    auth.login_as(member)
    url = f"/g/{group.slug}/sessions/{first.id}"
    assert "Usually available for this series" in client.get(url).get_data(as_text=True)
    client.post(f"{url}/availability", data={"any_role": "any", "usually": "y"})
    second_page = client.get(f"/g/{group.slug}/sessions/{second.id}").get_data(as_text=True)
    assert "You said you can help" in second_page and "Not this time" in second_page

    client.post(f"/g/{group.slug}/sessions/{second.id}/availability/withdraw")
    second_page = client.get(f"/g/{group.slug}/sessions/{second.id}").get_data(as_text=True)
    assert "but not for this session" in second_page
    assert "You said you can help" in client.get(url).get_data(as_text=True)

    client.post(f"{url}/availability/series/end")
    assert "You said you can help" not in client.get(url).get_data(as_text=True)


def test_group_page_and_schedule_say_you_can_help(client, auth, team, make, count_queries):
    organizer, group, member, session = team
    others = [make.session(group, day=date.today() + timedelta(days=30 + n)) for n in range(3)]
    set_availability(db.session, member=member, session=session, any_role=True, now=now())
    db.session.commit()
    auth.login_as(member)
    page = client.get(f"/g/{group.slug}").get_data(as_text=True)
    assert page.count("You said you can help") == 1
    schedule = client.get("/schedule").get_data(as_text=True)
    assert schedule.count('#can-help"><strong>') == 1 and "Monthly meetup" in schedule

    with count_queries() as few:
        client.get(f"/g/{group.slug}")
    for s in others:
        set_availability(db.session, member=member, session=s, any_role=True, now=now())
    db.session.commit()
    with count_queries() as many:
        page = client.get(f"/g/{group.slug}").get_data(as_text=True)
    assert page.count("You said you can help") == 4
    assert many.count == few.count


def test_staffing_page_lists_who_can_help(client, auth, team, make, count_queries):
    organizer, group, member, session = team
    reception = roles_of(group)["reception"]
    set_availability(
        db.session,
        member=member,
        session=session,
        any_role=False,
        role_type_ids=[reception.id],
        note="only until 11:00",
        now=now(),
    )
    db.session.commit()
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}/staffing"
    with count_queries() as few:
        page = client.get(url).get_data(as_text=True)
    assert 'id="can-help-list"' in page
    assert "Suzuki" in page and "only until 11:00" in page
    for n in range(5):
        helper = make.member(group, make.user(display_name=f"Helper {n}"))
        set_availability(db.session, member=helper, session=session, any_role=True, now=now())
    db.session.commit()
    with count_queries() as many:
        page = client.get(url).get_data(as_text=True)
    assert "Helper 4" in page and "any role" in page
    assert many.count == few.count
    # Members see a count, never the names.
    auth.login_as(member)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "6 people can help so far." in page and "Helper 4" not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0
