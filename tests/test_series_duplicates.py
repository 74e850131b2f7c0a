"""Posting a series (or one session) where the group already has sessions makes no duplicates:
the preview marks those dates and saving skips them, saying how many (issue 9, #6)."""

import re
from datetime import date, time, timedelta

import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.sessions.models import StudySession
from studygroup.sessions.services import cancel_session, to_utc


def _count(group):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(StudySession)
        .where(StudySession.group_id == group.id)
    )


def _series(first_day, months=4, **extra):
    return {
        "title": "月例会",
        "pattern": "monthly",
        "ordinals": ["3"],
        "weekday": "SA",
        "first_day": first_day.isoformat(),
        "months": str(months),
        "start_time": "10:00",
        "end_time": "12:00",
        "venue": "Hall",
        **extra,
    }


def test_posting_the_same_series_twice_skips_the_dates_that_have_a_session(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    first_day = date.today().replace(day=1) + timedelta(days=40)
    first = client.post(f"/g/{group.slug}/series/new", data=_series(first_day, months=2))
    assert first.status_code == 302
    posted = _count(group)
    assert posted == 2

    # Four months from the same day: the first two dates are taken.
    preview = client.post(
        f"/g/{group.slug}/series/new", data=_series(first_day, preview="Preview dates")
    ).get_data(as_text=True)
    assert preview.count("already has a session") == 2
    assert "2 of them already have a session" in preview

    saved = client.post(
        f"/g/{group.slug}/series/new", data=_series(first_day), follow_redirects=True
    ).get_data(as_text=True)
    assert "2 sessions are posted." in saved
    assert "2 dates are skipped because they already have a session." in saved
    assert _count(group) == 4

    starts = db.session.scalars(
        sa.select(StudySession.starts_at).where(StudySession.group_id == group.id)
    ).all()
    assert len(set(starts)) == 4  # no two sessions at one start

    # Five months: one more date, one more session, in the singular.
    saved = client.post(
        f"/g/{group.slug}/series/new", data=_series(first_day, months=5), follow_redirects=True
    ).get_data(as_text=True)
    assert "1 session is posted." in saved
    assert "4 dates are skipped because they already have a session." in saved
    assert _count(group) == 5


def test_a_cancelled_date_stays_cancelled_when_the_series_is_posted_again(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    first_day = date.today().replace(day=1) + timedelta(days=40)
    client.post(f"/g/{group.slug}/series/new", data=_series(first_day, months=1))
    [only] = db.session.scalars(sa.select(StudySession)).all()
    cancel_session(only, now=only.starts_at - timedelta(days=3))
    db.session.commit()
    again = client.post(f"/g/{group.slug}/series/new", data=_series(first_day, months=1))
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert "every one of these dates already has a session" in page
    assert "already has a session" in page and "Cancelled" in page
    assert _count(group) == 1


def test_one_session_at_a_taken_start_asks_first(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    day = date.today() + timedelta(days=30)
    existing = make.session(group, day=day, title="第7回")
    auth.login_as(organizer)
    data = {
        "title": "第7回 (again)",
        "day": day.isoformat(),
        "start_time": "10:00",
        "end_time": "12:00",
    }
    asked = client.post(f"/g/{group.slug}/sessions/new", data=data)
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "Another session of this group starts at this time: 第7回." in page
    assert f"/g/{group.slug}/sessions/{existing.id}" in page
    assert 'name="post_anyway"' in page
    assert 'value="第7回 (again)"' in page  # what was typed is kept
    assert _count(group) == 1

    # A different time is no duplicate; ticking "post it anyway" is a deliberate second one.
    assert (
        client.post(
            f"/g/{group.slug}/sessions/new",
            data={**data, "start_time": "14:00", "end_time": "16:00"},
        ).status_code
        == 302
    )
    assert (
        client.post(f"/g/{group.slug}/sessions/new", data={**data, "post_anyway": "y"}).status_code
        == 302
    )
    starts = db.session.scalars(
        sa.select(StudySession.starts_at).where(StudySession.group_id == group.id)
    ).all()
    assert sorted(starts).count(to_utc(day, time(10), group.timezone)) == 2
    assert _count(group) == 3


def test_moving_a_session_onto_another_start_asks_first(client, auth, make):
    """Editing a session to start when another of the group's sessions starts is the same
    duplicate as posting one there: the page names the other session and keeps what was
    typed; ticking "save it anyway" saves. Other edits of a session are not asked about."""
    organizer = make.user()
    group = make.group(organizer)
    day = date.today() + timedelta(days=30)
    existing = make.session(group, day=day, title="第7回")
    moving = make.session(group, day=day + timedelta(days=7), title="第8回")
    auth.login_as(organizer)
    data = {
        "title": "第8回（前倒し）",
        "day": day.isoformat(),
        "start_time": "10:00",
        "end_time": "12:00",
        "venue": "",
        "description": "",
    }
    url = f"/g/{group.slug}/sessions/{moving.id}/edit"
    asked = client.post(url, data=data)
    assert asked.status_code == 422
    page = asked.get_data(as_text=True)
    assert "Another session of this group starts at this time: 第7回." in page
    assert f"/g/{group.slug}/sessions/{existing.id}" in page
    assert 'name="save_anyway"' in page
    assert 'value="第8回（前倒し）"' in page
    db.session.expire_all()
    assert moving.starts_at == to_utc(day + timedelta(days=7), time(10), group.timezone)
    assert moving.title == "第8回"  # nothing of the refused edit is saved

    # The session's own start is no duplicate: a new title alone saves at once.
    same_day = client.post(
        url,
        data={**data, "day": (day + timedelta(days=7)).isoformat(), "title": "第8回 LT"},
    )
    assert same_day.status_code == 302

    assert client.post(url, data={**data, "save_anyway": "y"}).status_code == 302
    db.session.expire_all()
    assert moving.starts_at == existing.starts_at
    assert moving.title == "第8回（前倒し）"


def test_two_organizers_posting_the_same_series_at_once_make_each_date_once(app_factory, make):
    """The group's row is locked before the dates are checked: the second post waits for the
    first and then skips every date it made."""
    import threading
    from datetime import UTC, datetime

    from studygroup.auth.models import User
    from studygroup.groups.models import Group
    from studygroup.rules import RuleViolation
    from studygroup.sessions.series import create_series, monthly_rule, plan_series

    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4, "max_overflow": 0})
    organizer = make.user()
    group = make.group(organizer)
    first_day = date.today().replace(day=1) + timedelta(days=40)
    barrier = threading.Barrier(2, timeout=30)
    made: list[int] = []
    organizer_id, group_id = organizer.id, group.id  # read here, not in the threads

    def post():
        with app.app_context():
            me = db.session.get(User, organizer_id)
            mine = db.session.get(Group, group_id)
            planned = plan_series(
                rule=monthly_rule([3], "SA"),
                first_day=first_day,
                months=3,
                start_time=time(10),
                end_time=time(12),
                tz=mine.timezone,
                limit=60,
            )
            barrier.wait()
            try:
                sessions = create_series(
                    db.session,
                    group=mine,
                    creator=me,
                    title="月例会",
                    rule=monthly_rule([3], "SA"),
                    planned=planned,
                    now=datetime.now(UTC),
                )
                db.session.commit()
                made.append(len(sessions))
            except RuleViolation:
                db.session.rollback()
                made.append(0)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(made) == [0, 3]
    assert _count(group) == 3


def test_a_series_whose_every_date_has_a_session_is_news_not_an_error(client, auth, make):
    """Trial of issue 9, T17: nothing in the form is wrong, so no field is marked."""
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    first_day = date.today().replace(day=1) + timedelta(days=40)
    client.post(f"/g/{group.slug}/series/new", data=_series(first_day, months=2))
    preview = client.post(
        f"/g/{group.slug}/series/new", data=_series(first_day, months=2, preview="1")
    ).get_data(as_text=True)
    assert "Every one of these dates already has a session: there is nothing new to post." in (
        preview
    )
    again = client.post(f"/g/{group.slug}/series/new", data=_series(first_day, months=2))
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert re.search(
        r'<p class="flash info" role="status">No new session is posted: every one of these '
        r"dates already has a session.</p>",
        page,
    )
    assert "Please check the fields marked below" not in page
    assert 'aria-invalid="true"' not in page and "field invalid" not in page
    assert page.count("already has a session</span>") == 2  # the dates, each marked
    assert _count(group) == 2
