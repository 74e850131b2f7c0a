"""The session page and /schedule: a cold page (the page cache empty, as after any write) in
at most 4 statements counting the login statement, however many rows; a kept page in 1; and
a change made through the app is on the next page."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.sessions.models import RoleSlot
from studygroup.signups.offers import offer_place
from studygroup.signups.services import assign, sign_up

COLD_MAX = 4


def slots(session):
    return list(
        db.session.scalars(
            sa.select(RoleSlot).where(RoleSlot.session_id == session.id).order_by(RoleSlot.position)
        )
    )


def now():
    return datetime.now(UTC)


class Crew:
    """A group with an organizer, a member who looks at the pages, and sessions past and to
    come with places in them; `grow()` adds as many again."""

    def __init__(self, make):
        self.make = make
        self.organizer = make.user(display_name="Organizer")
        self.group = make.group(self.organizer)
        self.member = make.member(self.group, make.user(display_name="Suzuki"))
        self.upcoming = make.session(self.group, day=date.today() + timedelta(days=7), title="次回")
        self.rounds = 0
        self.grow()

    def grow(self):
        """More sessions (past and to come), members, places, waitlists and an offer."""
        self.rounds += 1
        make, group = self.make, self.group
        others = [make.member(group) for _ in range(3)]
        for slot in slots(self.upcoming):
            slot.headcount += 1
        db.session.commit()
        setup, reception, _speaker = slots(self.upcoming)
        held = sign_up(db.session, member=others[0], slot=setup, now=now())
        sign_up(db.session, member=others[1], slot=reception, now=now())
        db.session.commit()
        offer_place(db.session, place=held, member=others[0], note="", now=now())
        for days in (14 + self.rounds, 21 + self.rounds):
            later = make.session(group, day=date.today() + timedelta(days=days))
            sign_up(db.session, member=self.member, slot=slots(later)[0], now=now())
            sign_up(db.session, member=others[2], slot=slots(later)[0], now=now())
        for days in (10 + self.rounds, 40 + self.rounds):
            past = make.session(group, day=date.today() - timedelta(days=days))
            for person in (self.member, *others):
                assign(
                    db.session,
                    organizer=self.organizer,
                    member=person,
                    slot=slots(past)[1],
                    now=now(),
                    helper=True,  # a past session: recorded without asking
                )
        db.session.commit()


@pytest.fixture
def crew(make):
    return Crew(make)


def cold_and_warm(client, count_queries, path) -> tuple[int, int]:
    with count_queries() as cold:
        assert client.get(path).status_code == 200
    with count_queries(kept=True) as warm:
        assert client.get(path).status_code == 200
    return cold.count, warm.count


# --- the session page ---------------------------------------------------------------------


def test_session_page_cold_in_four_statements_however_many_rows(crew, client, auth, count_queries):
    path = f"/g/{crew.group.slug}/sessions/{crew.upcoming.id}"
    auth.login_as(crew.member)
    cold, warm = cold_and_warm(client, count_queries, path)
    assert cold <= COLD_MAX and warm == 1
    crew.grow()
    assert cold_and_warm(client, count_queries, path) == (cold, 1)


def test_session_page_for_a_visitor_is_cold_in_four_statements(crew, client, count_queries):
    path = f"/g/{crew.group.slug}/sessions/{crew.upcoming.id}"
    cold, warm = cold_and_warm(client, count_queries, path)
    assert cold <= COLD_MAX and warm == 1


def test_session_page_shows_a_sign_up_and_a_new_title_on_the_next_get(crew, client, auth):
    group, session = crew.group, crew.upcoming
    path = f"/g/{group.slug}/sessions/{session.id}"
    setup = slots(session)[0]
    setup_id, filled, needed = setup.id, 1, setup.headcount  # one place taken by `grow()`
    auth.login_as(crew.member)
    page = client.get(path).get_data(as_text=True)
    assert f"{filled} of {needed}" in page and "You are on this role" not in page
    client.post(f"/g/{group.slug}/slots/{setup_id}/signup")
    page = client.get(path).get_data(as_text=True)
    assert f"{filled + 1} of {needed}" in page and "You are on this role" in page

    auth.login_as(crew.organizer)
    client.post(
        f"{path}/edit",
        data={
            "title": "改題した回",
            "day": (date.today() + timedelta(days=7)).isoformat(),
            "start_time": "10:00",
            "end_time": "12:00",
            "venue": "Community hall",
            "description": "",
        },
    )
    auth.login_as(crew.member)
    page = client.get(path).get_data(as_text=True)
    assert "改題した回" in page and "次回" not in page
