"""The member's home page `/` and a group's page `/g/<slug>`: a fixed number of statements
built cold (the login statement counted), whatever the number of sessions, places, members
and past years; one when kept; and every change shows on the next GET.

Their lists come from `session_cards` (upcoming sessions with head-counts, participant counts
and "I can help") and `group_facts` (past sessions, years, organizers, member count): they must
say what the services they replace say."""

from datetime import UTC, date, datetime, timedelta

from studygroup.extensions import db
from studygroup.groups.models import MemberRole
from studygroup.groups.services import active_member_count, organizers_of
from studygroup.participants.services import participant_counts, register
from studygroup.sessions.group_facts import group_facts
from studygroup.sessions.lists import past_sessions, past_years, upcoming_page
from studygroup.sessions.models import SessionStatus, StudySession
from studygroup.signups.availability import sessions_member_can_help
from studygroup.signups.availability_changes import say_can_help
from studygroup.signups.cards import session_cards
from studygroup.signups.places import staffing_for
from studygroup.signups.services import sign_up
from tests.conftest import kept_statements
from tests.factories import slots_of


def now():
    return datetime.now(UTC)


def _grow(make, group, member, *, sessions: int, start: int = 0):
    """`sessions` more upcoming sessions (every other one taking participants, the member
    signed up to one role and registered, another member with them, the member able to help
    with every third), as many past sessions over several years, and as many more members."""
    for n in range(start, start + sessions):
        session = make.session(
            group, day=date.today() + timedelta(days=3 + n), title=f"Upcoming {n}"
        )
        if n % 2 == 0:
            session.participant_capacity = 5
            db.session.commit()
            register(db.session, member=member, session=session, answers={}, now=now())
        other = make.member(group)
        sign_up(db.session, member=other, slot=slots_of(session)["setup"], now=now())
        sign_up(db.session, member=member, slot=slots_of(session)["setup"], now=now())
        if n % 3 == 0:
            say_can_help(db.session, member=member, session=session, any_role=True, now=now())
        if n % 4 == 1:
            session.status = SessionStatus.CANCELLED
        past_start = now() - timedelta(days=200 * (n + 1))
        db.session.add(
            StudySession(
                group_id=group.id,
                title=f"Past {n}",
                starts_at=past_start,
                ends_at=past_start + timedelta(hours=2),
            )
        )
        db.session.commit()


def _member_of_busy_group(make, sessions=4):
    organizer = make.user(display_name="Organizer Oda")
    group = make.group(organizer)
    member = make.member(group, make.user(display_name="Suzuki"))
    make.member(group, role=MemberRole.ORGANIZER)
    _grow(make, group, member, sessions=sessions)
    return organizer, group, member


def _cold_statements(client, count_queries, url) -> int:
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    return queries.count


def _warm_statements(client, count_queries, url) -> int:
    return kept_statements(client, count_queries, url)


def test_home_page_cold_in_three_statements_whatever_the_rows_and_one_kept(
    client, auth, make, count_queries
):
    _organizer, group, member = _member_of_busy_group(make)
    other_group = make.group()
    make.member(other_group, member)
    make.session(other_group, title="Elsewhere")
    auth.login_as(member)

    cold = _cold_statements(client, count_queries, "/")
    _grow(make, group, member, sessions=4, start=4)  # twice the rows
    assert _cold_statements(client, count_queries, "/") == cold <= 4
    assert _cold_statements(client, count_queries, "/?page=2") == cold
    assert _cold_statements(client, count_queries, "/") == cold
    assert _warm_statements(client, count_queries, "/") == 1


def test_group_page_cold_in_four_statements_whatever_the_rows_and_one_kept(
    client, auth, make, count_queries
):
    organizer, group, member = _member_of_busy_group(make)
    url = f"/g/{group.slug}"
    for viewer in (member, organizer):
        auth.login_as(viewer)
        assert _cold_statements(client, count_queries, url) <= 4
    auth.login_as(member)
    cold = _cold_statements(client, count_queries, url)
    _grow(make, group, member, sessions=4, start=4)  # twice the rows
    assert _cold_statements(client, count_queries, url) == cold <= 4
    assert _warm_statements(client, count_queries, url) == 1
    auth.logout()
    assert _cold_statements(client, count_queries, url) <= 4


def test_home_page_shows_each_change_on_the_next_get(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=5), title="Monthly meetup")
    auth.login_as(member)
    assert "Monthly meetup" in client.get("/").text

    session.title = "Hands-on night"
    db.session.commit()
    page = client.get("/").text
    assert "Hands-on night" in page and "0/3" in page

    sign_up(db.session, member=member, slot=slots_of(session)["setup"], now=now())
    db.session.commit()
    assert "1/3" in client.get("/").text

    later = make.group(name="Another circle")
    make.member(later, member)
    assert "Another circle" in client.get("/").text


def test_group_page_shows_each_change_on_the_next_get(client, auth, make):
    organizer = make.user(display_name="Organizer Oda")
    group = make.group(organizer)
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=5), title="Monthly meetup")
    session.participant_capacity = 4
    db.session.commit()
    url = f"/g/{group.slug}"
    auth.login_as(member)
    page = client.get(url).text
    assert "Monthly meetup" in page and "0/3" in page and "0 / 4 registered" in page
    assert "You said you can help" not in page

    session.title = "Hands-on night"
    sign_up(db.session, member=member, slot=slots_of(session)["setup"], now=now())
    db.session.commit()
    register(db.session, member=member, session=session, answers={}, now=now())
    db.session.commit()
    page = client.get(url).text
    assert "Hands-on night" in page and "1/3" in page and "1 / 4 registered" in page

    other = make.session(group, day=date.today() + timedelta(days=6), title="Second one")
    say_can_help(db.session, member=member, session=other, any_role=True, now=now())
    db.session.commit()
    assert "You said you can help" in client.get(url).text

    make.member(group, make.user(display_name="Tanaka Organizer"), role=MemberRole.ORGANIZER)
    page = client.get(url).text
    assert "Tanaka Organizer" in page and "<dd>3</dd>" in page

    past_start = now() - timedelta(days=40)
    db.session.add(
        StudySession(
            group_id=group.id,
            title="Last month",
            starts_at=past_start,
            ends_at=past_start + timedelta(hours=2),
        )
    )
    db.session.commit()
    assert "Last month" in client.get(url).text


def test_session_cards_say_what_the_services_they_replace_say(app, make):
    _organizer, group, member = _member_of_busy_group(make, sessions=7)
    at = now()
    for page in (1, 2, 3, 9):
        cards = session_cards(
            db.session, group_ids=[group.id], now=at, page=page, size=3, viewer=member
        )
        listed = upcoming_page(db.session, group_ids=[group.id], now=at, page=page, size=3)
        assert [s.id for s in cards.sessions] == [s.id for s in listed]
        assert (cards.sessions.number, cards.sessions.total) == (listed.number, listed.total)
        assert [[slot.id for slot in s.slots] for s in cards.sessions] == [
            [slot.id for slot in s.slots] for s in listed
        ]
        staffing = staffing_for(db.session, listed.items)
        assert {k: (v.filled, v.needed, v.gap) for k, v in cards.staffing.items()} == {
            k: (v.filled, v.needed, v.gap) for k, v in staffing.items()
        }
        assert cards.participant_counts == participant_counts(db.session, listed.items)
        assert cards.can_help == sessions_member_can_help(db.session, member, listed.items)
    assert session_cards(db.session, group_ids=[], now=at, page=2, size=3).sessions.total == 0


def test_group_facts_say_what_the_services_they_replace_say(app, make):
    _organizer, group, _member = _member_of_busy_group(make, sessions=7)
    at = now()
    facts = group_facts(db.session, group=group, now=at, past_limit=6)
    assert [s.id for s in facts.past] == [
        s.id for s in past_sessions(db.session, group=group, now=at, limit=6)
    ]
    assert facts.past_years == past_years(db.session, group=group, now=at)
    assert facts.organizers == organizers_of(db.session, group)
    assert facts.member_count == active_member_count(db.session, group)
