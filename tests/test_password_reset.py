"""Password links (studygroup.auth.reset): "forgot your password?" from the login page, the
email through a real SMTP server, the link that sets a password once and logs in, expired,
used and broken links, the limits per network address and per account; and the welcome email
of someone registered at reception, whose link sets their first password."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studygroup.auth.models import User
from studygroup.auth.reset import (
    LIFETIMES,
    RESET_EMAILS_PER_HOUR,
    LinkProblem,
    PasswordLinkRefused,
    Purpose,
    password_link_token,
    read_password_link,
    set_password_with_link,
)
from studygroup.checkin.services import walk_in
from studygroup.extensions import db
from studygroup.mail.models import OutboundEmail
from tests.factories import CHEAP, PASSWORD
from tests.test_checkin import Day

NEW_PASSWORD = "tall green kettle 42"
LINK = re.compile(r"https?://\S+/password/reset/(\S+)")


def _now() -> datetime:
    return datetime.now(UTC)


def _secret(app) -> str:
    return app.config["SECRET_KEY"]


def _user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def _link_in(message) -> tuple[str, str]:
    """The link of an email, as a path for the test client, and its token."""
    text = message.get_body(("plain",)).get_content()
    found = LINK.search(text)
    assert found, text
    return f"/password/reset/{found[1]}", found[1]


def _logs_in(app, email: str, password: str) -> bool:
    response = app.test_client().post("/login", data={"email": email, "password": password})
    return response.status_code == 302


def _outbox(kind: str) -> list[OutboundEmail]:
    return list(db.session.scalars(sa.select(OutboundEmail).where(OutboundEmail.kind == kind)))


def _ask(client, email: str, **kwargs):
    """Ask for a link as a browser does: the server closes the answer once it is sent, and
    only then sends the email."""
    response = client.post("/password/forgot", data={"email": email}, **kwargs)
    response.close()
    return response


# --- asking for a link ----------------------------------------------------------------------


def test_the_login_page_links_to_forgot_your_password(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page and "Forgot your password?" in page
    form = client.get("/password/forgot")
    assert form.status_code == 200 and 'name="email"' in form.get_data(as_text=True)


def test_the_link_by_email_sets_the_password_once_and_logs_in(app, client, make, smtp_server):
    user = make.user("hana@example.com", display_name="Hana", locale="en")
    elsewhere = app.test_client()
    assert elsewhere.post("/login", data={"email": user.email, "password": PASSWORD}).status_code

    response = client.post("/password/forgot", data={"email": " Hana@Example.com "})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # The email goes once the answer is out (as fast whether an account exists or not).
    assert smtp_server.messages == []
    response.close()
    said = client.get("/login").get_data(as_text=True)
    assert "If an account has the address Hana@Example.com, we sent it a link" in said
    assert "works for 2 hours" in said

    [message] = smtp_server.to("hana@example.com")
    assert message["Subject"] == "Set a new password for studygroup"
    text = message.get_body(("plain",)).get_content()
    assert "Hello Hana," in text and "The link works once, within 2 hours." in text
    assert "If you did not ask for this" in text
    path, token = _link_in(message)

    page = client.get(path)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert "hana@example.com" in page.get_data(as_text=True)
    # Typed differently twice, or a leaked password: said next to the field, nothing set.
    typo = client.post(path, data={"new_password": NEW_PASSWORD, "confirm_password": "x"})
    assert typo.status_code == 422
    assert "The two passwords are not the same." in typo.get_data(as_text=True)
    weak = client.post(path, data={"new_password": "password123", "confirm_password": "x"})
    assert "most common leaked passwords" in weak.get_data(as_text=True)
    assert _logs_in(app, user.email, PASSWORD)

    done = client.post(path, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Your password is set and you are logged in." in home and "Hana" in home
    assert client.get("/profile").status_code == 200
    # The other login ended; the old password is gone, the new one works.
    assert elsewhere.get("/profile").status_code == 302
    assert not _logs_in(app, user.email, PASSWORD)
    assert _logs_in(app, user.email, NEW_PASSWORD)

    # The link again: used, a page that says so and how to ask again.
    again = client.get(path)
    assert again.status_code == 410
    body = again.get_data(as_text=True)
    assert "The link was used already" in body and 'href="/password/forgot"' in body
    posted = client.post(
        path,
        data={"new_password": "another fine phrase", "confirm_password": "another fine phrase"},
    )
    assert posted.status_code == 410
    assert _logs_in(app, user.email, NEW_PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_email(app, make, smtp_server):
    make.user("known@example.com")
    answers = []
    for email in ("known@example.com", "nobody@example.com"):
        client = app.test_client()
        response = _ask(client, email)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        page = re.sub(r'name="csrf_token"[^>]*', "", page.replace(email, "@"))
        answers.append((response.status_code, response.headers["Location"], page))
    assert answers[0] == answers[1]
    assert [m["To"] for m in smtp_server.messages] == ["known@example.com"]


def test_a_japanese_member_gets_the_email_in_japanese(client, make, smtp_server):
    make.user("yui@example.com", display_name="結衣", locale="ja")
    _ask(client, "yui@example.com")
    [message] = smtp_server.to("yui@example.com")
    assert message["Subject"] == "studygroup のパスワード再設定"
    text = message.get_body(("plain",)).get_content()
    assert "結衣さん、こんにちは。" in text and "リンクは2時間以内に一度だけ使えます。" in text


def test_an_account_gets_at_most_three_reset_emails_an_hour(app, make, smtp_server):
    user = make.user("busy@example.com")
    for _ in range(RESET_EMAILS_PER_HOUR + 2):
        response = _ask(app.test_client(), user.email)
        assert response.status_code == 302  # the same answer every time
    assert len(smtp_server.to(user.email)) == RESET_EMAILS_PER_HOUR
    # An hour later, again.
    for message in _outbox("password_reset"):
        message.created_at -= timedelta(hours=1, seconds=1)
    db.session.commit()
    _ask(app.test_client(), user.email)
    assert len(smtp_server.to(user.email)) == RESET_EMAILS_PER_HOUR + 1


def test_a_network_address_asking_too_often_waits(app, client, make):
    app.config["PASSWORD_RESET_MAX_PER_ADDRESS"] = 3
    make.user("a@example.com")
    for n in range(3):
        assert (
            client.post("/password/forgot", data={"email": f"x{n}@example.com"}).status_code == 302
        )
    refused = client.post("/password/forgot", data={"email": "a@example.com"})
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    page = refused.get_data(as_text=True)
    assert "Too many requests from this network. Try again in 15 minutes." in page
    assert 'value="a@example.com"' in page  # what was typed is kept
    assert _outbox("password_reset") == []
    # Another address is not held up.
    other = app.test_client().post(
        "/password/forgot",
        data={"email": "a@example.com"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 302 and len(_outbox("password_reset")) == 1


def test_bad_addresses_are_said_next_to_the_field(client):
    for email in ("", "not an address", "x" * 300 + "@example.com"):
        response = client.post("/password/forgot", data={"email": email})
        assert response.status_code == 200
        assert 'class="error"' in response.get_data(as_text=True)
    assert _outbox("password_reset") == []


# --- the links themselves -------------------------------------------------------------------


def test_a_reset_link_lasts_two_hours_and_a_welcome_link_seven_days(app, make):
    user = make.user()
    made = _now()
    for purpose, lifetime in (
        (Purpose.RESET, timedelta(hours=2)),
        (Purpose.WELCOME, timedelta(days=7)),
    ):
        assert LIFETIMES[purpose] == lifetime
        token = password_link_token(user, purpose=purpose, secret_key=_secret(app), now=made)
        last = made + lifetime - timedelta(seconds=1)
        link = read_password_link(db.session, token, secret_key=_secret(app), now=last)
        assert link.user.id == user.id and link.purpose == purpose
        with pytest.raises(PasswordLinkRefused) as refused:
            read_password_link(
                db.session, token, secret_key=_secret(app), now=last + timedelta(seconds=2)
            )
        assert refused.value.problem == LinkProblem.EXPIRED


def test_an_expired_link_gets_a_page_to_ask_again(app, client, make):
    user = make.user()
    token = password_link_token(
        user,
        purpose=Purpose.RESET,
        secret_key=_secret(app),
        now=_now() - timedelta(hours=2, seconds=5),
    )
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "The link has expired" in page and 'href="/password/forgot"' in page
    posted = client.post(
        f"/password/reset/{token}",
        data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert posted.status_code == 410 and _logs_in(app, user.email, PASSWORD)


def test_a_link_used_twice_sets_the_password_once(app, make):
    user = make.user()
    token = password_link_token(user, purpose=Purpose.RESET, secret_key=_secret(app), now=_now())
    set_password_with_link(
        db.session, token, NEW_PASSWORD, secret_key=_secret(app), now=_now(), cost=CHEAP
    )
    db.session.commit()
    with pytest.raises(PasswordLinkRefused) as refused:
        set_password_with_link(
            db.session,
            token,
            "another fine phrase",
            secret_key=_secret(app),
            now=_now(),
            cost=CHEAP,
        )
    db.session.rollback()
    assert refused.value.problem == LinkProblem.USED
    assert _logs_in(app, user.email, NEW_PASSWORD)


def test_logging_out_everywhere_ends_a_link_and_another_key_breaks_it(app, make):
    user = make.user()
    token = password_link_token(user, purpose=Purpose.RESET, secret_key=_secret(app), now=_now())
    with pytest.raises(PasswordLinkRefused) as other_key:
        read_password_link(db.session, token, secret_key="another key", now=_now())
    assert other_key.value.problem == LinkProblem.BROKEN
    user.session_token = "rotated"
    db.session.commit()
    with pytest.raises(PasswordLinkRefused) as used:
        read_password_link(db.session, token, secret_key=_secret(app), now=_now())
    assert used.value.problem == LinkProblem.USED


def test_broken_and_altered_links_get_a_clear_404(app, client, make):
    user = make.user()
    token = password_link_token(user, purpose=Purpose.RESET, secret_key=_secret(app), now=_now())
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (altered, token[:20], "x", "a.b.c", "あ" * 50, "9" * 400, token + "x"):
        response = client.get(f"/password/reset/{bad}")
        assert response.status_code == 404, bad
        assert "The link is not complete or not right." in response.get_data(as_text=True)


def test_the_reset_form_takes_any_input_without_a_500(app, make):
    user = make.user()
    token = password_link_token(user, purpose=Purpose.RESET, secret_key=_secret(app), now=_now())
    client = app.test_client()
    text = st.one_of(st.text(max_size=80), st.sampled_from(["\x00", "x" * 5000, "🎉" * 40, ""]))

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(text, text)
    def property(new, confirm):
        response = client.post(
            f"/password/reset/{token}", data={"new_password": new, "confirm_password": confirm}
        )
        assert response.status_code in (302, 410, 422), response.status_code

    property()


# --- the welcome of a walk-in ---------------------------------------------------------------


def _walk_in_page(client, day, *, email, name, lang):
    client.post("/language", data={"lang": lang})
    return client.post(day.url(), data={"action": "walk_in", "display_name": name, "email": email})


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_walk_in_gets_a_welcome_whose_link_sets_the_first_password(
    app, client, auth, make, smtp_server, lang
):
    day = Day(make)
    auth.login_as(day.receptionist)
    response = _walk_in_page(client, day, email="nao@example.com", name="Nao Ueda", lang=lang)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    told = {
        "en": "They are emailed their code and a link to choose their password.",
        "ja": "受付コードとパスワード設定用のリンクをメールでお送りします。",
    }
    assert told[lang] in page
    nao = _user("nao@example.com")
    assert nao.last_locale == lang  # the receptionist's page language
    code = db.session.scalar(
        sa.text("SELECT code FROM participant WHERE user_id = :u"), {"u": nao.id}
    )

    [message] = smtp_server.to("nao@example.com")
    text = message.get_body(("plain",)).get_content()
    expected = {
        "en": ("Welcome to ", ": set your password", "The link works once, within 7 days."),
        "ja": (
            "へようこそ：パスワードを設定してください",
            "受付で参加登録し",
            "リンクは7日以内に一度だけ使えます。",
        ),
    }[lang]
    assert day.group.name in message["Subject"]
    assert all(part in message["Subject"] + text for part in expected)
    assert "もくもく会" in text and code in text
    assert "/password/forgot" in text  # where to go when it has expired

    path, _token = _link_in(message)
    other = app.test_client()
    done = other.post(path, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 302 and other.get("/profile").status_code == 200
    assert _logs_in(app, "nao@example.com", NEW_PASSWORD)
    again = other.post(
        path,
        data={"new_password": "another fine phrase", "confirm_password": "another fine phrase"},
    )
    assert again.status_code == 410


def test_no_welcome_for_an_existing_account(client, auth, make, smtp_server):
    day = Day(make)
    known = make.user("known@example.com", display_name="Known")
    auth.login_as(day.receptionist)
    response = _walk_in_page(client, day, email=known.email, name="Typed", lang="en")
    assert response.status_code == 200
    assert "They are emailed" not in response.get_data(as_text=True)
    assert smtp_server.to(known.email) == [] and _outbox("walk_in_welcome") == []


def test_a_welcome_link_expires_after_seven_days(app, make):
    day = Day(make)
    now = _now()
    walk_in(
        db.session,
        session=day.session,
        by=day.receptionist,
        by_organizer=False,
        now=now,
        cost=CHEAP,
        email="late@example.com",
        display_name="Late",
        locale="en",
    )
    db.session.commit()
    [welcome] = _outbox("walk_in_welcome")
    token = LINK.search(welcome.body)[1]
    week = now + timedelta(days=7)
    link = read_password_link(
        db.session, token, secret_key=_secret(app), now=week - timedelta(seconds=1)
    )
    assert link.user.email == "late@example.com" and link.purpose == Purpose.WELCOME
    with pytest.raises(PasswordLinkRefused) as refused:
        read_password_link(
            db.session, token, secret_key=_secret(app), now=week + timedelta(seconds=1)
        )
    assert refused.value.problem == LinkProblem.EXPIRED
