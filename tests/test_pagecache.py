"""The page cache: kept pages cost the login's one statement, and are never wrong.

Every committed write raises the data revision (studygroup.pagecache.revision); pages kept by
`@kept_page` are keyed by it, the viewer, the language and the minute.
"""

import re

import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.pagecache.cache import CSRF_PLACEHOLDER, PageCache
from studygroup.pagecache.models import DataRevision
from tests import factories
from tests.conftest import kept_statements


def _revision() -> int:
    number = db.session.scalar(sa.select(DataRevision.number).where(DataRevision.id == 1))
    db.session.commit()  # reading ends its transaction here, as a request does
    return number


def test_every_committed_write_raises_the_revision_and_nothing_else_does(app, make):
    user = make.user()
    start = _revision()

    user.bio = "ORM flush"
    db.session.commit()
    assert _revision() == start + 1

    db.session.execute(sa.update(User).where(User.id == user.id).values(bio="Core update"))
    db.session.commit()
    assert _revision() == start + 2

    db.session.execute(
        sa.text('UPDATE "user" SET bio = :bio WHERE id = :id'), {"bio": "raw", "id": user.id}
    )
    db.session.commit()
    assert _revision() == start + 3

    user.bio = "rolled back"
    db.session.flush()
    db.session.rollback()
    assert _revision() == start + 3

    db.session.scalar(sa.select(User).where(User.id == user.id))  # a read, then a commit
    db.session.commit()
    assert _revision() == start + 3
    assert db.session.get(User, user.id).bio == "raw"


def _member_and_session(make, title="Monthly meetup"):
    organizer = make.user(display_name="Organizer Oda")
    group = make.group(organizer)
    session = make.session(group, title=title)
    return organizer, group, session


def test_a_kept_page_costs_one_statement_and_the_next_change_shows(
    app, client, make, auth, count_queries
):
    organizer, group, session = _member_and_session(make)
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}"
    # the login statement: user, revision, group and membership
    assert kept_statements(client, count_queries, url) == 1
    kept = client.get(url)
    assert "Monthly meetup" in kept.text
    assert CSRF_PLACEHOLDER not in kept.text

    session.title = "Hands-on night"
    db.session.commit()
    with count_queries(kept=True) as queries:
        changed = client.get(url)
    assert "Hands-on night" in changed.text
    assert queries.count > 1  # built again


def test_a_kept_page_is_never_served_to_another_viewer(app, make):
    organizer = make.user()
    group = make.group(organizer, name="Alpha readers")
    member = make.member(make.group(name="Beta builders"))
    make.member(group, member)
    other = make.user()
    make.group(other, name="Gamma only")
    first, second = app.test_client(), app.test_client()
    for client, user in ((first, organizer), (second, other)):
        with client.session_transaction() as cookie:
            cookie["_user_id"] = user.get_id()

    assert "Alpha readers" in first.get("/").text
    page = second.get("/").text  # same URL, same revision and minute: another viewer
    assert "Gamma only" in page
    assert "Alpha readers" not in page

    second = app.test_client()
    with second.session_transaction() as cookie:
        cookie["_user_id"] = member.get_id()

    # An organizer's page, kept, is still 403 to a member and 404 to nobody logged in
    assert first.get(f"/g/{group.slug}/staffing").status_code == 200
    assert second.get(f"/g/{group.slug}/staffing").status_code == 403
    assert app.test_client().get(f"/g/{group.slug}/staffing").status_code == 302


def test_a_kept_page_gives_each_login_its_own_csrf_token(app_factory, migrated_database):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make = factories.Factories(db.session)
        user = make.user(locale="en")
        user_id = user.get_id()
        db.session.remove()
    phone, laptop = app.test_client(), app.test_client()
    tokens = []
    for client in (phone, laptop):
        with client.session_transaction() as cookie:
            cookie["_user_id"] = user_id
        page = client.get("/schedule").text
        tokens.append(re.search(r'name="csrf_token" value="([^"]+)"', page).group(1))
    assert tokens[0] != tokens[1]
    assert app.extensions["page_cache"].hits >= 1  # the laptop's page came from the cache

    # Each login's token posts; the other's does not
    for client, token in ((phone, tokens[0]), (laptop, tokens[1])):
        answer = client.post("/language", data={"lang": "en", "csrf_token": token})
        assert answer.status_code == 302
    assert laptop.post("/language", data={"lang": "en", "csrf_token": tokens[0]}).status_code == 400


def test_a_page_with_a_message_to_show_is_not_kept(app, client, make, auth):
    organizer, group, session = _member_and_session(make)
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}"
    client.get(url)  # kept without a message
    with client.session_transaction() as cookie:
        cookie["_flashes"] = [("success", "You are signed up.")]
    assert "You are signed up." in client.get(url).text
    assert "You are signed up." not in client.get(url).text  # shown once, and not kept


def test_the_readers_language_is_part_of_the_key(app, client, make, auth):
    user = make.user(locale="en")
    auth.login_as(user)
    english = client.get("/schedule").text
    assert 'lang="en"' in english
    client.post("/language", data={"lang": "ja"})
    japanese = client.get("/schedule").text
    assert 'lang="ja"' in japanese
    assert japanese != english


def test_visitors_not_logged_in_get_the_public_group_page_kept(app, client, make, count_queries):
    _organizer, group, session = _member_and_session(make)
    url = f"/g/{group.slug}"
    assert kept_statements(client, count_queries, url) == 1  # the group and the revision
    page = client.get(url)
    assert "Monthly meetup" in page.text
    session.title = "Renamed for visitors"
    db.session.commit()
    assert "Renamed for visitors" in client.get(url).text


def test_the_cache_keeps_one_revision_within_its_size():
    cache = PageCache(max_bytes=10)
    cache.put(1, "a", "12345")
    cache.put(1, "b", "12345")
    assert cache.get(1, "a") == (b"12345",)
    cache.put(1, "c", "123")  # over the size: the least recently used ("b") goes
    assert cache.get(1, "b") is None
    assert cache.get(1, "a") == (b"12345",)

    cache.put(2, "a", f"<{CSRF_PLACEHOLDER}>")  # a newer revision: older ones can't be asked for
    assert cache.get(2, "a") == (b"<", b">")  # cut where each response puts its own token
    assert cache.get(2, "c") is None
    assert cache.get(1, "a") is None

    cache.put(1, "late", "built from older data")  # served, never kept
    assert cache.get(2, "late") is None and len(cache) == 1
    cache.put(2, "huge", "x" * 11)  # larger than the whole cache
    assert cache.get(2, "huge") is None


def test_writes_no_page_reads_raise_nothing(app, make):
    """The outbox's delivery bookkeeping and the login throttle's failures: no page shows them
    (a page that comes to must take its table out of UNSEEN_TABLES)."""
    from studygroup.mail.models import OutboundEmail
    from studygroup.pagecache.revision import UNSEEN_TABLES

    assert set(UNSEEN_TABLES) == {
        "outbound_email",
        "login_failure",
        "api_rate_window",
        "webhook_delivery",
        "webhook_attempt",
    }
    user = make.user()
    start = _revision()
    db.session.execute(
        sa.update(OutboundEmail).where(OutboundEmail.to_address == user.email).values(attempts=1)
    )
    db.session.execute(sa.text("DELETE FROM login_failure WHERE 1 = 0"))
    db.session.commit()
    assert _revision() == start

    db.session.execute(sa.text("DELETE FROM login_failure WHERE 1 = 0"))
    user.bio = "and a change a page shows"
    db.session.commit()
    assert _revision() == start + 1
