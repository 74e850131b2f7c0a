"""While the database is down: the app's own page, in the member's language, 503 with
Retry-After, one log line per failure, and nothing on the error page asks the database."""

import logging
import socket

import pytest
import sqlalchemy as sa
from flask_login.utils import encode_cookie

from studygroup.auth.models import User
from studygroup.extensions import db
from tests.factories import PASSWORD


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


@pytest.fixture(params=["sqlite", "postgresql"])
def down(request, tmp_path, app_factory, caplog):
    """An app whose database cannot be reached, its connection attempts counted, and its log
    (the app's logger and every other logger's warnings) captured."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'no-such-directory' / 'studygroup.sqlite3'}"
    else:
        url = f"postgresql+psycopg://studygroup@127.0.0.1:{_closed_port()}/studygroup"
    # As in production: an error the handlers do not answer becomes a 500, not a test crash.
    app = app_factory(url, PROPAGATE_EXCEPTIONS=False, LOG_LEVEL="INFO")
    attempts = []
    with app.app_context():
        sa.event.listen(db.engine, "do_connect", lambda *args: attempts.append(1))
    caplog.set_level(logging.WARNING)
    app.logger.addHandler(caplog.handler)
    app.attempts = attempts
    return app


def _only_log_line(caplog):
    assert len(caplog.records) == 1, [r.getMessage() for r in caplog.records]
    return caplog.records[0]


def test_a_logged_in_member_gets_the_styled_page_in_their_language(down, caplog):
    client = down.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "a-session-token"
        session["_fresh"] = True
        session["lang"] = "ja"
    response = client.get("/schedule", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert '<html lang="ja">' in page and "style.css" in page  # the app's own layout
    assert "一時的に利用できません" in page
    assert "データベースに接続できません" in page
    assert down.attempts == [1]  # the failure itself; the page asked nothing more
    line = _only_log_line(caplog)
    assert line.levelno == logging.ERROR and line.getMessage() == "database unreachable"
    assert line.fields["path"] == "/schedule" and line.fields["status"] == 503
    assert "OperationalError" in line.fields["error"]
    with client.session_transaction() as session:
        assert session["_user_id"] == "a-session-token"  # still logged in when it is back


def test_a_remember_cookie_and_the_browser_language(down, caplog):
    client = down.test_client()
    with down.test_request_context():
        client.set_cookie("remember_token", encode_cookie("a-session-token"))
    response = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Temporarily unavailable" in page
    assert "cannot reach its database" in page
    assert down.attempts == [1]
    assert _only_log_line(caplog).fields["path"] == "/"


def test_each_failure_is_logged_once_and_json_callers_get_json(down, caplog):
    client = down.test_client()
    for n in range(1, 4):
        response = client.post("/login", data={"email": "a@example.com", "password": "x" * 12})
        assert response.status_code == 503
        assert len(caplog.records) == n
    api = client.get("/g/some-group", headers={"Accept": "application/json"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.json["error"] == "Temporarily unavailable"
    assert len(caplog.records) == 4
    assert {r.getMessage() for r in caplog.records} == {"database unreachable"}


def test_readiness_still_says_503(down, caplog):
    response = down.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
    assert down.test_client().get("/healthz").status_code == 200


def test_the_database_failing_after_the_member_was_loaded(app_factory, make, caplog):
    """The member loaded, then a commit expired them and the database went away: the error
    page must not read them again (that would ask the database, inside the error handler)."""
    member = make.user(locale="en")
    app = app_factory(PROPAGATE_EXCEPTIONS=False, LOG_LEVEL="INFO")
    gone = _database_goes_away(app)

    @app.get("/fails-midway")
    def fails_midway():
        from flask_login import current_user

        assert current_user.display_name
        db.session.commit()  # expires every loaded row, the member's too
        gone.append(True)
        db.session.execute(sa.text("SELECT 1"))

    caplog.set_level(logging.WARNING)
    app.logger.addHandler(caplog.handler)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = member.get_id()
    response = client.get("/fails-midway", headers={"Accept-Language": "ja"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    # In the member's own language, as loaded before the failure (kept in the cookie).
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    line = _only_log_line(caplog)
    assert line.fields["error"] == "ConnectionError: server closed the connection unexpectedly"
    assert "user_id" not in line.fields


def _database_goes_away(app) -> list:
    """Append to the returned list and every statement from then on fails as if the server
    had gone away."""
    gone: list = []

    def refuse(*args):
        if gone:
            reason = ConnectionError("server closed the connection unexpectedly")
            raise sa.exc.OperationalError("SELECT 1", {}, reason)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", refuse)
    return gone


def _unavailable_in(client, browser: str) -> str:
    response = client.get("/", headers={"Accept-Language": browser})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    return "en" if "Temporarily unavailable" in page else "ja" if "一時的に" in page else "?"


def test_the_page_speaks_the_members_own_language_setting_not_the_browsers(
    app_factory, make, caplog
):
    """The member cannot be loaded, but their setting travels in the signed session cookie:
    set at login, on the profile, by the language switch; gone at logout."""
    make.user("en@example.com", locale="en")
    app = app_factory(PROPAGATE_EXCEPTIONS=False, LOG_LEVEL="INFO")
    gone = _database_goes_away(app)
    client = app.test_client()
    ja, en = {"Accept-Language": "ja"}, {"Accept-Language": "en"}

    def while_down(browser: str) -> str:
        gone.append(True)
        try:
            return _unavailable_in(client, browser)
        finally:
            gone.clear()

    login = {"email": "en@example.com", "password": PASSWORD}
    assert client.post("/login", data=login, headers=ja).status_code == 302
    assert while_down("ja") == "en"  # profile English, browser Japanese

    profile = client.get("/profile", headers=en).get_data(as_text=True)
    form = {
        "display_name": "Member",
        "timezone": "Asia/Tokyo",
        "locale": "ja",
        "csrf_token": "",
    }
    assert client.post("/profile", data=form, headers=en).status_code == 302, profile
    assert while_down("en") == "ja"
    form["locale"] = ""  # "as my browser says"
    assert client.post("/profile", data=form, headers=en).status_code == 302
    assert while_down("en") == "en" and while_down("ja") == "ja"

    assert client.post("/language", data={"lang": "en"}, headers=ja).status_code == 302
    assert while_down("ja") == "en"

    # Set on another device: the next page seen here takes it over.
    with app.app_context():
        db.session.execute(sa.update(User).values(locale="ja"))
        db.session.commit()
    assert client.get("/", headers=en).status_code == 200
    with client.session_transaction() as session:
        session.pop("lang")  # (the switch above also chose the page language)
    assert while_down("en") == "ja"

    assert client.post("/logout", headers=en).status_code == 302
    assert while_down("en") == "en"
