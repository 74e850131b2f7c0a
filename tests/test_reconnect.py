"""Reconnect (issue 10 item 4): on one's own co-worker page, the people one worked with often
(3 sessions or more) but not in the last 6 months, with the coming sessions of one's own
groups where they hold a place."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import Membership, MembershipStatus, Visibility
from studygroup.relationships import services
from studygroup.relationships.services import months_before, reconnect_suggestions
from studygroup.signups.models import AssignmentStatus
from tests import test_coworking as coworking
from tests.factories import slots_of

crew = coworking.crew
put = coworking.put
TOKYO = ZoneInfo("Asia/Tokyo")
pytestmark = pytest.mark.usefixtures("ties_or_live")


def worked(make, group, organizer, day, people, start=time(10)):
    """A session on `day` (the group's clock) where `people` held places."""
    session = make.session(group, day=day, start=start, end=time(start.hour + 2))
    place_all(organizer, session, people)
    return session


def place_all(organizer, session, people, order=("setup", "reception")):
    """Confirmed places for `people`, filling the roles in `order` (3 on setup, 2 on reception)."""
    roles = slots_of(session)
    free = [key for key in order for _ in range(roles[key].headcount)]
    for person, key in zip(people, free, strict=False):
        put(organizer, person, roles[key])
    db.session.commit()


def days_ago(n):
    return date.today() - timedelta(days=n)


def coming(make, group, organizer, people, days=20, title="Monthly meetup"):
    """A session to come where `people` hold confirmed places."""
    session = make.session(group, day=date.today() + timedelta(days=days), title=title)
    place_all(organizer, session, people, order=("reception", "setup"))
    return session


def suggested(member, now=None):
    found = reconnect_suggestions(db.session, member, now=now or datetime.now(UTC))
    return {r.person.name: [s.title for s in r.sessions] for r in found.people}


def test_three_sessions_together_is_often_two_is_not(crew, make):
    organizer, group, p = crew
    ai, bo, cy = p["Ai"], p["Bo"], p["Cy"]
    for n in (300, 290):
        worked(make, group, organizer, days_ago(n), [ai, bo, cy])
    worked(make, group, organizer, days_ago(280), [ai, bo])
    coming(make, group, organizer, [bo, cy], title="Spring meetup")
    assert suggested(ai) == {"Bo": ["Spring meetup"]}  # Cy: only 2 sessions together


def test_the_last_session_together_more_than_six_months_ago_on_the_members_clock(crew, make):
    organizer, group, p = crew
    ai, bo, cy = p["Ai"], p["Bo"], p["Cy"]
    for day in (date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 30)):
        worked(make, group, organizer, day, [ai, bo])
    for day in (date(2026, 1, 11), date(2026, 2, 11), date(2026, 4, 30)):
        worked(make, group, organizer, day, [ai, cy])
    six_months = datetime(2026, 9, 30, 10, 0, tzinfo=TOKYO)  # after 30 March 10:00
    assert suggested(ai, six_months) == {}  # exactly six months: not yet
    assert suggested(ai, six_months + timedelta(minutes=1)) == {"Bo": []}


def test_six_months_are_calendar_months_on_the_members_clock():
    # 31 August: no 31 February, so the last day of February.
    assert months_before(datetime(2026, 8, 31, 12, tzinfo=TOKYO), "Asia/Tokyo", 6) == datetime(
        2026, 2, 28, 12, tzinfo=TOKYO
    )
    # 1 September 05:00 in Tokyo is 31 August 21:00 in London: six months back differ.
    instant = datetime(2026, 8, 31, 20, tzinfo=UTC)
    assert months_before(instant, "Asia/Tokyo", 6) == datetime(2026, 3, 1, 5, tzinfo=TOKYO)
    london = ZoneInfo("Europe/London")
    assert months_before(instant, "Europe/London", 6) == datetime(2026, 2, 28, 21, tzinfo=london)


def test_strongest_first_at_most_eight_and_a_count_of_the_rest(crew, make, monkeypatch):
    organizer, group, p = crew
    ai, bo, cy, di = p["Ai"], p["Bo"], p["Cy"], p["Di"]
    for n in (300, 290, 280):
        worked(make, group, organizer, days_ago(n), [ai, bo, cy, di])
    worked(make, group, organizer, days_ago(270), [ai, cy])
    monkeypatch.setattr(services, "RECONNECT_SHOWN", 2)
    found = reconnect_suggestions(db.session, ai, now=datetime.now(UTC))
    assert [r.person.name for r in found.people][0] == "Cy"  # 4 sessions, then the 3s
    assert (len(found.people), found.more) == (2, 1)


def test_only_sessions_the_member_can_join(crew, make):
    """Scheduled, to come, in a group the member is an active member of, a confirmed place of
    theirs, and no place of the member's own there yet."""
    organizer, group, p = crew
    ai, bo = p["Ai"], p["Bo"]
    for n in (300, 290, 280):
        worked(make, group, organizer, days_ago(n), [ai, bo])
    coming(make, group, organizer, [bo], days=10, title="Joinable")
    coming(make, group, organizer, [bo, ai], days=11, title="Ai is in already")
    waiting = coming(make, group, organizer, [], days=12, title="Bo waits")
    place = put(organizer, bo, slots_of(waiting)["reception"])
    place.status = AssignmentStatus.WAITLISTED
    other = make.group(organizer, visibility=Visibility.MEMBERS)
    make.member(other, bo)
    coming(make, other, organizer, [bo], days=13, title="Members only")
    db.session.commit()
    assert suggested(ai) == {"Bo": ["Joinable"]}

    make.member(other, ai)
    assert suggested(ai) == {"Bo": ["Joinable", "Members only"]}
    membership = db.session.scalar(
        sa.select(Membership).filter_by(user_id=ai.id, group_id=other.id)
    )
    membership.status = MembershipStatus.LEFT
    db.session.commit()
    assert suggested(ai) == {"Bo": ["Joinable"]}


def test_people_shown_as_a_member_are_not_listed(crew, make):
    organizer, group, p = crew
    ai, bo = p["Ai"], p["Bo"]
    for n in (300, 290, 280):
        worked(make, group, organizer, days_ago(n), [ai, bo, organizer])
    coming(make, group, organizer, [bo], title="Bo's next")
    bo.appear_by_name = False
    db.session.commit()
    assert suggested(ai) == {"Org": []}  # Bo is "a member" on Ai's page: not there at all
    # Bo's organizer sees them by name on the page, and on that group's session page...
    assert suggested(organizer) == {"Ai": [], "Bo": ["Bo's next"]}
    # ...but not on the page of a group they are only a member of: that place stays unseen.
    someone = make.user()
    other = make.group(someone)
    make.member(other, organizer)
    make.member(other, bo)
    coming(make, other, someone, [bo], days=5, title="Elsewhere")
    assert suggested(organizer) == {"Ai": [], "Bo": ["Bo's next"]}


def test_the_section_is_on_ones_own_page_only(client, auth, crew, make):
    organizer, group, p = crew
    ai, bo = p["Ai"], p["Bo"]
    for n in (300, 290, 280):
        worked(make, group, organizer, days_ago(n), [ai, bo])
    s = coming(make, group, organizer, [bo], title="Spring meetup")
    auth.login_as(ai)
    page = client.get(f"/people/{ai.id}/coworkers").get_data(as_text=True)
    section = page.split("Not seen for a while")[1].split("</section>")[0]
    assert "Bo" in section and f"/g/{group.slug}/sessions/{s.id}" in section
    assert "3 sessions or more" in section and "6 months" in section
    # Filtered by year, the section still speaks of the whole history.
    page = client.get(f"/people/{ai.id}/coworkers?year={date.today().year}").get_data(as_text=True)
    assert "Not seen for a while" in page
    auth.login_as(bo)
    assert "Not seen for a while" not in client.get(f"/people/{ai.id}/coworkers").get_data(
        as_text=True
    )
    auth.login_as(ai)
    ai.locale = "ja"
    db.session.commit()
    page = client.get(f"/people/{ai.id}/coworkers").get_data(as_text=True)
    assert "しばらく一緒に活動していない人" in page and "3回以上一緒に活動した" in page


def test_the_query_count_does_not_grow_with_the_people(client, auth, crew, make, count_queries):
    organizer, group, p = crew
    ai = p["Ai"]
    auth.login_as(ai)

    def measure():
        return coworking.page_queries(client, count_queries, f"/people/{ai.id}/coworkers")

    for n in (300, 290, 280):
        worked(make, group, organizer, days_ago(n), [ai, p["Bo"]])
    coming(make, group, organizer, [p["Bo"]])
    one = measure()
    for n in (250, 240, 230):
        worked(make, group, organizer, days_ago(n), [ai, p["Cy"], p["Di"]])
    for days in (5, 6, 7):
        coming(make, group, organizer, [p["Bo"], p["Cy"], p["Di"]], days=days)
    assert measure() == one
    assert one <= 5, one  # the page's four and one for everyone's coming sessions
