"""The session page and /schedule: a cold page (the page cache empty, as after any write) in
at most 4 statements counting the login statement, however many rows; a kept page in 1; and
a change made through the app is on the next page."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.participants import services as participants
from studygroup.sessions.series import create_series, monthly_rule, plan_series
from studygroup.signups.availability import offered_sessions
from studygroup.signups.availability_changes import (
    set_availability,
    set_series_availability,
    withdraw_availability,
)
from studygroup.signups.lists import upcoming_places
from studygroup.signups.models import Assignment
from studygroup.signups.offer_reads import open_offers
from studygroup.signups.offers import offer_place
from studygroup.signups.organizing import assign
from studygroup.signups.places import waitlist_numbers
from studygroup.signups.schedule import coming_up
from studygroup.signups.services import sign_up
from studygroup.thanks.services import send_thanks
from tests.factories import slots_of

COLD_MAX = 4


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
        for slot in slots_of(self.upcoming).values():
            slot.headcount += 1
        db.session.commit()
        setup, reception, _speaker = slots_of(self.upcoming).values()
        held = sign_up(db.session, member=others[0], slot=setup, now=now())
        sign_up(db.session, member=others[1], slot=reception, now=now())
        db.session.commit()
        offer_place(db.session, place=held, member=others[0], note="", now=now())
        for days in (14 + self.rounds, 21 + self.rounds):
            later = make.session(group, day=date.today() + timedelta(days=days))
            sign_up(db.session, member=self.member, slot=slots_of(later)["setup"], now=now())
            sign_up(db.session, member=others[2], slot=slots_of(later)["setup"], now=now())
        for days in (10 + self.rounds, 40 + self.rounds):
            past = make.session(group, day=date.today() - timedelta(days=days))
            self.past, self.past_crew = past, others
            for person in (self.member, *others):
                assign(
                    db.session,
                    organizer=self.organizer,
                    member=person,
                    slot=slots_of(past)["reception"],
                    now=now(),
                    helper=True,  # a past session: recorded without asking
                )
        db.session.commit()
        self._grow_schedule(others)

    def _grow_schedule(self, others):
        """What My schedule lists besides places: a waitlist place, an offered place,
        registrations (one on a waitlist), "I can help" for a session and for a series (with
        a "not this time")."""
        make, group, member = self.make, self.group, self.member
        full = make.session(group, day=date.today() + timedelta(days=8 + self.rounds))
        setup = slots_of(full)["setup"]
        setup.headcount = 1
        db.session.commit()
        sign_up(db.session, member=others[0], slot=setup, now=now())
        sign_up(db.session, member=others[1], slot=setup, now=now())  # first in line
        sign_up(db.session, member=member, slot=setup, now=now())  # second in line
        mine = sign_up(db.session, member=member, slot=slots_of(full)["reception"], now=now())
        db.session.commit()
        offer_place(db.session, place=mine, member=member, note="", now=now())
        for capacity in (5, 1):
            open_to_all = make.session(group, day=date.today() + timedelta(days=9 + self.rounds))
            open_to_all.participant_capacity = capacity
            db.session.commit()
            participants.register(
                db.session, member=others[2], session=open_to_all, answers={}, now=now()
            )
            participants.register(
                db.session, member=member, session=open_to_all, answers={}, now=now()
            )
        helping = make.session(group, day=date.today() + timedelta(days=12 + self.rounds))
        set_availability(db.session, member=member, session=helping, any_role=True, now=now())
        planned = plan_series(
            rule=monthly_rule([2], "SU"),
            first_day=date.today() + timedelta(days=3),
            months=3,
            start_time=time(13 + self.rounds),
            end_time=time(15 + self.rounds),
            tz=group.timezone,
            limit=10,
        )
        series = create_series(
            db.session,
            group=group,
            creator=self.organizer,
            title=f"Series {self.rounds}",
            rule=monthly_rule([2], "SU"),
            planned=planned,
            now=now(),
        )
        db.session.flush()
        set_series_availability(
            db.session, member=member, series=series[0].series, note="mornings", now=now()
        )
        withdraw_availability(db.session, member=member, session=series[1], now=now())
        db.session.commit()


@pytest.fixture
def crew(make):
    return Crew(make)


def cold_and_warm(client, count_queries, path) -> tuple[int, int]:
    """Statements of a cold GET and of the warm one after it. Pages are kept per minute: a
    minute that turns between the two measures again."""
    for _ in range(2):
        minute = now().replace(second=0, microsecond=0)
        with count_queries() as cold:
            assert client.get(path).status_code == 200
        with count_queries(kept=True) as warm:
            assert client.get(path).status_code == 200
        if now().replace(second=0, microsecond=0) == minute:
            break
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
    setup = slots_of(session)["setup"]
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


def test_session_page_with_participants_in_four_statements_and_a_registration_shows(
    crew, make, client, auth, count_queries
):
    session = make.session(crew.group, day=date.today() + timedelta(days=6), title="参加者あり")
    session.participant_capacity = 1
    db.session.commit()
    others = [make.member(crew.group) for _ in range(2)]
    participants.register(db.session, member=others[0], session=session, answers={}, now=now())
    participants.register(db.session, member=crew.member, session=session, answers={}, now=now())
    db.session.commit()
    path = f"/g/{crew.group.slug}/sessions/{session.id}"
    auth.login_as(crew.member)
    cold, warm = cold_and_warm(client, count_queries, path)
    assert cold <= COLD_MAX and warm == 1
    page = client.get(path).get_data(as_text=True)
    assert "1 / 1 registered" in page and "1 on the waitlist" in page
    assert "You are on the waitlist" in page
    participants.register(db.session, member=others[1], session=session, answers={}, now=now())
    db.session.commit()
    assert "2 on the waitlist" in client.get(path).get_data(as_text=True)
    auth.login_as(crew.organizer)  # an organizer sees every announcement: one more look
    assert cold_and_warm(client, count_queries, path)[0] <= COLD_MAX


def test_past_session_page_in_four_statements_and_a_thank_you_shows(
    crew, client, auth, count_queries
):
    path = f"/g/{crew.group.slug}/sessions/{crew.past.id}"
    auth.login_as(crew.member)
    cold, warm = cold_and_warm(client, count_queries, path)
    assert cold <= COLD_MAX and warm == 1
    page = client.get(path).get_data(as_text=True)
    assert "Thanked" not in page and crew.past_crew[0].display_name in page
    send_thanks(
        db.session,
        sender=crew.member,
        recipient=crew.past_crew[0],
        session=crew.past,
        body="ありがとう",
        now=now(),
    )
    db.session.commit()
    assert "Thanked" in client.get(path).get_data(as_text=True)
    auth.login_as(crew.organizer)
    assert cold_and_warm(client, count_queries, path)[0] <= COLD_MAX


# --- /schedule ----------------------------------------------------------------------------


def test_schedule_cold_in_four_statements_however_many_rows(crew, client, auth, count_queries):
    auth.login_as(crew.member)
    cold, warm = cold_and_warm(client, count_queries, "/schedule")
    assert cold <= COLD_MAX and warm == 1
    crew.grow()
    assert cold_and_warm(client, count_queries, "/schedule") == (cold, 1)
    cold_and_warm(client, count_queries, "/schedule?page=9")  # past the end: the last page


def test_coming_up_is_what_the_services_it_replaces_say(crew):
    member, at = crew.member, now()
    crew.grow()
    mine = coming_up(db.session, member, now=at)
    places = upcoming_places(db.session, member, now=at)
    assert [p.id for p in mine.places] == [p.id for p in places]
    assert mine.numbers == waitlist_numbers(db.session, places) and mine.numbers
    confirmed = [p.id for p in places if p.status == "confirmed"]
    offers = open_offers(db.session, confirmed)
    assert {k: o.id for k, o in mine.offers.items()} == {k: o.id for k, o in offers.items()}
    assert mine.offers
    attending = participants.upcoming_registrations(db.session, member, now=at)
    assert [r.id for r in mine.attending] == [r.id for r in attending]
    numbers = participants.waitlist_numbers(db.session, attending)
    assert mine.attending_numbers == numbers and numbers
    offered = offered_sessions(db.session, member, now=at)
    assert [(s.id, a.id) for s, a in mine.offered] == [(s.id, a.id) for s, a in offered]
    assert len(offered) >= 3


def test_schedule_shows_a_new_place_and_a_given_up_one_on_the_next_get(crew, client, auth):
    group = crew.group
    later = crew.make.session(group, day=date.today() + timedelta(days=5), title="新しい回")
    reception_id = slots_of(later)["reception"].id
    auth.login_as(crew.member)
    assert "新しい回" not in client.get("/schedule").get_data(as_text=True)
    client.post(f"/g/{group.slug}/slots/{reception_id}/signup")
    assert "新しい回" in client.get("/schedule").get_data(as_text=True)
    place_id = db.session.scalar(
        sa.select(Assignment.id).where(
            Assignment.user_id == crew.member.id, Assignment.slot_id == reception_id
        )
    )
    client.post(f"/g/{group.slug}/places/{place_id}/cancel", data={"back": "schedule"})
    assert "新しい回" not in client.get("/schedule").get_data(as_text=True)
