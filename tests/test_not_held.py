"""A session whose time has come is not cancelled but marked not held: it then counts for no
one (co-working, records, roles done, no-shows), calendars show it as cancelled, and "it was
held after all" brings it back (issue 9, #9)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.calendar import feeds
from studygroup.coworking.services import coworkers_of
from studygroup.extensions import db
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.sessions.services import cancel_session, mark_held, mark_not_held
from studygroup.signups.lists import member_records
from studygroup.signups.models import Attendance
from studygroup.signups.organizing import assign, set_attendance
from studygroup.signups.records import has_done_role, no_show_count
from tests.factories import slots_of

NOW = datetime.now(UTC)
EN = feeds.FeedOptions(locale="en", base_url="https://sg.example", uid_domain="sg.example")


@pytest.fixture
def last_week(make):
    """A session a week ago: Aoi and Ben set up together, Cy did not show up at reception."""
    organizer = make.user(display_name="Organizer")
    group = make.group(organizer)
    aoi, ben, cy = (make.member(group, make.user(display_name=n)) for n in ("Aoi", "Ben", "Cy"))
    session = make.session(group, day=date.today() - timedelta(days=7))
    slots = slots_of(session)
    for member, slot in ((aoi, "setup"), (ben, "setup"), (cy, "reception")):
        assign(db.session, organizer=organizer, member=member, slot=slots[slot], now=NOW)
    no_show = next(p for p in _places(session) if p.user_id == cy.id)
    set_attendance(
        db.session, organizer=organizer, place=no_show, attendance=Attendance.NO_SHOW, now=NOW
    )
    db.session.commit()
    return organizer, group, session, (aoi, ben, cy)


def _places(session):
    from studygroup.signups.models import Assignment

    return db.session.scalars(
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(RoleSlot.session_id == session.id)
    ).all()


def _counts(group, aoi, cy):
    records = {r.user.display_name: r for r in member_records(db.session, group, now=NOW)}
    return (
        [c.name for c in coworkers_of(db.session, aoi, viewer=aoi, now=NOW)],
        records["Aoi"].sessions_worked,
        len(has_done_role(db.session, group, now=NOW)),
        no_show_count(db.session, cy, group),
    )


def test_a_past_session_cannot_be_cancelled(last_week, client, auth):
    organizer, group, session, _people = last_week
    with pytest.raises(RuleViolation, match="mark it as not held"):
        cancel_session(session, now=NOW)
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Cancel this session" not in page
    assert "Mark as not held" in page
    assert "It is removed from co-working counts" in page  # the confirmation says so
    refused = client.post(
        f"/g/{group.slug}/sessions/{session.id}/cancel", follow_redirects=True
    ).get_data(as_text=True)
    assert "cannot be cancelled" in refused
    assert db.session.get(StudySession, session.id).status == SessionStatus.SCHEDULED


def test_a_session_marked_not_held_counts_for_no_one_until_it_was_held_after_all(
    last_week, client, auth
):
    organizer, group, session, (aoi, _ben, cy) = last_week
    assert _counts(group, aoi, cy) == (["Ben"], 1, 2, 1)

    auth.login_as(organizer)
    response = client.post(f"/g/{group.slug}/sessions/{session.id}/not-held")
    assert response.status_code == 302
    assert db.session.get(StudySession, session.id).status == SessionStatus.NOT_HELD
    assert _counts(group, aoi, cy) == ([], 0, 0, 0)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Not held" in page and "It was held after all" in page
    assert "Mark as not held" not in page and "Worked together" not in page

    event = feeds.group_feed(
        group, feeds.group_feed_sessions(db.session, group, now=NOW), options=EN
    ).decode()
    assert "STATUS:CANCELLED" in event and "[Not held] Monthly meetup" in event
    assert "SEQUENCE:1" in event

    client.post(f"/g/{group.slug}/sessions/{session.id}/held")
    assert db.session.get(StudySession, session.id).status == SessionStatus.SCHEDULED
    assert _counts(group, aoi, cy) == (["Ben"], 1, 2, 1)


def test_only_a_session_whose_time_has_come_can_be_marked_not_held(make):
    group = make.group()
    coming = make.session(group, day=date.today() + timedelta(days=3))
    with pytest.raises(RuleViolation, match="Cancel it instead"):
        mark_not_held(coming, now=NOW)
    with pytest.raises(RuleViolation, match="not marked as not held"):
        mark_held(coming, now=NOW)


def test_the_database_accepts_not_held(make):
    session = make.session(make.group())
    db.session.execute(
        sa.text("UPDATE study_session SET status = 'not_held' WHERE id = :id"), {"id": session.id}
    )
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(StudySession, session.id).is_not_held
