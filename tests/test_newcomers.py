"""Newcomers: the way from a shared link to a place, and the language of their emails."""

from datetime import date, timedelta

import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.extensions import db

from studygroup.sessions.models import RoleSlot
from studygroup.signups.models import Assignment


def _slot(session, position: int = 0) -> RoleSlot:
    return db.session.scalar(
        sa.select(RoleSlot)
        .where(RoleSlot.session_id == session.id)
        .order_by(RoleSlot.position)
        .offset(position)
    )


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
    setup = _slot(session)

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
    assert locale_of(member) == app.config["MAIL_DEFAULT_LOCALE"]


def test_member_feed_speaks_the_last_visits_language(app, client, auth, make):
    from studygroup.calendar.tokens import token_of

    group = make.group()
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=10))
    auth.login_as(member)
    client.get("/", headers={"Accept-Language": "en"})
    client.post(f"/g/{group.slug}/slots/{_slot(session).id}/signup")
    member = db.session.get(User, member.id)
    feed = client.get(f"/calendar/member/{token_of(member)}.ics").get_data(as_text=True)
    assert "Setup" in feed and "設営" not in feed
