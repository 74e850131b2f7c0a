"""Issue 13 (speed): the group's network page and the co-worker page, cold and warm.

Cold (the page cache emptied, as after any write): at most 4 statements counting the login
statement, the same with twice the history. Warm: 1. A change made through the app is on the
next GET. Each test runs with no tie watermark and with the tie tables holding everything
started more than a day ago (conftest.ties_or_live), so the stored and live halves both count.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.coworking.group_pairs import group_network
from studygroup.coworking.models import TieWatermark
from studygroup.extensions import db
from studygroup.sessions.services import create_session
from studygroup.signups.organizing import assign
from studygroup.testing.network import make_network_group
from tests.conftest import kept_statements
from tests.factories import slots_of

pytestmark = pytest.mark.usefixtures("ties_or_live")
NOW = datetime.now(UTC)


def _put(organizer, member, slot):
    return assign(db.session, organizer=organizer, member=member, slot=slot, now=NOW).place


def _past(make, group, days_ago):
    return make.session(group, day=date.today() - timedelta(days=days_ago), start=time(10))


def _started_hours_ago(group, hours=3):
    """A session that began a few hours ago: after the "ties" watermark, so counted live."""
    session = create_session(
        db.session,
        group=group,
        title="This morning",
        starts_at=NOW - timedelta(hours=hours),
        ends_at=NOW - timedelta(hours=hours - 2),
        venue="Community hall",
        now=NOW - timedelta(days=2),
    )
    db.session.commit()
    return session


@pytest.fixture
def crew(make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    people = {n: make.member(group, make.user(display_name=n)) for n in ("Ai", "Bo", "Cy", "Di")}
    return organizer, group, people


def _history(make, organizer, group, people, size, seed):
    """A believable history (`size` more members, past sessions of every role) plus the
    crew's own sessions: Ai and Bo side by side three times, Cy once."""
    if size:
        make_network_group(db.session, organizer, group, size, seed=seed)
    for days in (30, 20, 10):
        s = _past(make, group, days)
        _put(organizer, people["Ai"], slots_of(s)["setup"])
        _put(organizer, people["Bo"], slots_of(s)["setup"])
    s = _past(make, group, 5)
    _put(organizer, people["Cy"], slots_of(s)["setup"])
    db.session.commit()


def _cold_and_warm(client, count_queries, url):
    with count_queries() as cold:
        assert client.get(url).status_code == 200
    return cold.count, kept_statements(client, count_queries, url)


def test_network_page_cold_in_four_statements_whatever_the_history(
    client, auth, crew, make, count_queries
):
    organizer, group, people = crew
    _history(make, organizer, group, people, 12, seed=1)
    auth.login_as(organizer)
    url = f"/g/{group.slug}/network"
    small = _cold_and_warm(client, count_queries, url)
    _history(make, organizer, group, people, 24, seed=2)  # more members, sessions, pairs
    large = _cold_and_warm(client, count_queries, url)
    assert small[0] <= 4 and small[1] == 1
    assert large == small


def test_network_page_shows_the_next_change(client, auth, crew, make):
    organizer, group, people = crew
    _history(make, organizer, group, people, 0, seed=3)  # Ai & Bo in the top ten
    auth.login_as(organizer)
    url = f"/g/{group.slug}/network"
    assert "Ai &amp; Bo — 3 sessions" in client.get(url).get_data(as_text=True)
    # A session that started this morning (counted live when the tables hold the rest).
    morning = _started_hours_ago(group)
    _put(organizer, people["Ai"], slots_of(morning)["setup"])
    _put(organizer, people["Bo"], slots_of(morning)["setup"])
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Ai &amp; Bo — 4 sessions" in page
    people["Bo"].display_name = "Bo Renamed"
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Ai &amp; Bo Renamed — 4 sessions" in page
    assert "<title>Bo Renamed</title>" in page  # the picture too


def test_group_network_from_the_tables_equals_the_live_count(crew, make):
    """The pairs read from the tie tables plus the sessions since the watermark are exactly
    the pairs counted live from the places."""
    organizer, group, people = crew
    _history(make, organizer, group, people, 12, seed=4)
    morning = _started_hours_ago(group)
    _put(organizer, people["Ai"], slots_of(morning)["setup"])
    _put(organizer, people["Di"], slots_of(morning)["setup"])
    _put(organizer, people["Bo"], slots_of(morning)["reception"])
    db.session.commit()
    now = datetime.now(UTC)
    mixed = group_network(db.session, group, now=now)
    db.session.execute(sa.delete(TieWatermark))  # no watermark: everything counted live
    live = group_network(db.session, group, now=now)
    db.session.rollback()
    assert [(p.a, p.b, p.sessions, p.side_by_side) for p in mixed.pairs] == [
        (p.a, p.b, p.sessions, p.side_by_side) for p in live.pairs
    ]
    assert mixed.sessions_worked == live.sessions_worked
    assert mixed.partners == live.partners
    ai, di = people["Ai"].id, people["Di"].id
    pair = next(p for p in live.pairs if {p.a, p.b} == {ai, di})
    assert (pair.sessions, pair.side_by_side) == (1, 1)


def test_coworker_page_cold_in_four_statements_whatever_the_history(
    client, auth, crew, make, count_queries
):
    organizer, group, people = crew
    _history(make, organizer, group, people, 12, seed=5)
    ai = people["Ai"]
    auth.login_as(ai)
    own, others = f"/people/{ai.id}/coworkers", f"/people/{people['Bo'].id}/coworkers"
    small = [_cold_and_warm(client, count_queries, url) for url in (own, others)]
    _history(make, organizer, group, people, 24, seed=6)
    large = [_cold_and_warm(client, count_queries, url) for url in (own, others)]
    (own_cold, own_warm), (others_cold, others_warm) = small
    assert own_cold <= 4 and own_warm == 1
    # Another member's page first loads them and checks the viewer may look (one more).
    assert others_cold <= 5 and others_warm == 1
    assert large == small


def test_coworker_page_shows_the_next_change(client, auth, crew, make):
    organizer, group, people = crew
    _history(make, organizer, group, people, 0, seed=7)
    ai, cy = people["Ai"], people["Cy"]
    auth.login_as(ai)
    url = f"/people/{ai.id}/coworkers"
    assert "<title>Cy</title>" not in client.get(url).get_data(as_text=True)
    morning = _started_hours_ago(group)
    _put(organizer, ai, slots_of(morning)["setup"])
    _put(organizer, cy, slots_of(morning)["setup"])
    db.session.commit()
    assert "<title>Cy</title>" in client.get(url).get_data(as_text=True)
    cy.display_name = "Cy Renamed"
    db.session.commit()
    assert "Cy Renamed" in client.get(url).get_data(as_text=True)
