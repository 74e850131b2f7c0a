"""Walks the URL map so a new route cannot forget CSRF or organizer checks."""

import io
import json
import logging
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from studygroup.apitokens.models import Scope
from studygroup.apitokens.services import create_token
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Membership
from studygroup.groups.role_types import role_types_of
from studygroup.introductions.models import Introduction, IntroductionRequest
from studygroup.participants.models import Participant, ParticipantQuestion, ParticipantStatus
from studygroup.sessions.models import RoleSlot
from studygroup.signups.models import PlaceOffer
from studygroup.signups.services import sign_up
from studygroup.thanks.models import ThanksNote
from studygroup.webhooks.models import Webhook

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def world(make):
    """A group with an organizer, a member, a session: ids to fill any route's arguments."""
    organizer = make.user("organizer@example.com")
    group = make.group(organizer, slug="world")
    member = make.member(group, make.user("member@example.com"))
    session = make.session(group)
    slot = db.session.scalar(sa.select(RoleSlot).where(RoleSlot.session_id == session.id))
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == member.id))
    place = sign_up(db.session, member=member, slot=slot, now=datetime.now(UTC))
    # A note as a row (the session is still to come, so no service would write one).
    note = ThanksNote(
        session_id=session.id, sender_id=member.id, recipient_id=organizer.id, body="Thanks!"
    )
    db.session.add(note)
    # An introduction of the member to a third person, and a request to the organizer.
    third = make.member(group, make.user("third@example.com"))
    introduction = Introduction(
        introducer_id=organizer.id, first_id=member.id, second_id=third.id, note="Meet!"
    )
    request = IntroductionRequest(requester_id=member.id, via_id=organizer.id, target_id=third.id)
    db.session.add_all([introduction, request])
    # The member offers their place to others (swaps).
    offer = PlaceOffer(assignment_id=place.id, created_at=datetime.now(UTC))
    db.session.add(offer)
    # The member registered as a participant, and the session asks them a question.
    participant = Participant(
        session_id=session.id, user_id=member.id, status=ParticipantStatus.REGISTERED
    )
    question = ParticipantQuestion(session_id=session.id, text="Your company?")
    db.session.add_all([participant, question])
    session.participant_capacity = 10  # it takes participants: the member pages answer too
    # The organizer's personal API token.
    token, _raw = create_token(
        db.session, organizer, name="script", scopes={Scope.READ}, expires_at=None, now=utcnow()
    )
    # A webhook of the group (organizers' pages; no request leaves: nothing is delivered).
    webhook = Webhook(
        group_id=group.id,
        url="https://receiver.invalid/hook",
        events=[],
        created_by_id=organizer.id,
    )
    db.session.add(webhook)
    db.session.commit()
    return {
        "organizer": organizer,
        "member": member,
        "args": {
            "slug": group.slug,
            "session_id": session.id,
            "slot_id": slot.id,
            "role_id": role_types_of(db.session, group)[0].id,
            "membership_id": membership.id,
            "token": group.invite_token,
            "place_id": place.id,
            "user_id": member.id,
            "other_id": organizer.id,
            "note_id": note.id,
            "introduction_id": introduction.id,
            "request_id": request.id,
            "offer_id": offer.id,
            "participant_id": participant.id,
            "question_id": question.id,
            "token_id": token.id,
            "webhook_id": webhook.id,
            "year": datetime.now(UTC).year,
        },
    }


def snapshot():
    """Every row of every table (but login failures and the API's request counts, kept for
    every request), to show that nothing changed."""
    db.session.expire_all()
    return {
        t.name: db.session.execute(sa.select(t)).all()
        for t in db.metadata.sorted_tables
        if t.name not in ("login_failure", "api_rate_window")
    }


def _url(rule, args):
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:\w+:)?{name}>", str(args[name]), url)
    return url


def _rules(app, methods):
    return [r for r in app.url_map.iter_rules() if r.methods & methods and r.endpoint != "static"]


def test_every_state_changing_route_refuses_a_request_without_csrf_token(app_factory, world):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    # The JSON API takes no cookie and so needs no CSRF token: a bearer token or nothing.
    api_rules = [r for r in _rules(app, STATE_CHANGING) if r.endpoint.startswith("api.")]
    rules = [r for r in _rules(app, STATE_CHANGING) if not r.endpoint.startswith("api.")]
    assert len(rules) >= 15  # the walk really covers the app
    assert {"auth.forgot_password", "auth.reset_password"} <= {r.endpoint for r in rules}
    for as_user in (None, world["organizer"]):
        if as_user is not None:
            with client.session_transaction() as session:
                session["_user_id"] = as_user.get_id()
        for rule in rules:
            response = client.post(_url(rule, world["args"]), data={"x": "1"})
            assert response.status_code == 400, rule.rule
            assert "The form has expired" in response.get_data(as_text=True)
    # A logged-in browser's cookie authorizes no API write, JSON or not.
    before = snapshot()
    for rule in api_rules:
        for body in ({"data": {"x": "1"}}, {"json": {}}):
            method = "POST" if "POST" in rule.methods else sorted(rule.methods & STATE_CHANGING)[0]
            response = client.open(_url(rule, world["args"]), method=method, **body)
            assert response.status_code in (401, 415), rule.rule
    assert api_rules and snapshot() == before


def test_no_get_route_changes_state(client, auth, world, app):
    """GET never writes: every GET page leaves the database as it was."""

    auth.login_as(world["organizer"])
    before = snapshot()
    for rule in _rules(app, {"GET"}):
        client.get(_url(rule, world["args"]))
    assert snapshot() == before


def test_organizer_routes_refuse_members_and_anonymous_users(client, auth, app, world):
    organizer_rules = [
        r
        for r in app.url_map.iter_rules()
        if getattr(app.view_functions[r.endpoint], "organizer_only", False)
    ]
    assert len(organizer_rules) >= 12
    for rule in organizer_rules:
        url = _url(rule, world["args"])
        method = "GET" if "GET" in rule.methods else "POST"
        anonymous = client.open(url, method=method)
        assert anonymous.status_code == 302, url
        assert anonymous.headers["Location"].startswith("/login")
    before = snapshot()
    auth.login_as(world["member"])
    for rule in organizer_rules:
        url = _url(rule, world["args"])
        method = "GET" if "GET" in rule.methods else "POST"
        assert client.open(url, method=method).status_code == 403, url
    # Nothing changed on the way.
    assert snapshot() == before


def test_security_headers_on_html(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for directive in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]:
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # not in development
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_sets_hsts_and_secure_cookies(app_factory):
    app = app_factory(ENV_NAME="production", PUBLIC_BASE_URL="https://sg.example")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in response.headers["Set-Cookie"]


def test_errors_are_friendly_and_reveal_nothing(app_factory):
    app = app_factory()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert "Page not found" in missing.get_data(as_text=True)
    assert client.get("/no/such", headers={"Accept": "application/json"}).json == {
        "error": "Page not found",
        "message": "There is no page at this address.",
    }

    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "secret internals" not in body and "Traceback" not in body
    assert "Werkzeug" not in response.headers.get("Server", "")


def test_request_body_size_is_limited(client):
    response = client.post("/login", data={"email": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_healthz_touches_nothing_and_readyz_checks_the_database(client, count_queries, app_factory):
    with count_queries() as q:
        assert client.get("/healthz").json == {"status": "ok"}
    assert q.count == 0
    assert client.get("/readyz").json == {"status": "ok", "database": "ok"}
    broken = app_factory("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    broken = broken.test_client()
    assert broken.get("/healthz").status_code == 200
    response = broken.get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_logs_are_json_lines_without_secrets(app, client, auth, make):
    app.logger.setLevel(logging.INFO)
    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    group = make.group()
    make.user("member@example.com")
    auth.login(password="the wrong password")
    client.get(f"/g/{group.slug}/invite/{group.invite_token}?utm=abc")
    err = stream.getvalue()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    paths = [line.get("path") for line in lines]
    assert "/login" in paths
    events = [line["event"] for line in lines if line["message"] == "security event"]
    assert events == ["login_failed"]
    assert "member@example.com" not in err  # failed logins are logged by a hash
    assert f"/g/{group.slug}/invite/[redacted]" in paths
    assert group.invite_token not in err
    assert "the wrong password" not in err
    assert "utm" not in err
    assert "session=" not in err
