"""Who knows X? (issue 10, item 3): members of my groups found by their skills and interests,
my co-workers first, then co-workers of my co-workers (with whom to ask for an introduction),
then the rest of my groups. Every test runs counted live and from the tie tables."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.auth.models import CoworkersVisibility, Skill
from studygroup.auth.services import parse_skills, set_skills
from studygroup.extensions import db
from studygroup.groups.models import MemberRole, Membership, MembershipStatus, Visibility
from studygroup.names import skill_key
from studygroup.people.services import QueryError, Tier, check_query, search_people
from tests.factories import slots_of
from tests.test_coworking import put
from tests.test_migrations import empty_database  # noqa: F401 (a fixture)

NOW = datetime.now(UTC)
pytestmark = pytest.mark.usefixtures("ties_or_live")


def tags(user, text):
    set_skills(db.session, user, parse_skills(text))
    db.session.commit()


def worked(make, group, organizer, days_ago, setup=(), speaker=(), start=time(10)):
    """A past session: `setup` people side by side on setup (9-10), `speaker` on the speaker
    slot (10-12, not side by side with setup)."""
    session = make.session(
        group, day=date.today() - timedelta(days=days_ago), start=start, end=time(start.hour + 2)
    )
    roles = slots_of(session)
    roles["speaker"].headcount = max(1, len(speaker))
    for person in setup:
        put(organizer, person, roles["setup"])
    for person in speaker:
        put(organizer, person, roles["speaker"])
    db.session.commit()
    return session


def search(searcher, query, **kwargs):
    return search_people(db.session, searcher, query, now=datetime.now(UTC), **kwargs)


def names(searcher, query, **kwargs):
    return [p.name for p in search(searcher, query, **kwargs).people]


@pytest.fixture
def town(make):
    """A public group: its organizer Org, the searcher Me, and Ai, Bo, Cy, Di, Eve."""
    organizer = make.user(display_name="Org")
    group = make.group(organizer, name="Kanda Python")
    people = {
        n: make.member(group, make.user(display_name=n))
        for n in ("Me", "Ai", "Bo", "Cy", "Di", "Eve")
    }
    return organizer, group, people


# --- normalisation ----------------------------------------------------------------------------


def test_one_normal_form_for_tags_and_searches():
    assert skill_key("ＰＬＣ") == skill_key("plc") == "plc"
    assert skill_key("クバネテス") == skill_key("くばねてす") == skill_key("ｸﾊﾞﾈﾃｽ")
    assert skill_key("Ｋｕｂｅｒｎｅｔｅｓ") == "kubernetes"
    assert skill_key("  Machine\u3000 Learning ") == "machine learning"
    assert parse_skills("PLC, ＰＬＣ、plc, クバネテス, くばねてす") == ["PLC", "クバネテス"]


@pytest.mark.parametrize(
    ("tag", "query"),
    [
        ("plc", "ＰＬＣ"),
        ("PLC", "plc"),
        ("クバネテス", "くばねてす"),
        ("くばねてす", "クバネテス"),
        ("クバネテス", "ｸﾊﾞﾈﾃｽ"),
        ("Kubernetes", "Ｋｕｂｅｒｎｅｔｅｓ"),
        ("Kubernetes", "kube"),
        ("プログラミング", "ぷろぐらみんぐ"),
        ("生産管理", "生産"),
        ("Machine Learning", "machine　learning"),
    ],
)
def test_search_finds_tags_whatever_the_width_case_and_kana(town, tag, query):
    _org, _group, p = town
    tags(p["Ai"], tag)
    assert names(p["Me"], query) == ["Ai"]


def test_one_tag_per_normal_form_and_like_characters_are_plain(town):
    _org, _group, p = town
    tags(p["Ai"], "PLC, 100%_done")
    tags(p["Bo"], "ＰＬＣ")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Skill)) == 2
    assert [s.name for s in p["Bo"].skills] == ["PLC"]  # the first spelling given
    assert names(p["Me"], "ｐｌｃ") == ["Ai", "Bo"]
    assert names(p["Me"], "%") == ["Ai"]
    assert names(p["Me"], "%_d") == ["Ai"]
    assert names(p["Me"], "_") == ["Ai"]
    assert names(p["Me"], "0%d") == []


@pytest.mark.parametrize("query", ["", "   ", "\u3000", "\x00", None])
def test_an_empty_search_is_refused(query):
    with pytest.raises(QueryError):
        check_query(query)


def test_a_long_search_is_refused_and_control_characters_go():
    assert check_query("  Ku\x00ber\tnetes ") == "Kuber netes"
    assert check_query("x" * 40) == "x" * 40
    with pytest.raises(QueryError):
        check_query("x" * 41)


# --- who finds whom --------------------------------------------------------------------------


def test_who_finds_whom(town, make):
    organizer, group, p = town
    me = p["Me"]
    for person in p.values():
        tags(person, "Kubernetes")
    p["Ai"].findable = False  # chose not to be found
    p["Bo"].appear_by_name = False  # "a member" on others' pages: cannot be found either
    db.session.commit()
    outsider = make.user(display_name="Outsider")  # in no group of mine
    make.member(make.group(), outsider)
    tags(outsider, "Kubernetes")
    # Cy left the group; Di was removed by an organizer.
    for name, status in (("Cy", MembershipStatus.LEFT), ("Di", MembershipStatus.REMOVED)):
        membership = db.session.scalar(
            sa.select(Membership).where(Membership.user_id == p[name].id)
        )
        membership.status = status
    db.session.commit()
    assert names(me, "kubernetes") == ["Eve"]  # Org has no tag: not found
    # Nobody finds the searcher themselves; Eve finds Me.
    assert names(p["Eve"], "kube") == ["Me"]
    # Those who left, were removed, or are outside my groups find nobody of it either.
    assert names(p["Cy"], "kube") == []
    assert names(outsider, "kube") == []


def test_members_only_groups_never_leak(town, make):
    organizer, group, p = town
    club = make.group(organizer, name="Factory club", visibility=Visibility.MEMBERS)
    insider = make.member(club, make.user(display_name="Insider"))
    make.member(club, p["Ai"])
    tags(insider, "PLC")
    tags(p["Ai"], "PLC")
    # Ai shares the members-only club with Insider; Me shares only the public group with Ai.
    assert names(p["Ai"], "plc") == ["Insider"]
    found = search(p["Me"], "plc").people
    assert [(f.name, f.groups) for f in found] == [("Ai", ["Kanda Python"])]
    assert [f.groups for f in search(insider, "plc").people] == [["Factory club"]]


def test_a_pending_membership_is_not_a_group_of_mine(town, make):
    organizer, group, p = town
    newcomer = make.user(display_name="New")
    db.session.add(
        Membership(
            user_id=newcomer.id,
            group_id=group.id,
            role=MemberRole.MEMBER,
            status=MembershipStatus.PENDING,
        )
    )
    db.session.commit()
    tags(p["Ai"], "PLC")
    tags(newcomer, "PLC")
    assert names(newcomer, "plc") == []
    assert names(p["Me"], "plc") == ["Ai"]


def test_the_findable_choice_is_saved_from_the_privacy_form(client, auth, town):
    _org, _group, p = town
    me = p["Me"]
    assert me.findable is True  # on by default
    auth.login_as(me)
    form = {"coworkers_visibility": "shared_groups", "appear_by_name": "y", "accept_thanks": "y"}
    page = client.get(f"/people/{me.id}/coworkers").get_data(as_text=True)
    assert "Members of my groups can find me by my skills and interests" in page
    client.post("/coworkers/privacy", data=form)
    assert me.findable is False
    client.post("/coworkers/privacy", data={**form, "findable": "y"})
    assert me.findable is True


# --- ranking ------------------------------------------------------------------------------------


def test_ranking_across_and_within_tiers(town, make):
    organizer, group, p = town
    me, ai, bo, cy, di, eve = (p[n] for n in ("Me", "Ai", "Bo", "Cy", "Di", "Eve"))
    zed = make.member(group, make.user(display_name="Zed"))
    abe = make.member(group, make.user(display_name="Abe"))
    for person in (ai, bo, cy, di, eve, zed, abe):
        tags(person, "Kubernetes")
    # Tier 1: Ai twice (once side by side), Bo twice (never side by side), Cy once side by side
    # long ago. Side by side first: Cy (1, 1 session) and Ai (1, 2 sessions): Ai, then Cy.
    worked(make, group, organizer, 300, setup=[me, cy])
    worked(make, group, organizer, 20, setup=[me, ai])
    worked(make, group, organizer, 19, setup=[me], speaker=[ai, bo])
    worked(make, group, organizer, 18, setup=[me], speaker=[bo])
    # Tier 2: Di worked with Ai 3 times side by side; Eve with Bo 4 times (not side by side).
    for days in (50, 51, 52):
        worked(make, group, organizer, days, setup=[ai, di])
    for days in (60, 61, 62, 63):
        worked(make, group, organizer, days, setup=[bo], speaker=[eve])
    result = search(me, "kube")
    assert [(f.name, f.tier) for f in result.people] == [
        ("Ai", Tier.COWORKER),
        ("Cy", Tier.COWORKER),
        ("Bo", Tier.COWORKER),
        ("Di", Tier.THROUGH_COWORKER),
        ("Eve", Tier.THROUGH_COWORKER),
        ("Abe", Tier.GROUPS),
        ("Zed", Tier.GROUPS),
    ]
    found = {f.name: f for f in result.people}
    assert (found["Ai"].tie.sessions, found["Ai"].tie.side_by_side) == (2, 1)
    assert (found["Bo"].tie.sessions, found["Bo"].tie.side_by_side) == (2, 0)
    assert (found["Di"].via.name, found["Di"].via.tie.sessions) == ("Ai", 3)
    assert (found["Eve"].via.name, found["Eve"].via.tie.sessions) == ("Bo", 4)
    assert found["Ai"].tie.last.tzinfo is UTC and found["Eve"].via.tie.last.tzinfo is UTC
    assert found["Di"].skills == ["Kubernetes"] and found["Di"].groups == ["Kanda Python"]


def test_among_equals_the_more_recent_first_and_the_strongest_intermediary(town, make):
    organizer, group, p = town
    me, ai, bo, cy, di = (p[n] for n in ("Me", "Ai", "Bo", "Cy", "Di"))
    for person in (ai, bo, di):
        tags(person, "PLC")
    worked(make, group, organizer, 100, setup=[me, ai])
    worked(make, group, organizer, 10, setup=[me, bo])
    # Di: through Cy (2 sessions, not side by side) or through Ai (1 side by side): Ai.
    worked(make, group, organizer, 200, setup=[me, cy])
    worked(make, group, organizer, 40, setup=[cy], speaker=[di])
    worked(make, group, organizer, 41, setup=[cy], speaker=[di])
    worked(make, group, organizer, 42, setup=[ai, di])
    result = search(me, "plc")
    assert [f.name for f in result.people] == ["Bo", "Ai", "Di"]  # Bo: the more recent
    assert result.people[2].via.name == "Ai"


def test_an_intermediary_i_may_not_see_working_with_them_is_not_shown(town, make):
    organizer, group, p = town
    me, ai, bo, cy, di = (p[n] for n in ("Me", "Ai", "Bo", "Cy", "Di"))
    for person in (bo, cy, di):
        tags(person, "PLC")
    worked(make, group, organizer, 100, setup=[me, ai])
    # Ai worked with Bo, with Cy in a members-only group Me is not in, and with Di.
    club = make.group(organizer, name="Club", visibility=Visibility.MEMBERS)
    make.member(club, ai)
    make.member(club, cy)
    worked(make, club, organizer, 30, setup=[ai, cy])
    worked(make, group, organizer, 31, setup=[ai, bo])
    worked(make, group, organizer, 32, setup=[ai, di])
    tiers = {f.name: (f.tier, f.via and f.via.name) for f in search(me, "plc").people}
    assert tiers == {
        "Bo": (2, "Ai"),
        "Di": (2, "Ai"),
        "Cy": (3, None),
    }  # the club's history stays in it
    # Ai chooses "only me" for their page: Me (not an organizer) no longer sees it.
    ai.coworkers_visibility = CoworkersVisibility.ONLY_ME
    db.session.commit()
    assert {f.tier for f in search(me, "plc").people} == {3}
    # The organizer of the group sees Ai's page, and the part of it in the groups they organize.
    tags(me, "PLC")
    worked(make, group, organizer, 90, setup=[organizer, ai])
    tiers = {f.name: (f.tier, f.via and f.via.name) for f in search(organizer, "plc").people}
    assert tiers["Bo"] == (2, "Ai") and tiers["Cy"] == (2, "Ai")  # Org organizes the club too
    # Ai chooses not to appear by name: no longer named as anyone's intermediary.
    ai.coworkers_visibility = CoworkersVisibility.SHARED_GROUPS
    ai.appear_by_name = False
    db.session.commit()
    assert {f.tier for f in search(me, "plc").people} == {3}
    # An intermediary who left all my groups: their page is closed to me.
    ai.appear_by_name = True
    for membership in db.session.scalars(sa.select(Membership).where(Membership.user_id == ai.id)):
        membership.status = MembershipStatus.LEFT
    db.session.commit()
    assert {f.tier for f in search(me, "plc").people} == {3}


# --- queries and pages ---------------------------------------------------------------------------


def test_a_fixed_number_of_queries_and_pages_that_cut_nothing(town, make, count_queries):
    organizer, group, p = town
    me = p["Me"]

    def measure(**kwargs):
        db.session.refresh(me)  # the page has the logged-in member already
        with count_queries() as q:
            result = search(me, "kube", **kwargs)
        return q.count, result

    tags(p["Ai"], "Kubernetes")
    tags(p["Cy"], "Kubernetes")  # not a co-worker: the intermediaries are looked for
    worked(make, group, organizer, 10, setup=[me, p["Ai"]])
    few, _ = measure()
    people = [make.member(group, make.user(display_name=f"K{n:02d}")) for n in range(25)]
    for person in people:
        tags(person, "Kubernetes")
    for n in range(0, 24, 2):
        worked(make, group, organizer, 20 + n, setup=[p["Ai"], people[n]], speaker=[people[n + 1]])
    worked(make, group, organizer, 90, setup=[me, p["Bo"]])
    many, first = measure(limit=10)
    assert many == few <= 5, (few, many)
    assert first.total == 27 and len(first.people) == 10 and first.more
    rest = []
    for offset in (10, 20):
        _, page = measure(limit=10, offset=offset)
        rest += page.people
    assert [f.user_id for f in first.people + rest] == [
        f.user_id for f in search(me, "kube", limit=50).people
    ]
    assert not page.more and len(page.people) == 7
    _, past_the_end = measure(limit=10, offset=500)
    assert past_the_end.offset == 20  # the last page
    assert measure(**{})[0] == few
    # No tag matches: one query.
    with count_queries() as q:
        assert search(me, "zzz").total == 0
    assert q.count == 1


def test_the_page(client, auth, town, make):
    organizer, group, p = town
    me = p["Me"]
    tags(p["Ai"], "Kubernetes")
    tags(p["Di"], "Kubernetes")
    worked(make, group, organizer, 10, setup=[me, p["Bo"]])
    worked(make, group, organizer, 11, setup=[p["Bo"], p["Di"]])
    auth.login_as(me)
    page = client.get("/people/search?q=ｋｕｂｅ").get_data(as_text=True)
    assert "2 people found for “ｋｕｂｅ”" in page
    assert "Bo worked with them 1 time." in page
    ask = f'href="/introductions/ask?via={p["Bo"].id}&amp;to={p["Di"].id}">Ask Bo to introduce you<'
    assert ask in page
    assert page.index("Di") < page.index(">Ai<")
    assert "Kanda Python" in page
    assert 'name="q"' in client.get("/people/search").get_data(as_text=True)
    assert "Type a skill or interest" in client.get("/people/search?q=+").get_data(as_text=True)
    long = client.get("/people/search?q=" + "x" * 41)
    assert long.status_code == 200 and "Type at most 40 characters" in long.get_data(as_text=True)
    assert client.get("/people/search?q=kube&page=abc").status_code == 200
    for control in ("%00", "kube%01"):  # the page, with a message next to the field
        refused = client.get(f"/people/search?q={control}")
        assert refused.status_code == 200
        assert 'id="q-error">The search contains characters that cannot be typed' in (
            refused.get_data(as_text=True)
        )
    assert client.get("/people/search?q=kube&page=%00").status_code == 400  # not typed text
    nobody = client.get("/people/search?q=cobol").get_data(as_text=True)
    assert "No one in your groups lists a skill or interest with “cobol” yet." in nobody
    home = client.get("/").get_data(as_text=True)
    assert 'action="/people/search"' in home


def test_the_page_in_japanese_and_logged_out(client, auth, town, make):
    organizer, group, p = town
    p["Me"].locale = "ja"
    db.session.commit()
    tags(p["Ai"], "生産管理")
    worked(make, group, organizer, 10, setup=[p["Me"], p["Ai"]])
    auth.login_as(p["Me"])
    page = client.get("/people/search?q=生産").get_data(as_text=True)
    assert "詳しい人を探す" in page and "一緒に活動した人" in page
    auth.logout()
    assert client.get("/people/search?q=x").status_code == 302


# --- the migration ------------------------------------------------------------------------------


def test_the_migration_folds_the_keys_and_merges_tags_that_become_one(
    empty_database,  # noqa: F811 (the fixture)
    app_factory,
):
    import importlib.util
    from pathlib import Path

    from flask_migrate import downgrade, upgrade

    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    path = next(versions.glob("5548199006bb_*.py"))
    spec = importlib.util.spec_from_file_location("who_knows_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    before = migration.down_revision
    app = app_factory(empty_database)
    with app.app_context():
        upgrade(revision=before)
        with db.engine.begin() as conn:
            for n in (1, 2):
                conn.execute(
                    sa.text(
                        'INSERT INTO "user" (id, email, password_hash, display_name, bio, '
                        "timezone, session_token, created_at, coworkers_visibility, "
                        "appear_by_name, coworkers_link_token) "
                        "VALUES (:id, :email, 'x', :name, '', 'Asia/Tokyo', :token, "
                        "CURRENT_TIMESTAMP, 'shared_groups', true, :token)"
                    ),
                    {"id": n, "email": f"m{n}@example.com", "name": f"M{n}", "token": f"t{n}"},
                )
            # Keys as the old rule made them (case-folded only).
            skills = [
                (1, "PLC", "plc"),
                (2, "ＰＬＣ", "ｐｌｃ"),
                (3, "クバネテス", "クバネテス"),
                (4, "くばねてす", "くばねてす"),
                (5, "Go", "go"),
            ]
            for skill_id, name, key in skills:
                conn.execute(
                    sa.text("INSERT INTO skill (id, name, key) VALUES (:id, :name, :key)"),
                    {"id": skill_id, "name": name, "key": key},
                )
            # M1 has both spellings of PLC; M2 the younger spellings only.
            for user_id, skill_id in ((1, 1), (1, 2), (1, 5), (2, 2), (2, 4)):
                conn.execute(
                    sa.text("INSERT INTO user_skill (user_id, skill_id) VALUES (:u, :s)"),
                    {"u": user_id, "s": skill_id},
                )
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, name, key FROM skill ORDER BY id")).all() == [
                (1, "PLC", "plc"),
                (3, "クバネテス", "くばねてす"),
                (5, "Go", "go"),
            ]
            assert conn.execute(
                sa.text("SELECT user_id, skill_id FROM user_skill ORDER BY user_id, skill_id")
            ).all() == [(1, 1), (1, 5), (2, 1), (2, 3)]
            assert conn.execute(sa.text('SELECT findable FROM "user"')).scalars().all() == [
                True,
                True,
            ]
        downgrade(revision=before)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT key FROM skill ORDER BY id")).scalars().all() == [
                "plc",
                "クバネテス",
                "go",
            ]


def test_the_ask_link_follows_both_choices_about_introductions(client, auth, town, make):
    organizer, group, p = town
    me, bo, di = p["Me"], p["Bo"], p["Di"]
    tags(di, "Kubernetes")
    worked(make, group, organizer, 10, setup=[me, bo])
    worked(make, group, organizer, 11, setup=[bo, di])
    auth.login_as(me)

    def page():
        return client.get("/people/search?q=kube").get_data(as_text=True)

    assert "Ask Bo to introduce you" in page()
    assert client.get(f"/introductions/ask?via={bo.id}&to={di.id}").status_code == 200
    di.accept_introductions = False  # "don't introduce me": not shown to Me, passes silently
    db.session.commit()
    assert "Ask Bo to introduce you" in page()
    assert client.post(f"/introductions/ask?via={bo.id}&to={di.id}").status_code == 302
    di.accept_introductions = True
    me.accept_introductions = False
    db.session.commit()
    shown = page()
    assert "Ask Bo" not in shown and "To ask for an introduction, tick" in shown
