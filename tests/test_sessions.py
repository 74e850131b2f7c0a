from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.rules import RuleViolation
from studygroup.sessions.models import SessionSeries, SessionStatus, StudySession
from studygroup.sessions.series import monthly_rule, plan_series, series_dates, weekly_rule
from studygroup.sessions.services import cancel_session, get_session, update_session
from tests.factories import slots_of

TOKYO = ZoneInfo("Asia/Tokyo")


def _sessions(group):
    return list(
        db.session.scalars(
            sa.select(StudySession)
            .where(StudySession.group_id == group.id)
            .order_by(StudySession.starts_at)
        )
    )


def test_monthly_rules_give_the_right_dates():
    third_saturday = series_dates(
        monthly_rule([3], "SA"), first_day=date(2027, 1, 1), last_day=date(2027, 6, 30), limit=60
    )
    assert third_saturday == [
        date(2027, 1, 16),
        date(2027, 2, 20),
        date(2027, 3, 20),
        date(2027, 4, 17),
        date(2027, 5, 15),
        date(2027, 6, 19),
    ]
    last_friday = series_dates(
        monthly_rule([-1], "FR"), first_day=date(2027, 1, 1), last_day=date(2027, 3, 31), limit=60
    )
    assert last_friday == [date(2027, 1, 29), date(2027, 2, 26), date(2027, 3, 26)]
    first_and_third_wednesday = series_dates(
        monthly_rule([3, 1], "WE"),
        first_day=date(2027, 1, 1),
        last_day=date(2027, 2, 28),
        limit=60,
    )
    assert first_and_third_wednesday == [
        date(2027, 1, 6),
        date(2027, 1, 20),
        date(2027, 2, 3),
        date(2027, 2, 17),
    ]
    assert monthly_rule([3, 1], "WE") == "FREQ=MONTHLY;BYDAY=+1WE,+3WE"
    every_other_tuesday = series_dates(
        weekly_rule("TU", 2), first_day=date(2027, 1, 5), last_day=date(2027, 2, 5), limit=60
    )
    assert every_other_tuesday == [date(2027, 1, 5), date(2027, 1, 19), date(2027, 2, 2)]


def test_series_keeps_the_wall_clock_across_daylight_saving():
    planned = plan_series(
        rule=monthly_rule([-1], "SA"),
        first_day=date(2027, 2, 1),
        months=3,
        start_time=time(10),
        end_time=time(12),
        tz="Europe/Berlin",
        limit=60,
    )
    berlin = ZoneInfo("Europe/Berlin")
    local = [p.starts_at.astimezone(berlin) for p in planned]
    assert [d.date() for d in local] == [date(2027, 2, 27), date(2027, 3, 27), date(2027, 4, 24)]
    assert all(d.hour == 10 for d in local)
    # 10:00 CET is 09:00 UTC, 10:00 CEST is 08:00 UTC: the March change is in between.
    assert [p.starts_at.hour for p in planned] == [9, 9, 8]
    assert all(p.starts_at.tzinfo == UTC for p in planned)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=MONTHLY;BYDAY=+5SA;BYMONTH=2;COUNT=1", "gives no dates"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "gives no dates"),
        ("NOT A RULE", "single RRULE"),
        ("FREQ=MONTHLY;BYDAY=+9SA", "cannot be read"),
        ("FREQ=MONTHLY;BYHOUR=9", "not supported here: BYHOUR"),
        ("FREQ=YEARLY;BYEASTER=400", "not supported here: BYEASTER"),
        ("FREQ=DAILY", "weekly, monthly or yearly"),
        ("FREQ=SECONDLY", "weekly, monthly or yearly"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL must be"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "more than 60 sessions"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(rule, message, app):
    with pytest.raises(RuleViolation) as refused:
        plan_series(
            rule=rule,
            first_day=date(2027, 1, 1),
            months=6,
            start_time=time(10),
            end_time=time(12),
            tz="Asia/Tokyo",
            limit=60,
        )
    assert message in str(refused.value.message)


def _series_form(**overrides):
    data = {
        "title": "月例会",
        "pattern": "monthly",
        "ordinals": ["3"],
        "weekday": "SA",
        "interval": "1",
        "rule": "",
        "first_day": "2027-01-01",
        "months": "6",
        "start_time": "10:00",
        "end_time": "12:00",
        "venue": "Hall",
        "description": "",
    }
    data.update(overrides)
    return data


def test_posting_six_third_saturdays_in_tokyo(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    roles = {rt.key: rt for rt in group_role_types(group)}
    preview = client.post(f"/g/{group.slug}/series/new", data=_series_form(preview="Preview dates"))
    page = preview.get_data(as_text=True)
    assert "6 dates" in page
    assert "Sat 16 Jan 2027" in page
    assert _sessions(group) == []  # a preview saves nothing
    response = client.post(
        f"/g/{group.slug}/series/new",
        data=_series_form(
            **{f"headcount_{roles['setup'].id}": "5", f"headcount_{roles['speaker'].id}": "0"}
        ),
    )
    assert response.status_code == 302
    sessions = _sessions(group)
    assert [s.starts_at.astimezone(TOKYO).date() for s in sessions] == [
        date(2027, 1, 16),
        date(2027, 2, 20),
        date(2027, 3, 20),
        date(2027, 4, 17),
        date(2027, 5, 15),
        date(2027, 6, 19),
    ]
    first = sessions[0]
    assert first.starts_at == datetime(2027, 1, 16, 1, 0, tzinfo=UTC)  # 10:00 JST
    assert first.series_id is not None
    assert db.session.get(SessionSeries, first.series_id).rrule == "FREQ=MONTHLY;BYDAY=+3SA"
    slots = {slot.role_type_id: slot for slot in slots_of(first).values()}
    assert roles["speaker"].id not in slots
    setup = slots[roles["setup"].id]
    assert setup.headcount == 5
    assert setup.starts_at.astimezone(TOKYO).time() == time(9, 0)
    assert setup.ends_at.astimezone(TOKYO).time() == time(10, 0)


def group_role_types(group):
    from studygroup.groups.role_types import role_types_of

    return role_types_of(db.session, group)


def test_series_form_errors_stand_next_to_the_fields(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    cases = [
        ({"end_time": "09:00"}, "The end must be after the start."),
        ({"pattern": "custom", "rule": "FREQ=MONTHLY;BYDAY=+5SA;BYMONTH=2;COUNT=1"}, "no dates"),
        ({"pattern": "custom", "rule": ""}, "Write the rule"),
        ({"ordinals": []}, "Choose at least one week."),
        ({"months": "99"}, "Enter a number from 1 to 24."),
        ({"first_day": "not a date"}, "Not a valid date value."),
    ]
    for overrides, message in cases:
        response = client.post(f"/g/{group.slug}/series/new", data=_series_form(**overrides))
        assert response.status_code == 200, overrides
        assert message in response.get_data(as_text=True), overrides
    assert _sessions(group) == []


def test_one_session_is_moved_without_touching_the_others(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    client.post(f"/g/{group.slug}/series/new", data=_series_form(months="3"))
    first, second, third = _sessions(group)
    setup_before = slots_of(second)["setup"].starts_at
    response = client.post(
        f"/g/{group.slug}/sessions/{second.id}/edit",
        data={
            "title": "Moved",
            "day": "2027-02-21",
            "start_time": "13:00",
            "end_time": "15:00",
            "venue": "Hall",
            "description": "",
        },
    )
    assert response.status_code == 302
    first, second, third = _sessions(group)
    assert second.title == "Moved"
    assert second.starts_at.astimezone(TOKYO) == datetime(2027, 2, 21, 13, tzinfo=TOKYO)
    assert second.sequence == 1
    # Its role windows moved with it (setup one hour before).
    assert slots_of(second)["setup"].starts_at - setup_before == timedelta(days=1, hours=3)
    assert (first.title, first.sequence, third.sequence) == ("月例会", 0, 0)


def test_sequence_goes_up_for_time_place_and_status_only(make):
    group = make.group()
    session = make.session(group)
    now = datetime.now(UTC)
    change = update_session(
        db.session,
        session,
        title="New title",
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        venue=session.venue,
        description="more",
        now=now,
    )
    assert change.details and not change.time and session.sequence == 0
    assert session.updated_at == now
    update_session(
        db.session,
        session,
        title="New title",
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        venue="Another hall",
        description="more",
        now=now,
    )
    assert session.sequence == 1
    cancel_session(session, now=now)
    assert (session.status, session.sequence) == (SessionStatus.CANCELLED, 2)
    with pytest.raises(RuleViolation):
        cancel_session(session, now=now)


def test_cancel_and_reinstate_keep_the_session_and_its_roles(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group)
    slot_ids = [s.id for s in slots_of(session).values()]
    auth.login_as(organizer)
    client.post(f"/g/{group.slug}/sessions/{session.id}/cancel")
    db.session.refresh(session)
    assert session.is_cancelled and session.cancelled_at is not None
    assert [s.id for s in slots_of(session).values()] == slot_ids
    page = client.get(f"/g/{group.slug}").get_data(as_text=True)
    assert "Cancelled" in page
    client.post(f"/g/{group.slug}/sessions/{session.id}/reinstate")
    db.session.refresh(session)
    assert session.status == SessionStatus.SCHEDULED and session.sequence == 2


def test_single_session_validation_and_nothing_lost(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group, title="Keep me")
    auth.login_as(organizer)
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/edit",
        data={"title": "Changed", "day": "2027-02-21", "start_time": "13:00", "end_time": "12:00"},
    )
    assert "The end must be after the start." in response.get_data(as_text=True)
    db.session.refresh(session)
    assert session.title == "Keep me"
    created = client.post(
        f"/g/{group.slug}/sessions/new",
        data={
            "title": "One-off",
            "day": "2027-03-03",
            "start_time": "19:00",
            "end_time": "21:00",
            "venue": "",
            "description": "",
            **{f"headcount_{rt.id}": "1" for rt in group_role_types(group)},
        },
    )
    assert created.status_code == 302


def test_slots_can_be_edited_and_added_per_session(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group, day=date(2027, 5, 15))
    reception = slots_of(session)["reception"]
    auth.login_as(organizer)
    client.post(
        f"/g/{group.slug}/sessions/{session.id}/slots/{reception.id}",
        data={
            f"slot{reception.id}-headcount": "4",
            f"slot{reception.id}-start_time": "09:30",
            f"slot{reception.id}-end_time": "12:00",
        },
    )
    db.session.refresh(reception)
    assert reception.headcount == 4
    assert reception.starts_at.astimezone(TOKYO) == datetime(2027, 5, 15, 9, 30, tzinfo=TOKYO)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "09:30–12:00" in page


def test_another_groups_session_is_404(client, auth, make):
    organizer = make.user()
    mine = make.group(organizer)
    other = make.group()
    theirs = make.session(other)
    auth.login_as(organizer)
    assert get_session(db.session, mine, theirs.id) is None
    assert client.get(f"/g/{mine.slug}/sessions/{theirs.id}").status_code == 404
    assert client.get(f"/g/{mine.slug}/sessions/{theirs.id}/edit").status_code == 404
    assert client.post(f"/g/{mine.slug}/sessions/{theirs.id}/cancel").status_code == 404
    assert client.get(f"/g/{mine.slug}/sessions/999999").status_code == 404


def test_pages_use_a_fixed_number_of_queries(client, auth, make, count_queries):
    """No N+1: the group page, the home page and the organizer portal cost the same for
    3 sessions as for 12."""
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)

    def counts():
        result = {}
        for path in ["/", "/organize", f"/g/{group.slug}"]:
            with count_queries() as q:
                assert client.get(path).status_code == 200
            result[path] = q.count
        return result

    for n in range(3):
        make.session(group, day=date.today() + timedelta(days=30 + n))
    few = counts()
    for n in range(9):
        make.session(group, day=date.today() + timedelta(days=60 + n))
    many = counts()
    assert few == many
    # The group page also counts its upcoming sessions and its past ones by year, and reads
    # which of them the member said they can help with (one statement), and the group's
    # announcements sent to the viewer (one statement).
    assert max(many.values()) <= 13, many


def test_times_are_converted_across_daylight_saving_for_single_sessions(client, auth, make):
    organizer = make.user()
    group = make.group(organizer, timezone="America/New_York")
    auth.login_as(organizer)
    # 2027-03-14: clocks jump from 02:00 to 03:00 in New York.
    gap = client.post(
        f"/g/{group.slug}/sessions/new",
        data={"title": "T", "day": "2027-03-14", "start_time": "02:30", "end_time": "03:30"},
    )
    assert gap.status_code == 200
    assert "does not exist on that day" in gap.get_data(as_text=True)
    across = client.post(
        f"/g/{group.slug}/sessions/new",
        data={"title": "Early", "day": "2027-03-14", "start_time": "01:00", "end_time": "04:00"},
    )
    assert across.status_code == 302
    session = db.session.scalar(sa.select(StudySession).where(StudySession.title == "Early"))
    # 01:00 EST is 06:00 UTC; 04:00 EDT is 08:00 UTC: two real hours.
    assert session.starts_at == datetime(2027, 3, 14, 6, tzinfo=UTC)
    assert session.ends_at - session.starts_at == timedelta(hours=2)


def test_changing_only_the_end_moves_end_anchored_roles(make):
    group = make.group()
    session = make.session(group, day=date(2027, 5, 15))
    speaker = slots_of(session)["speaker"]
    custom = slots_of(session)["reception"]
    custom.starts_at += timedelta(minutes=15)  # reception edited by hand for this session
    db.session.commit()
    update_session(
        db.session,
        session,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at + timedelta(hours=5),
        venue=session.venue,
        description=session.description,
        now=datetime.now(UTC),
    )
    assert speaker.ends_at == session.ends_at  # follows the new end
    assert custom.starts_at.astimezone(TOKYO).time() == time(9, 45)  # hand edit kept


def test_a_role_window_can_run_past_midnight(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group, day=date(2027, 5, 15), start=time(21), end=time(23, 30))
    slot = slots_of(session)["setup"]
    auth.login_as(organizer)
    client.post(
        f"/g/{group.slug}/sessions/{session.id}/slots/{slot.id}",
        data={
            f"slot{slot.id}-headcount": "2",
            f"slot{slot.id}-start_time": "23:30",
            f"slot{slot.id}-end_time": "00:15",
        },
    )
    db.session.refresh(slot)
    assert slot.headcount == 2
    assert slot.ends_at - slot.starts_at == timedelta(minutes=45)


def test_organizer_portal_shows_every_group_even_when_one_is_busy(client, auth, make):
    organizer = make.user()
    busy = make.group(organizer, name="Busy group")
    quiet = make.group(organizer, name="Quiet group")
    for n in range(8):
        make.session(busy, day=date.today() + timedelta(days=1 + n), title=f"Busy {n}")
    make.session(quiet, day=date.today() + timedelta(days=60), title="Quiet one")
    auth.login_as(organizer)
    page = client.get("/organize").get_data(as_text=True)
    page = page.split("</section>", 1)[1]  # the groups, after "Needs you" (which names gaps)
    assert "Quiet one" in page
    assert "Busy 5" in page and "Busy 6" not in page  # six per group
