"""/profile/tokens, the `flask api-token` command and tokens kept out of the logs."""

import io
import json
import logging
import re
from datetime import timedelta

import sqlalchemy as sa

from studygroup.apitokens.models import ApiToken, Scope
from studygroup.apitokens.services import authenticate, create_token, hash_token
from studygroup.db import utcnow
from studygroup.extensions import db

RAW = re.compile(r'id="new-token"[^>]*value="(sg_[A-Za-z0-9_-]+)"')


def _make(client, **form):
    data = {"name": "calendar script", "scopes": ["read"], "expiry": "90", **form}
    return client.post("/profile/tokens", data=data)


def test_the_profile_page_says_what_tokens_are_for(client, auth, make):
    auth.login_as(make.user())
    page = client.get("/profile").get_data(as_text=True)
    assert 'href="/profile/tokens"' in page
    assert "scripts and apps" in page


def test_a_token_is_made_and_shown_once(app, client, auth, make):
    user = make.user()
    auth.login_as(user)
    page = client.get("/profile/tokens").get_data(as_text=True)
    assert "You have no API tokens yet." in page
    assert 'href="/api/v1/docs"' in page  # the reference is reachable from here
    assert 'value="organize"' not in page  # organizes no group

    response = _make(client, scopes=["read", "write"], expiry="30")
    assert response.status_code == 200  # shown in the POST's answer, not after a redirect
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    raw = RAW.search(page).group(1)
    assert "it is not shown again" in page
    assert 'data-copy="new-token"' in page
    with client.session_transaction() as session:
        assert raw not in json.dumps(dict(session), default=str)
    assert raw not in response.headers.get("Set-Cookie", "")

    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.secret_hash == hash_token(raw)
    assert token.name == "calendar script"
    assert token.scope_set == {Scope.READ, Scope.WRITE}
    assert timedelta(days=29, hours=23) < token.expires_at - token.created_at <= timedelta(days=30)
    assert f"{token.prefix}…" in page
    assert authenticate(db.session, f"Bearer {raw}", now=utcnow()).user_id == user.id

    again = client.get("/profile/tokens").get_data(as_text=True)
    assert raw not in again and 'id="new-token"' not in again
    assert f"{token.prefix}…" in again and "calendar script" in again


def test_never_expiring_and_mistakes_said_next_to_the_field(client, auth, make):
    user = make.user()
    auth.login_as(user)
    _make(client, expiry="never")
    assert db.session.scalar(sa.select(ApiToken.expires_at)) is None

    for form, message in (
        ({"name": "  "}, "Please fill this in."),
        ({"name": "x" * 81}, "80"),
        ({"scopes": []}, "Choose at least one."),
        (
            {"scopes": ["read", "organize"]},
            "Choose among the scopes offered here.",
        ),  # offered only to organizers
        ({"expiry": "7"}, "Not a valid choice"),
    ):
        response = _make(client, **form)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert message in page, form
        assert 'id="new-token"' not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_organize_is_offered_to_organizers(client, auth, make):
    organizer = make.user()
    make.group(organizer)
    auth.login_as(organizer)
    assert 'value="organize"' in client.get("/profile/tokens").get_data(as_text=True)
    _make(client, scopes=["read", "organize"])
    token = db.session.scalar(sa.select(ApiToken))
    assert token.scope_set == {Scope.READ, Scope.ORGANIZE}


def test_revoke_asks_first_then_revokes_and_keeps_the_row(client, auth, make):
    user = make.user()
    auth.login_as(user)
    raw = RAW.search(_make(client).get_data(as_text=True)).group(1)
    token = db.session.scalar(sa.select(ApiToken))
    url = f"/profile/tokens/{token.id}/revoke"
    assert url in client.get("/profile/tokens").get_data(as_text=True)

    page = client.get(url).get_data(as_text=True)
    assert "Revoke “calendar script”?" in page and 'method="post"' in page
    assert db.session.get(ApiToken, token.id).revoked_at is None  # a GET changes nothing

    response = client.post(url, follow_redirects=True)
    assert "no longer works" in response.get_data(as_text=True)
    revoked = db.session.get(ApiToken, token.id)
    assert revoked.revoked_at is not None
    page = client.get("/profile/tokens").get_data(as_text=True)
    assert "Revoked" in page and url not in page
    assert client.post(url).status_code == 302  # twice: nothing more happens
    assert db.session.get(ApiToken, token.id).revoked_at == revoked.revoked_at
    assert "already" in client.get(url).get_data(as_text=True)
    assert _refused(raw) == "revoked_token"


def _refused(raw):
    from studygroup.apitokens.services import TokenRefused

    try:
        authenticate(db.session, f"Bearer {raw}", now=utcnow())
    except TokenRefused as refused:
        return refused.code
    return None


def test_another_members_token_is_a_404(client, auth, make):
    owner = make.user()
    token, _raw = create_token(
        db.session, owner, name="mine", scopes={Scope.READ}, expires_at=None, now=utcnow()
    )
    db.session.commit()
    auth.login_as(make.user())
    assert client.get(f"/profile/tokens/{token.id}/revoke").status_code == 404
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 404
    assert client.get("/profile/tokens/999999/revoke").status_code == 404
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert "mine" not in client.get("/profile/tokens").get_data(as_text=True)


def test_logged_out_visitors_are_sent_to_log_in(client, make):
    assert client.get("/profile/tokens").status_code == 302
    assert client.post("/profile/tokens/1/revoke").status_code == 302


def test_the_page_in_japanese(client, auth, make):
    user = make.user(locale="ja")
    auth.login_as(user)
    page = _make(client).get_data(as_text=True)
    assert "API トークン" in page
    assert "二度と表示されません" in page


def test_the_page_costs_few_statements(client, auth, make, count_queries):
    user = make.user()
    auth.login_as(user)
    for n in range(5):
        _make(client, name=f"token {n}")
    with count_queries() as queries:
        assert client.get("/profile/tokens").status_code == 200
    assert queries.count <= 3  # the member, whether they organize, the tokens


# --- the command line ----------------------------------------------------------------------


def test_the_command_prints_only_the_token(app, make):
    user = make.user("script@example.com")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["api-token", "create", "--email", "Script@Example.com", "--name", "demo"]
    )
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert re.fullmatch(r"sg_[A-Za-z0-9_-]{43}", raw)
    bearer = authenticate(db.session, f"Bearer {raw}", now=utcnow())
    assert bearer.user_id == user.id and bearer.scopes == {Scope.READ}
    assert db.session.get(ApiToken, bearer.token_id).expires_at is None

    result = runner.invoke(
        args=["api-token", "create", "--email", user.email, "--name", "w"]
        + ["--scopes", "read,write", "--days", "7"]
    )
    token = db.session.get(
        ApiToken, authenticate(db.session, f"Bearer {result.stdout.strip()}", now=utcnow()).token_id
    )
    assert token.scope_set == {Scope.READ, Scope.WRITE}
    assert token.expires_at - token.created_at == timedelta(days=7)


def test_the_command_refuses_clearly(app, make):
    make.user("script@example.com")
    runner = app.test_cli_runner()
    for args, message in (
        (["--email", "nobody@example.com", "--name", "x"], "No member"),
        (["--email", "script@example.com", "--name", "x", "--scopes", "admin"], "--scopes"),
        (["--email", "script@example.com", "--name", "x", "--scopes", "organize"], "organizes"),
        (["--email", "script@example.com", "--name", " "], "--name"),
    ):
        result = runner.invoke(args=["api-token", "create", *args])
        assert result.exit_code != 0
        assert message in result.stderr
        assert result.stdout == ""
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


# --- logs ----------------------------------------------------------------------------------


def test_tokens_never_reach_the_logs(app, client, auth, make):
    app.logger.setLevel(logging.INFO)
    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    user = make.user()
    auth.login_as(user)
    raw = RAW.search(_make(client).get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {raw}"}
    client.get("/profile/tokens", headers=headers)
    client.get(f"/profile/tokens?access_token={raw}&token={raw}", headers=headers)
    client.get(f"/no/such/page/{raw}")  # a 404: its path is logged
    client.get(f"/g/{raw}")  # a route's argument
    app.logger.warning("a message that quotes %s by mistake", f"Bearer {raw}")
    logged = stream.getvalue()
    lines = [json.loads(line) for line in logged.splitlines()]
    assert len([line for line in lines if line["message"] == "request"]) >= 5
    assert raw not in logged and raw[3:] not in logged and raw[3:20] not in logged
    assert "Bearer sg_[redacted]" in logged
    assert "access_token" not in logged and "Authorization" not in logged
    events = [line.get("event") for line in lines if line["message"] == "security event"]
    assert events == ["api_token_created"]
