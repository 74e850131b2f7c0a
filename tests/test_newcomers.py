"""Newcomers: the way from a shared link to a place, and the language of their emails."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.groups.models import JoinPolicy, Membership, MembershipStatus
from studygroup.signups.models import Assignment
from tests.factories import slots_of


def _register(client, email, *, lang_header, next_url=None, **extra):
    data = {
        "display_name": "Alex Newcomer",
        "email": email,
        "password": "a long enough passphrase",
        "locale": "",  # "as my browser says"
        **extra,
    }
    if next_url:
        data["next"] = next_url
    return client.post("/register", data=data, headers={"Accept-Language": lang_header})


# --- the language of emails (item 4) -------------------------------------------------------


def test_emails_speak_the_language_of_registration_then_of_the_last_visit(
    app, client, make, smtp_server
):
    group = make.group(name="渋谷Python勉強会")
    session = make.session(group, day=date.today() + timedelta(days=10), title="第12回")
    setup = slots_of(session)["setup"]

    # Registered on an English page, language left at "as my browser says".
    response = _register(client, "alex@example.com", lang_header="en-US")
    assert response.status_code == 302
    alex = db.session.scalar(sa.select(User).where(User.email == "alex@example.com"))
    assert alex.locale is None
    client.post(f"/g/{group.slug}/join", headers={"Accept-Language": "en-US"})
    client.post(f"/g/{group.slug}/slots/{setup.id}/signup", headers={"Accept-Language": "en-US"})
    [confirmation] = smtp_server.to("alex@example.com")
    assert confirmation["Subject"] == "You are signed up: Setup, 第12回"
    assert "Hello Alex Newcomer," in confirmation.get_content()

    # Later the member visits from a Japanese browser: the next email is Japanese.
    other = app.test_client()
    other.post("/login", data={"email": "alex@example.com", "password": "a long enough passphrase"})
    other.get("/", headers={"Accept-Language": "ja"})
    place = db.session.scalar(sa.select(Assignment).where(Assignment.user_id == alex.id))
    other.post(f"/g/{group.slug}/places/{place.id}/cancel", headers={"Accept-Language": "ja"})
    [_, cancelled] = smtp_server.to("alex@example.com")
    assert cancelled["Subject"] == "キャンセル完了: 第12回 の設営"
    assert "Alex Newcomerさん、こんにちは。" in cancelled.get_content()


def test_the_language_of_a_visit_is_written_only_when_it_changes(
    app, client, auth, make, count_queries
):
    member = make.user()
    auth.login_as(member)
    client.get("/", headers={"Accept-Language": "en"})
    assert db.session.get(User, member.id).last_locale == "en"
    before = db.session.get(User, member.id)
    revision, updated_at = before.revision, before.updated_at
    with count_queries() as queries:
        client.get("/", headers={"Accept-Language": "en"})
    assert not [s for s in queries.statements if s.lstrip().upper().startswith("UPDATE")]
    client.get("/", headers={"Accept-Language": "ja"})
    after = db.session.get(User, member.id)
    assert after.last_locale == "ja"
    # A page language is no change that calendar feeds of other members show.
    assert (after.revision, after.updated_at) == (revision, updated_at)


def test_a_chosen_language_wins_over_the_page_and_is_not_overwritten(client, auth, make):
    from studygroup.i18n import locale_of

    member = make.user(locale="ja")
    auth.login_as(member)
    client.get("/", headers={"Accept-Language": "en"})
    member = db.session.get(User, member.id)
    assert member.last_locale is None
    assert locale_of(member) == "ja"


def test_members_who_never_visited_get_the_default(app, make):
    from studygroup.i18n import locale_of

    member = make.user()
    assert locale_of(member) == app.config["DEFAULT_READER_LOCALE"]


def test_member_feed_speaks_the_last_visits_language(app, client, auth, make):
    from studygroup.calendar.tokens import token_of

    group = make.group()
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=10))
    auth.login_as(member)
    client.get("/", headers={"Accept-Language": "en"})
    client.post(f"/g/{group.slug}/slots/{slots_of(session)['setup'].id}/signup")
    member = db.session.get(User, member.id)
    feed = client.get(f"/calendar/member/{token_of(member)}.ics").get_data(as_text=True)
    assert "Setup" in feed and "設営" not in feed


# --- from a shared link to a place (item 3) ------------------------------------------------


def _links(page: str, text: str) -> list[str]:
    """The hrefs of the links whose text is `text`."""
    import re

    return [
        href.replace("&amp;", "&")
        for href, label in re.findall(r'<a[^>]*href="([^"]*)"[^>]*>\s*([^<]*?)\s*</a>', page)
        if label == text
    ]


def test_header_and_group_page_bring_a_visitor_back_after_registering(client, make):
    group = make.group(slug="shibuya")
    page = client.get("/g/shibuya", headers={"Accept-Language": "en"}).get_data(as_text=True)
    # The header and the group page both offer both ways in, each back to the group page.
    # (The header has its links twice: in a row for wide screens, in the phones' menu.)
    assert set(_links(page, "Create account")) == {"/register?next=/g/shibuya"}
    assert set(_links(page, "Log in")) == {"/login?next=/g/shibuya"}
    main = page[page.index("<main") :]
    assert _links(main, "Create account") == ["/register?next=/g/shibuya"]
    assert _links(main, "Log in") == ["/login?next=/g/shibuya"]
    assert "Create an account or log in to join this group." in page

    # The login page's link to registering, and the registration form, carry `next` on.
    login = client.get("/login?next=/g/shibuya").get_data(as_text=True)
    assert "/register?next=/g/shibuya" in _links(login, "Create account")
    register = client.get("/register?next=/g/shibuya").get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/g/shibuya">' in register
    assert "/login?next=/g/shibuya" in _links(register, "Log in")

    response = _register(client, "new@example.com", lang_header="en", next_url="/g/shibuya")
    assert response.status_code == 302 and response.location == "/g/shibuya"
    page = client.get("/g/shibuya").get_data(as_text=True)
    assert "Join this group" in page
    assert group.name in page


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil", ""])
def test_only_local_paths_are_followed(client, target):
    response = _register(client, "x@example.com", lang_header="en", next_url=target)
    assert response.status_code == 302 and response.location == "/"


def test_a_session_page_offers_joining_and_comes_back_to_sign_up(client, auth, make):
    group = make.group(slug="shibuya", name="Shibuya.py")
    session = make.session(group, day=date.today() + timedelta(days=10))
    path = f"/g/shibuya/sessions/{session.id}"
    en = {"Accept-Language": "en"}

    page = client.get(path, headers=en).get_data(as_text=True)
    assert f"/register?next={path}" in _links(page, "Create account")
    assert f"/login?next={path}" in _links(page, "Log in")
    assert "To sign up, create an account or log in, then join Shibuya.py." in page

    response = _register(client, "new@example.com", lang_header="en", next_url=path)
    assert response.location == path
    page = client.get(path, headers=en).get_data(as_text=True)
    assert '<form method="post" action="/g/shibuya/join"' in page
    assert f'<input type="hidden" name="next" value="{path}">' in page
    assert ">Sign up</button>" not in page

    response = client.post("/g/shibuya/join", data={"next": path}, headers=en)
    assert response.location == path
    page = client.get(path, headers=en).get_data(as_text=True)
    assert "You are now a member of Shibuya.py: you can sign up." in page
    assert "/g/shibuya/join" not in page
    assert page.count(">Sign up</button>") == 2  # setup and reception; speaker asks
    # An outside `next` is never followed.
    assert client.post("/g/shibuya/join", data={"next": "//evil.example"}).location == "/g/shibuya"


def test_an_approval_group_asks_to_join_from_the_session(client, make):
    group = make.group(slug="tokyo", name="Tokyo Go", join_policy=JoinPolicy.APPROVAL)
    session = make.session(group, day=date.today() + timedelta(days=10))
    path = f"/g/tokyo/sessions/{session.id}"
    en = {"Accept-Language": "en"}
    assert "then ask to join Tokyo Go" in client.get(path, headers=en).get_data(as_text=True)
    _register(client, "new@example.com", lang_header="en", next_url=path)
    page = client.get(path, headers=en).get_data(as_text=True)
    assert ">Ask to join</button>" in page
    assert client.post("/g/tokyo/join", data={"next": path}).location == path
    page = client.get(path, headers=en).get_data(as_text=True)
    assert "Your request is sent. An organizer will answer it." in page
    assert "Waiting for an organizer's approval" in page
    assert "Once an organizer accepts you, you can sign up here." in page
    membership = db.session.scalar(
        sa.select(Membership).join(User).where(User.email == "new@example.com")
    )
    assert membership.group_id == group.id and membership.status == MembershipStatus.PENDING


def test_an_invite_only_group_says_how_to_get_in(client, make):
    group = make.group(slug="closed", join_policy=JoinPolicy.INVITE)
    session = make.session(group, day=date.today() + timedelta(days=10))
    path = f"/g/closed/sessions/{session.id}"
    _register(client, "new@example.com", lang_header="en", next_url=path)
    page = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "joined through an invitation link from an organizer" in page
    assert "Ask an organizer for the link." in page
    assert "/g/closed/join" not in page
