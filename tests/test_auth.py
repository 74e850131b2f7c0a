from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.auth.models import LoginFailure, LoginThrottle, User
from studygroup.auth.services import (
    HashCost,
    authenticate,
    hash_password,
    parse_skills,
    password_problem,
)
from studygroup.auth.throttle import LoginThrottled
from studygroup.extensions import db
from tests.factories import PASSWORD


def _user(email):
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_register_logs_in_and_hashes_with_argon2id(client):
    response = client.post(
        "/register",
        data={"display_name": "Hanako", "email": " Hanako@Example.com ", "password": PASSWORD},
    )
    assert response.status_code == 302
    user = _user("hanako@example.com")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert "Hanako" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8 characters"),
        ("x" * 65, "at most 64 characters"),
        ("password123", "most common leaked passwords"),
        ("iloveyou", "most common leaked passwords"),
    ],
)
def test_register_refuses_weak_passwords_next_to_the_field(client, password, message):
    response = client.post(
        "/register", data={"display_name": "A", "email": "a@example.com", "password": password}
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _user("a@example.com") is None


def test_password_problem_allows_long_passphrases_and_refuses_own_email():
    assert password_problem("x" * 64) is None
    assert password_problem("hanako.sato", email="hanako.sato@example.com") == "personal"


def test_register_refuses_a_taken_email(client, make):
    make.user("taken@example.com")
    response = client.post(
        "/register", data={"display_name": "B", "email": "TAKEN@example.com", "password": PASSWORD}
    )
    assert "already exists" in response.get_data(as_text=True)


def test_login_and_bad_password(client, auth, make):
    make.user("member@example.com")
    bad = auth.login(password="wrong password!")
    assert bad.status_code == 200
    assert "not right" in bad.get_data(as_text=True)
    good = auth.login()
    assert good.status_code == 302
    assert good.headers["Location"] == "/"


def test_login_redirects_only_within_the_site(client, auth, make):
    make.user("member@example.com")
    for evil in ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]:
        client.post("/logout")
        response = client.post(
            "/login?next=" + evil, data={"email": "member@example.com", "password": PASSWORD}
        )
        assert response.headers["Location"] == "/", evil
    client.post("/logout")
    response = client.post(
        "/login?next=/groups", data={"email": "member@example.com", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/groups"


def test_logout_is_post_only_and_ends_the_session_everywhere(app, make):
    make.user("member@example.com")
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        c.post("/login", data={"email": "member@example.com", "password": PASSWORD})
        assert c.get("/profile").status_code == 200
    assert first.get("/logout").status_code == 405
    # A copy of the first device's cookie, kept by an attacker.
    stolen = app.test_client()
    stolen.set_cookie("session", first.get_cookie("session").value)
    assert stolen.get("/profile").status_code == 200
    first.post("/logout")
    assert stolen.get("/profile").status_code == 302
    assert second.get("/profile").status_code == 302


def test_remember_me_cookie_lasts_at_most_30_days_and_is_httponly(client, make):
    make.user("member@example.com")
    response = client.post(
        "/login", data={"email": "member@example.com", "password": PASSWORD, "remember": "y"}
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    expires = datetime.strptime(
        cookie.split("Expires=")[1].split(";")[0], "%a, %d %b %Y %H:%M:%S GMT"
    )
    assert expires.replace(tzinfo=UTC) - datetime.now(UTC) <= timedelta(days=30, minutes=1)


def test_password_change_ends_other_sessions_but_not_this_one(app, make):
    make.user("member@example.com")
    here, elsewhere = app.test_client(), app.test_client()
    for c in (here, elsewhere):
        c.post("/login", data={"email": "member@example.com", "password": PASSWORD})
    wrong = here.post(
        "/password", data={"current_password": "nope nope", "new_password": "a new passphrase"}
    )
    assert "not your current password" in wrong.get_data(as_text=True)
    response = here.post(
        "/password", data={"current_password": PASSWORD, "new_password": "a new passphrase"}
    )
    assert response.status_code == 302
    assert here.get("/profile").status_code == 200
    assert elsewhere.get("/profile").status_code == 302
    assert here.post("/logout").status_code == 302
    ok = here.post("/login", data={"email": "member@example.com", "password": "a new passphrase"})
    assert ok.status_code == 302


def test_login_rehashes_a_weaker_hash(app, make):
    user = make.user("member@example.com")
    weak = HashCost(time_cost=1, memory_cost=8, parallelism=1)
    user.password_hash = hash_password(PASSWORD, weak)
    db.session.commit()
    app.config.update(PASSWORD_HASH_TIME_COST=2, PASSWORD_HASH_MEMORY_COST=16)
    found = authenticate(
        db.session,
        email="member@example.com",
        password=PASSWORD,
        address="127.0.0.1",
        now=datetime.now(UTC),
        config=app.config,
    )
    assert found.user == user
    assert "m=16,t=2" in user.password_hash


def test_login_is_throttled_per_account_in_the_database(app, client, make):
    make.user("member@example.com")
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        client.post("/login", data={"email": "member@example.com", "password": "wrong one!"})
    # Counted in the database: a second process (another client here) sees the same count.
    other = app.test_client()
    response = other.post("/login", data={"email": "member@example.com", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Once the window has passed, the right password works again.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    db.session.execute(sa.update(LoginFailure).values(created_at=an_hour_ago))
    db.session.execute(
        sa.update(LoginThrottle).values(last_attempt_at=an_hour_ago, wait_until=an_hour_ago)
    )
    db.session.commit()
    assert (
        other.post("/login", data={"email": "member@example.com", "password": PASSWORD}).status_code
        == 302
    )


def test_login_is_throttled_per_address(app, make):
    make.user("member@example.com")
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    now = datetime.now(UTC)
    for n in range(3):
        assert (
            authenticate(
                db.session,
                email=f"guess{n}@example.com",
                password="x",
                address="203.0.113.9",
                now=now,
                config=app.config,
            ).user
            is None
        )
    with pytest.raises(LoginThrottled):
        authenticate(
            db.session,
            email="member@example.com",
            password=PASSWORD,
            address="203.0.113.9",
            now=now,
            config=app.config,
        )


def test_profile_saves_tags_and_language(client, auth, make):
    user = make.user("member@example.com")
    auth.login_as(user)
    response = client.post(
        "/profile",
        data={
            "display_name": "Sakura",
            "bio": "Hello",
            "skills": "Python, インフラ、python, SQL",
            "locale": "ja",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert [s.name for s in user.skills] == ["Python", "SQL", "インフラ"]
    assert user.locale == "ja"
    assert user.timezone == "Europe/Berlin"
    bad = client.post(
        "/profile", data={"display_name": "Sakura", "locale": "", "timezone": "Mars/Base"}
    )
    assert "Asia/Tokyo" in bad.get_data(as_text=True)  # the message names a valid zone
    db.session.refresh(user)
    assert user.timezone == "Europe/Berlin"


def test_parse_skills_dedupes_case_insensitively():
    assert parse_skills(" Python ,python,  Web   dev ,") == ["Python", "Web dev"]


def test_email_is_never_shown_to_other_members(client, auth, make):
    organizer = make.user("organizer-secret@example.com", display_name="Org")
    group = make.group(organizer)
    member = make.member(group)
    auth.login_as(member)
    for path in [f"/g/{group.slug}", "/", "/groups"]:
        assert "organizer-secret@example.com" not in client.get(path).get_data(as_text=True)
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/members").get_data(as_text=True)
    assert member.email not in page


def test_guessing_the_current_password_is_throttled(app, client, auth, make):
    user = make.user("member@example.com")
    auth.login_as(user)
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        wrong = client.post(
            "/password", data={"current_password": "guess guess", "new_password": "new pass 123"}
        )
        assert wrong.status_code == 200
    blocked = client.post(
        "/password", data={"current_password": PASSWORD, "new_password": "new pass 123"}
    )
    assert blocked.status_code == 429
    db.session.refresh(user)
    assert authenticate_ok(app, user)


def authenticate_ok(app, user):
    from studygroup.auth.services import check_password

    return check_password(user, PASSWORD, HashCost.from_config(app.config))
