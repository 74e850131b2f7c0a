"""The co-working definitions, privacy choices and query counts."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.auth.models import CoworkersVisibility
from studygroup.coworking.group_pairs import group_network
from studygroup.coworking.services import coworkers_of
from studygroup.coworking.visibility import may_view_coworkers
from studygroup.extensions import db
from studygroup.sessions.services import cancel_session
from studygroup.signups.models import Attendance
from studygroup.signups.organizing import assign, confirm_attendance, set_attendance
from studygroup.signups.services import sign_up
from tests.factories import slots_of

NOW = datetime.now(UTC)
# Each test runs counted live and from the tie tables (conftest.ties_or_live).
pytestmark = pytest.mark.usefixtures("ties_or_live")


@pytest.fixture
def crew(make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    people = {n: make.member(group, make.user(display_name=n)) for n in ("Ai", "Bo", "Cy", "Di")}
    return organizer, group, people


def past(make, group, days_ago, start=time(10), end=time(12)):
    return make.session(group, day=date.today() - timedelta(days=days_ago), start=start, end=end)


def put(organizer, member, slot):
    return assign(db.session, organizer=organizer, member=member, slot=slot, now=NOW).place


def page_queries(client, count_queries, path):
    """How many queries a page costs (it must answer 200)."""
    with count_queries() as q:
        assert client.get(path).status_code == 200
    return q.count


def by_name(result):
    return {c.name: c for c in result}


def test_definitions_worked_no_show_waitlist_cancelled_and_side_by_side(crew, make):
    organizer, group, p = crew
    # Session 1: Ai and Bo on setup (same role), Cy on the speaker slot (10-12, no overlap
    # with setup 9-10), Di a no-show on setup.
    s1 = past(make, group, 30)
    r = slots_of(s1)
    put(organizer, p["Ai"], r["setup"])
    put(organizer, p["Bo"], r["setup"])
    put(organizer, p["Cy"], r["speaker"])
    di = put(organizer, p["Di"], r["setup"])
    set_attendance(
        db.session, organizer=organizer, place=di, attendance=Attendance.NO_SHOW, now=NOW
    )
    confirm_attendance(db.session, organizer=organizer, session=s1, now=NOW)
    # Session 2: Ai on reception (9:30-10:30), Bo on setup (9-10): overlapping windows.
    # Not confirmed yet: places count unless marked no-show.
    s2 = past(make, group, 10)
    r2 = slots_of(s2)
    put(organizer, p["Ai"], r2["reception"])
    put(organizer, p["Bo"], r2["setup"])
    # Session 3 is cancelled: nothing in it counts.
    s3 = past(make, group, 5)
    put(organizer, p["Ai"], slots_of(s3)["setup"])
    put(organizer, p["Cy"], slots_of(s3)["setup"])
    cancel_session(s3, now=s3.starts_at - timedelta(days=1))  # called off the day before
    # Session 4 is upcoming: Bo waitlisted next to Ai, which never counts either.
    s4 = make.session(group, day=date.today() + timedelta(days=10))
    r4 = slots_of(s4)
    r4["reception"].headcount = 1
    sign_up(db.session, member=p["Ai"], slot=r4["reception"], now=NOW)
    sign_up(db.session, member=p["Bo"], slot=r4["reception"], now=NOW)
    db.session.commit()

    result = by_name(coworkers_of(db.session, p["Ai"], viewer=p["Ai"], now=NOW))
    assert set(result) == {"Bo", "Cy"}
    assert (result["Bo"].sessions, result["Bo"].side_by_side) == (2, 2)
    assert result["Bo"].roles == {"Setup": 1}
    assert (result["Cy"].sessions, result["Cy"].side_by_side) == (1, 0)
    assert result["Bo"].first < result["Bo"].last
    assert result["Bo"].last.tzinfo is UTC  # the column type's, on SQLite too
    assert coworkers_of(db.session, p["Di"], viewer=p["Di"], now=NOW) == []


def test_filters_and_ordering(crew, make):
    organizer, group, p = crew
    other_group = make.group(organizer)
    make.member(other_group, p["Ai"])
    make.member(other_group, p["Cy"])
    old = past(make, group, 400)
    put(organizer, p["Ai"], slots_of(old)["setup"])
    put(organizer, p["Bo"], slots_of(old)["setup"])
    recent = past(make, other_group, 3)
    put(organizer, p["Ai"], slots_of(recent)["setup"])
    put(organizer, p["Cy"], slots_of(recent)["setup"])
    db.session.commit()
    ai = p["Ai"]
    in_group = coworkers_of(db.session, ai, viewer=ai, now=NOW, group_id=other_group.id)
    assert [c.name for c in in_group] == ["Cy"]
    this_year = datetime(NOW.year, 1, 1, tzinfo=UTC)
    assert (
        "Bo" not in by_name(coworkers_of(db.session, ai, viewer=ai, now=NOW, since=this_year))
        or old.starts_at >= this_year
    )
    by_recent = coworkers_of(db.session, ai, viewer=ai, now=NOW, order="recent")
    assert [c.name for c in by_recent][0] == "Cy"
    by_name_order = coworkers_of(db.session, ai, viewer=ai, now=NOW, order="name")
    assert [c.name for c in by_name_order] == ["Bo", "Cy"]


@pytest.mark.parametrize(
    ("choice", "stranger", "group_member", "organizer", "anonymous_with_link"),
    [
        (CoworkersVisibility.ONLY_ME, False, False, True, False),
        (CoworkersVisibility.SHARED_GROUPS, False, True, True, False),
        (CoworkersVisibility.ANYONE_WITH_LINK, False, True, True, True),
    ],
)
def test_who_may_see_a_members_page(
    crew, make, choice, stranger, group_member, organizer, anonymous_with_link
):
    org, group, p = crew
    member = p["Ai"]
    member.coworkers_visibility = choice
    db.session.commit()
    outsider = make.user()
    token = member.coworkers_link_token
    assert may_view_coworkers(db.session, member, member)
    assert may_view_coworkers(db.session, outsider, member) is stranger
    assert may_view_coworkers(db.session, p["Bo"], member) is group_member
    assert may_view_coworkers(db.session, org, member) is organizer
    assert may_view_coworkers(db.session, None, member, link_token=token) is anonymous_with_link
    assert not may_view_coworkers(db.session, None, member, link_token="wrong")


def test_pages_enforce_the_choices(client, auth, crew, make):
    organizer, group, p = crew
    s = past(make, group, 10)
    put(organizer, p["Ai"], slots_of(s)["setup"])
    put(organizer, p["Bo"], slots_of(s)["setup"])
    p["Ai"].coworkers_visibility = CoworkersVisibility.ONLY_ME
    p["Bo"].appear_by_name = False
    db.session.commit()
    auth.login_as(p["Cy"])
    assert client.get(f"/people/{p['Ai'].id}/coworkers").status_code == 404
    assert client.get(f"/people/{p['Bo'].id}/coworkers").status_code == 200
    auth.login_as(p["Ai"])
    own = client.get(f"/people/{p['Ai'].id}/coworkers").get_data(as_text=True)
    assert ">Bo<" not in own and "a member" in own
    assert "1 session, 1 side by side" in own
    auth.login_as(organizer)  # organizers of the group see names
    page = client.get(f"/people/{p['Ai'].id}/coworkers").get_data(as_text=True)
    assert "<strong>Bo</strong>" in page
    # The secret link works only when chosen, and a new link retires the old one.
    client.post("/logout")
    token = p["Ai"].coworkers_link_token
    assert client.get(f"/coworkers/link/{token}").status_code == 404
    p["Ai"].coworkers_visibility = CoworkersVisibility.ANYONE_WITH_LINK
    db.session.commit()
    assert client.get(f"/coworkers/link/{token}").status_code == 200
    auth.login_as(p["Ai"])
    client.post("/coworkers/link/reset")
    client.post("/logout")
    assert client.get(f"/coworkers/link/{token}").status_code == 404


def test_privacy_form_and_csv(client, auth, crew, make):
    organizer, group, p = crew
    s = past(make, group, 10)
    put(organizer, p["Ai"], slots_of(s)["setup"])
    put(organizer, p["Bo"], slots_of(s)["setup"])
    db.session.commit()
    auth.login_as(p["Ai"])
    client.post("/coworkers/privacy", data={"coworkers_visibility": "only_me"})
    db.session.refresh(p["Ai"])
    assert p["Ai"].coworkers_visibility == CoworkersVisibility.ONLY_ME
    assert p["Ai"].appear_by_name is False  # unchecked box
    export = client.get(f"/people/{p['Ai'].id}/coworkers.csv").get_data().decode("utf-8-sig")
    assert "Bo,1,1,Setup ×1" in export
    together = client.get(f"/people/{p['Ai'].id}/coworkers/{p['Bo'].id}")
    assert together.status_code == 200 and s.title in together.get_data(as_text=True)
    assert client.get(f"/people/{p['Ai'].id}/coworkers/{p['Di'].id}").status_code == 404


def test_the_page_costs_a_fixed_number_of_queries(
    client, auth, crew, make, count_queries, ties_or_live
):
    """At most 4 queries a page (the member, their memberships, the co-workers, the years),
    however long the history, whether it is in the tie tables or counted live."""
    organizer, group, p = crew
    ai = p["Ai"]
    auth.login_as(ai)

    def measure():
        return page_queries(client, count_queries, f"/people/{ai.id}/coworkers")

    s = past(make, group, 3)
    put(organizer, ai, slots_of(s)["setup"])
    put(organizer, p["Bo"], slots_of(s)["setup"])
    db.session.commit()
    few = measure()
    for days in range(10, 60, 7):
        s = past(make, group, days)
        for name in ("Ai", "Bo", "Cy", "Di"):
            put(organizer, p[name], slots_of(s)["reception" if name in "CyDi" else "setup"])
    db.session.commit()
    assert measure() == few
    assert few <= 4, few


def own_page_queries(client, count_queries, member, group):
    """Statements of one's own page: plain, filtered by group, by year, by both."""
    path = f"/people/{member.id}/coworkers"
    year = date.today().year
    return {
        query: page_queries(client, count_queries, path + query)
        for query in ("", f"?group={group.id}", f"?year={year}", f"?group={group.id}&year={year}")
    }


def test_ones_own_page_stays_within_four_statements(client, auth, crew, make, count_queries):
    """The logged-in member, the filter's groups and years, the co-workers (the filtered list
    and the whole history in one), and one more for accepted introductions or for the
    coming sessions of someone not seen for a while."""
    from studygroup.introductions.models import Introduction
    from studygroup.introductions.services import answer_introduction, make_introduction
    from studygroup.relationships.services import RECONNECT_SESSIONS

    organizer, group, p = crew
    ai = p["Ai"]
    auth.login_as(ai)
    for days in (3, 10):
        s = past(make, group, days)
        put(organizer, ai, slots_of(s)["setup"])
        put(organizer, p["Cy"], slots_of(s)["setup"])
    db.session.commit()
    plain = own_page_queries(client, count_queries, ai, group)
    assert set(plain.values()) == {3}, plain
    introduction = make_introduction(
        db.session, introducer=organizer, first=ai, second=p["Di"], note="Both like Go", now=NOW
    )
    for member in (ai, p["Di"]):
        answer_introduction(db.session, introduction, member=member, accept=True, now=NOW)
    db.session.commit()
    page = client.get(f"/people/{ai.id}/coworkers?year={date.today().year}")
    assert "Introduced to you" in page.get_data(as_text=True)
    introduced = own_page_queries(client, count_queries, ai, group)
    assert set(introduced.values()) == {4}, introduced
    # Bo: often together, long ago, and has a place at a coming session: due to reconnect.
    for days in range(300, 300 - 10 * RECONNECT_SESSIONS, -10):
        s = past(make, group, days)
        put(organizer, ai, slots_of(s)["setup"])
        put(organizer, p["Bo"], slots_of(s)["setup"])
    coming = make.session(group, day=date.today() + timedelta(days=9), title="Next meetup")
    put(organizer, p["Bo"], slots_of(coming)["setup"])
    db.session.commit()
    page = client.get(f"/people/{ai.id}/coworkers?group={group.id}").get_data(as_text=True)
    assert "Not seen for a while" in page and "Next meetup" in page
    # Both extras at once: the one case over four (two lists no statement can share).
    both = own_page_queries(client, count_queries, ai, group)
    assert set(both.values()) == {5}, both
    db.session.execute(sa.update(Introduction).values(completed_at=None))  # as if never
    db.session.commit()
    due = own_page_queries(client, count_queries, ai, group)
    assert set(due.values()) == {4}, due


def test_organizer_network_shows_pairs_and_the_lonely(client, auth, crew, make):
    organizer, group, p = crew
    for days in (30, 20, 10):
        s = past(make, group, days)
        put(organizer, p["Ai"], slots_of(s)["setup"])
        put(organizer, p["Bo"], slots_of(s)["setup"])
    s = past(make, group, 5)
    put(organizer, p["Cy"], slots_of(s)["setup"])
    put(organizer, p["Ai"], slots_of(s)["setup"])
    db.session.commit()
    network = group_network(db.session, group, now=NOW)
    assert network.pairs[0].sessions == 3
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/network").get_data(as_text=True)
    assert "Ai &amp; Bo — 3 sessions" in page
    few = page.split("Worked with few others")[1].split("Pairs who")[0]
    assert "Cy" in few and "Di" not in few  # Cy worked once; Di never has, so is not listed
    # The rule itself, without a page: fewest partners first, then by name.
    assert network.worked_at_all
    assert [m.display_name for m in network.worked_with_few()] == ["Bo", "Cy", "Ai"]
    auth.login_as(p["Ai"])
    assert client.get(f"/g/{group.slug}/network").status_code == 403


def test_session_page_and_schedule_show_who_worked_together(client, auth, crew, make):
    organizer, group, p = crew
    s = past(make, group, 7)
    put(organizer, p["Ai"], slots_of(s)["setup"])
    put(organizer, p["Bo"], slots_of(s)["setup"])
    absent = put(organizer, p["Cy"], slots_of(s)["reception"])
    set_attendance(
        db.session, organizer=organizer, place=absent, attendance=Attendance.NO_SHOW, now=NOW
    )
    p["Bo"].appear_by_name = False
    db.session.commit()
    auth.login_as(p["Ai"])
    page = client.get(f"/g/{group.slug}/sessions/{s.id}").get_data(as_text=True)
    together = page.split("Worked together")[1]
    assert "Ai" in together and "a member" in together and "Cy" not in together
    schedule = client.get("/schedule").get_data(as_text=True)
    assert "a member" in schedule.split("Worked with")[1]


def test_worked_together_counts_what_the_coworker_records_count(client, auth, crew, make):
    """The session page names as worked exactly the places `counts_as_worked` counts: once
    attendance is confirmed, a place left unmarked is not worked, there as on the co-workers
    page."""
    organizer, group, p = crew
    s = past(make, group, 7)
    put(organizer, p["Ai"], slots_of(s)["setup"])
    put(organizer, p["Bo"], slots_of(s)["setup"])
    confirm_attendance(db.session, organizer=organizer, session=s, now=NOW)
    late = put(organizer, p["Cy"], slots_of(s)["reception"])
    late.attendance = Attendance.UNKNOWN  # confirmed after the attendance was
    db.session.commit()
    auth.login_as(p["Ai"])
    together = client.get(f"/g/{group.slug}/sessions/{s.id}").get_data(as_text=True)
    together = together.split("Worked together")[1]
    assert "Bo" in together and "Cy" not in together
    names = {c.name for c in coworkers_of(db.session, p["Ai"], viewer=p["Ai"], now=NOW)}
    assert names == {"Bo"}


def test_filters_read_the_query_string_and_ignore_the_unknown(client, auth, crew, make):
    """The filters are a GET form read from the same names as ever (group, year, order);
    a value the page does not offer counts as not given, never as an error."""
    organizer, group, p = crew
    for days, other in ((20, "Bo"), (10, "Cy")):
        s = past(make, group, days)
        put(organizer, p["Ai"], slots_of(s)["setup"])
        put(organizer, p[other], slots_of(s)["setup"])
    db.session.commit()
    auth.login_as(p["Ai"])
    path = f"/people/{p['Ai'].id}/coworkers"

    def listed(query):
        page = client.get(path + query)
        assert page.status_code == 200
        text = page.get_data(as_text=True).split('class="row filters"')[1]
        return [name for name in ("Bo", "Cy") if f"<strong>{name}</strong>" in text], text

    plain, _text = listed("")
    assert sorted(plain) == ["Bo", "Cy"]
    _listed, text = listed("?order=name")
    assert text.index("<strong>Bo</strong>") < text.index("<strong>Cy</strong>")
    _listed, text = listed("?order=recent")
    assert text.index("<strong>Cy</strong>") < text.index("<strong>Bo</strong>")
    unknown, text = listed("?group=abc&year=1999&order=bogus")
    assert unknown == plain and 'value="most" selected' in text
    assert listed(f"?group={group.id}")[0] == plain
    other_year, _text = listed(f"?year={date.today().year - 5}")
    assert other_year == []


def test_the_picture_draws_one_line_per_coworker_thicker_for_more(client, auth, crew, make):
    import re

    organizer, group, p = crew
    for days in (30, 20, 10):
        s = past(make, group, days)
        put(organizer, p["Ai"], slots_of(s)["setup"])
        put(organizer, p["Bo"], slots_of(s)["setup"])
    s = past(make, group, 5)
    put(organizer, p["Ai"], slots_of(s)["setup"])
    put(organizer, p["Cy"], slots_of(s)["setup"])
    db.session.commit()
    auth.login_as(p["Ai"])
    page = client.get(f"/people/{p['Ai'].id}/coworkers").get_data(as_text=True)
    widths = [float(w) for w in re.findall(r'<line [^>]*stroke-width="([\d.]+)"', page)]
    assert sorted(widths) == [3.3, 8.0]  # 1 session of 3 at most, and 3 of 3
    assert 'role="img"' in page and "<title" in page


def test_a_long_history_lists_the_first_hundred(client, auth, crew, make, monkeypatch):
    from studygroup.coworking import routes

    organizer, group, p = crew
    monkeypatch.setattr(routes, "LIST_LENGTH", 2)
    s = past(make, group, 3)
    slots_of(s)["setup"].headcount = 4
    for name in ("Ai", "Bo", "Cy", "Di"):
        put(organizer, p[name], slots_of(s)["setup"])
    db.session.commit()
    auth.login_as(p["Ai"])
    page = client.get(f"/people/{p['Ai'].id}/coworkers").get_data(as_text=True)
    assert page.count("<strong>") == 2 and "Show all 3 people" in page
    everyone = client.get(f"/people/{p['Ai'].id}/coworkers?all=1").get_data(as_text=True)
    assert everyone.count("<strong>") == 3


def test_another_members_page_hides_members_only_groups_the_viewer_is_not_in(crew, make):
    from studygroup.groups.models import Visibility

    organizer, group, p = crew  # a public group
    secret = make.group(organizer, visibility=Visibility.MEMBERS)
    make.member(secret, p["Ai"])
    insider = make.member(secret, make.user(display_name="Insider"))
    s = past(make, secret, 10)
    put(organizer, p["Ai"], slots_of(s)["setup"])
    put(organizer, insider, slots_of(s)["setup"])
    shared = past(make, group, 5)
    put(organizer, p["Ai"], slots_of(shared)["setup"])
    put(organizer, p["Bo"], slots_of(shared)["setup"])
    db.session.commit()
    ai = p["Ai"]
    assert set(by_name(coworkers_of(db.session, ai, viewer=ai, now=NOW))) == {"Insider", "Bo"}
    # Bo shares only the public group with Ai: the members-only group's history stays hidden.
    assert set(by_name(coworkers_of(db.session, ai, viewer=p["Bo"], now=NOW))) == {"Bo"}
    assert set(by_name(coworkers_of(db.session, ai, viewer=None, now=NOW))) == {"Bo"}
    assert set(by_name(coworkers_of(db.session, ai, viewer=insider, now=NOW))) == {"Insider", "Bo"}


def test_other_pages_hide_private_group_names_and_hidden_coworkers(client, auth, crew, make):
    from studygroup.groups.models import Visibility

    organizer, group, p = crew
    secret = make.group(organizer, name="Secret circle", visibility=Visibility.MEMBERS)
    make.member(secret, p["Ai"])
    s = past(make, group, 5)
    put(organizer, p["Ai"], slots_of(s)["setup"])
    put(organizer, p["Bo"], slots_of(s)["setup"])
    p["Bo"].appear_by_name = False
    db.session.commit()
    auth.login_as(p["Cy"])
    page = client.get(f"/people/{p['Ai'].id}/coworkers").get_data(as_text=True)
    assert "Secret circle" not in page
    assert (
        client.get(f"/people/{p['Ai'].id}/coworkers?group=99999999999999999999").status_code == 200
    )
    # The hidden co-worker cannot be found through the sessions-together page.
    assert client.get(f"/people/{p['Ai'].id}/coworkers/{p['Bo'].id}").status_code == 404
    # Nor by name on the session page.
    session_page = client.get(f"/g/{group.slug}/sessions/{s.id}").get_data(as_text=True)
    assert ">Bo<" not in session_page and "Bo," not in session_page


def test_names_sort_by_reading_as_in_the_member_lists(client, auth, make):
    """By the name keys (reading given or guessed, else the name), "a member" last: the
    co-workers page ordered by name, the names by a session, and the network page's list."""
    from studygroup.coworking.services import Order
    from studygroup.coworking.together import worked_with_by_session

    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    me = make.member(group, make.user(display_name="Me"))
    people = {}
    for name, reading in (
        ("渡辺", None),  # わたなべ
        ("青木", None),  # あおき
        ("逢坂", "あいさか"),  # pykakasi would say ほうさか
        ("zed", None),
        ("Hidden", None),
    ):
        people[name] = make.member(group, make.user(display_name=name))
        people[name].reading = reading
    people["Hidden"].appear_by_name = False
    s = past(make, group, 3)
    setup = slots_of(s)["setup"]
    setup.headcount = 6
    for person in (me, *people.values()):
        put(organizer, person, setup)
    db.session.commit()
    expected = ["zed", "逢坂", "青木", "渡辺", None]  # by code point 渡 < 逢 < 青
    found = coworkers_of(db.session, me, viewer=me, now=NOW, order=Order.NAME)
    assert [c.name for c in found] == expected
    assert worked_with_by_session(db.session, me, [s.id], viewer=me, now=NOW) == {s.id: expected}
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/network").get_data(as_text=True)
    few = page.split("Worked with few others")[1].split("Pairs who")[0]
    shown = ["Hidden", "Me", "zed", "逢坂", "青木", "渡辺"]  # the organizer sees every name
    assert sorted(shown, key=few.index) == shown


def test_the_sessions_together_page_leads_to_the_other_ones_page_when_they_allow_it(
    client, auth, crew, make
):
    """From "Sessions with Bo" one click reaches Bo's own co-worker page (where one asks Bo
    for an introduction), only while Bo lets the viewer see it."""
    organizer, group, p = crew
    s = past(make, group, 10)
    put(organizer, p["Ai"], slots_of(s)["setup"])
    put(organizer, p["Bo"], slots_of(s)["setup"])
    db.session.commit()
    auth.login_as(p["Ai"])
    bo_page = f'href="/people/{p["Bo"].id}/coworkers"'
    page = client.get(f"/people/{p['Ai'].id}/coworkers/{p['Bo'].id}").get_data(as_text=True)
    assert bo_page in page and "You can ask Bo for an introduction there." in page
    p["Bo"].coworkers_visibility = CoworkersVisibility.ONLY_ME
    db.session.commit()
    page = client.get(f"/people/{p['Ai'].id}/coworkers/{p['Bo'].id}").get_data(as_text=True)
    assert bo_page not in page
