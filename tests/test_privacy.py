"""The privacy help text is the rule: an organizer sees a member's history in the groups they
organize only; a member who chose "only me" shows nobody else anything; a co-worker who chose
not to appear by name is named to an organizer only in that organizer's own groups.

One world for every path: Mai ("only me") is in the public group Alpha and in Beta. In Alpha
she worked with Aiko, with Hana (who chose not to appear by name, and is in Beta too) and with
Ben; in Beta with Ben. Olga organizes Beta and is a plain member of Alpha, where she worked
with Hana; Xavier is a plain member of Beta. Neither may see anything of Alpha through Mai, nor
Hana's name anywhere in Alpha.
"""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from studygroup.auth.models import CoworkersVisibility
from studygroup.calendar import tokens
from studygroup.coworking.services import coworkers_of
from studygroup.coworking.together import sessions_together
from studygroup.coworking.visibility import may_view_coworkers
from studygroup.extensions import db
from studygroup.groups.models import MemberRole
from studygroup.signups.organizing import assign
from tests.factories import slots_of

NOW = datetime.now(UTC)
# Each test runs counted live and from the tie tables (conftest.ties_or_live).
pytestmark = pytest.mark.usefixtures("ties_or_live")


@pytest.fixture
def world(make):
    people = {}

    def person(name, **choices):
        user = people[name] = make.user(f"{name.lower()}@example.com", display_name=name)
        for key, value in choices.items():
            setattr(user, key, value)
        return user

    alpha_organizer = person("Anna")
    olga = person("Olga")
    alpha = make.group(alpha_organizer, name="Alpha Circle", slug="alpha")
    beta = make.group(olga, name="Beta Club", slug="beta")
    mai = person("Mai", coworkers_visibility=CoworkersVisibility.ONLY_ME)
    hana = person("Hana", appear_by_name=False)
    for name in ("Mai", "Aiko", "Hana", "Ben"):
        make.member(alpha, people.get(name) or person(name))
    make.member(alpha, olga)
    for user in (mai, hana, people["Ben"], person("Xavier")):
        make.member(beta, user)
    db.session.commit()

    def held(group, organizer, title, days, names):
        session = make.session(group, day=date.today() + timedelta(days=days), title=title)
        slots = list(slots_of(session).values())
        for i, name in enumerate(names):
            slot = slots[i % len(slots)]
            slot.headcount = 10
            assign(db.session, organizer=organizer, member=people[name], slot=slot, now=NOW)
        db.session.commit()
        return session

    sessions = {
        "alpha": held(alpha, alpha_organizer, "Alpha night", -20, ["Mai", "Aiko", "Hana", "Ben"]),
        "alpha with olga": held(alpha, alpha_organizer, "Alpha day", -10, ["Olga", "Hana"]),
        "alpha next": held(alpha, alpha_organizer, "Alpha next", 10, ["Olga", "Hana"]),
        "beta": held(beta, olga, "Beta evening", -5, ["Mai", "Ben"]),
    }
    return people, {"alpha": alpha, "beta": beta}, sessions


ALPHA_WORDS = ("Alpha", "Aiko", "Hana")


def _shows_nothing_of_alpha(text: str) -> None:
    for word in ALPHA_WORDS:
        assert word not in text, word


def test_an_organizer_sees_only_their_groups_part_of_an_only_me_history(world):
    people, groups, sessions = world
    mai, olga = people["Mai"], people["Olga"]
    assert may_view_coworkers(db.session, olga, mai)  # the help text: organizers may look
    seen = {c.name: c for c in coworkers_of(db.session, mai, viewer=olga, now=NOW)}
    assert set(seen) == {"Ben"}
    assert seen["Ben"].sessions == 1  # Beta's session only, not Alpha's
    together = sessions_together(db.session, mai, people["Ben"].id, viewer=olga, now=NOW)
    assert [t.session.title for t in together] == ["Beta evening"]
    # Mai herself still sees all of it.
    own = {c.name for c in coworkers_of(db.session, mai, viewer=mai, now=NOW)}
    assert own == {"Aiko", None, "Ben"}  # Hana chose not to appear by name


def test_the_organizer_of_another_group_sees_nothing_of_alpha_on_any_page(client, auth, world):
    people, groups, sessions = world
    mai, olga = people["Mai"], people["Olga"]
    auth.login_as(olga)
    page = client.get(f"/people/{mai.id}/coworkers").get_data(as_text=True)
    assert "Ben" in page and "Beta Club" in page
    _shows_nothing_of_alpha(page)
    alpha_filter = client.get(f"/people/{mai.id}/coworkers?group={groups['alpha'].id}&all=1")
    _shows_nothing_of_alpha(alpha_filter.get_data(as_text=True))
    exported = client.get(f"/people/{mai.id}/coworkers.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert [row[:2] for row in rows[1:]] == [["Ben", "1"]]
    _shows_nothing_of_alpha(exported)
    for other in ("Aiko", "Hana"):
        assert client.get(f"/people/{mai.id}/coworkers/{people[other].id}").status_code == 404
    together = client.get(f"/people/{mai.id}/coworkers/{people['Ben'].id}")
    assert together.status_code == 200
    assert "Beta evening" in together.get_data(as_text=True)
    assert "Alpha night" not in together.get_data(as_text=True)


def test_a_hidden_coworker_is_named_to_an_organizer_only_in_their_own_group(
    client, auth, world, make
):
    """Olga organizes Beta, where Hana is a member: in Alpha, Hana is still "a member"."""
    people, groups, sessions = world
    olga, hana = people["Olga"], people["Hana"]
    auth.login_as(olga)
    alpha_day = sessions["alpha with olga"]
    session_page = client.get(f"/g/alpha/sessions/{alpha_day.id}").get_data(as_text=True)
    assert "Worked together" in session_page and "a member" in session_page
    assert "Hana" not in session_page
    upcoming = client.get(f"/g/alpha/sessions/{sessions['alpha next'].id}")
    assert "Hana" not in upcoming.get_data(as_text=True)
    schedule = client.get("/schedule").get_data(as_text=True)
    assert "Alpha day" in schedule and "Hana" not in schedule
    own = client.get(f"/people/{olga.id}/coworkers").get_data(as_text=True)
    assert "a member" in own and "Hana" not in own
    feed = client.get(f"/calendar/member/{tokens.token_of(olga)}.ics").get_data(as_text=True)
    assert "Alpha next" in feed and "Hana" not in feed
    # In Beta, her own group, Olga sees Hana by name (as on her staffing pages).
    beta_session = make.session(groups["beta"], day=date.today() - timedelta(days=2))
    setup = slots_of(beta_session)["setup"]
    for name in ("Olga", "Hana"):
        assign(db.session, organizer=olga, member=people[name], slot=setup, now=NOW)
    db.session.commit()
    beta_page = client.get(f"/g/beta/sessions/{beta_session.id}").get_data(as_text=True)
    assert "Hana" in beta_page
    # And Alpha's organizer names Hana in Alpha.
    auth.login_as(people["Anna"])
    anna_view = client.get(f"/g/alpha/sessions/{alpha_day.id}").get_data(as_text=True)
    assert "Hana" in anna_view
    assert hana.appear_by_name is False


def test_members_of_another_group_see_nothing_of_an_only_me_history(client, auth, world):
    people, groups, sessions = world
    mai, xavier = people["Mai"], people["Xavier"]
    assert not may_view_coworkers(db.session, xavier, mai)
    assert coworkers_of(db.session, mai, viewer=xavier, now=NOW) == []
    auth.login_as(xavier)
    for path in (
        f"/people/{mai.id}/coworkers",
        f"/people/{mai.id}/coworkers.csv",
        f"/people/{mai.id}/coworkers/{people['Ben'].id}",
        f"/people/{mai.id}/coworkers/{people['Aiko'].id}",
    ):
        assert client.get(path).status_code == 404, path
    # A plain member of Beta who is also in Alpha: still nothing of Mai's.
    ben = people["Ben"]
    assert not may_view_coworkers(db.session, ben, mai)
    assert coworkers_of(db.session, mai, viewer=ben, now=NOW) == []


def test_a_co_organizer_is_an_organizer_too(client, auth, world, make):
    people, groups, sessions = world
    co = make.member(groups["beta"], make.user(display_name="Cora"), role=MemberRole.ORGANIZER)
    db.session.commit()
    auth.login_as(co)
    page = client.get(f"/people/{people['Mai'].id}/coworkers").get_data(as_text=True)
    assert "Ben" in page
    _shows_nothing_of_alpha(page)


def test_the_years_filter_starts_with_the_history_the_viewer_may_see(client, auth, make):
    """Kei worked in the members-only group A from 2024 and in B from 2026: Yui, only in B,
    sees years from 2026 (nothing tells her when Kei's history in A began); Kei sees 2024."""
    from studygroup.coworking.filters import history_years
    from studygroup.groups.models import Visibility

    kei, ken, yui = (make.user(display_name=n) for n in ("Kei", "Ken", "Yui"))
    a = make.group(name="Group A", slug="group-a", visibility=Visibility.MEMBERS)
    b = make.group(name="Group B", slug="group-b", visibility=Visibility.MEMBERS)
    for group, people, day in ((a, (kei, ken), date(2024, 5, 11)), (b, (kei, yui), None)):
        organizer = make.member(group, role=MemberRole.ORGANIZER)
        for person in people:
            make.member(group, person)
        session = make.session(group, day=day or date.today() - timedelta(days=3))
        for person in people:
            assign(
                db.session,
                organizer=organizer,
                member=person,
                slot=slots_of(session)["setup"],
                now=NOW,
            )
    db.session.commit()
    this_year = NOW.year  # (Asia/Tokyo: a test on New Year's Eve UTC is a year ahead there)
    years = history_years(db.session, kei, viewer=kei, now=NOW)
    assert years[-1] == 2024 and years[0] >= this_year
    assert history_years(db.session, kei, viewer=yui, now=NOW)[-1] >= 2026
    auth.login_as(yui)
    page = client.get(f"/people/{kei.id}/coworkers").get_data(as_text=True)
    assert '<option value="2024"' not in page and "2025" not in page
    auth.login_as(kei)
    page = client.get(f"/people/{kei.id}/coworkers").get_data(as_text=True)
    assert '<option value="2024"' in page
