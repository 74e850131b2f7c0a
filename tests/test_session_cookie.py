"""The session cookie, verified once per process (studygroup.cookie_session): what a fresh
check would refuse is still refused, and a kept page's CSRF token, signed once per session's
secret, still posts only for that session."""

import re
import time
from datetime import timedelta

from studygroup.extensions import db
from tests import factories


def _logged_in(app, user_id: str):
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = user_id
    return client


def _member(app) -> str:
    with app.app_context():
        user_id = factories.Factories(db.session).user(locale="en").get_id()
        db.session.remove()
    return user_id


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_cookie_verified_once_is_refused_when_tampered_with(app_factory):
    app = app_factory()
    client = _logged_in(app, _member(app))
    assert client.get("/schedule").status_code == 200  # verified, and kept
    cookie = _session_cookie(client)

    body, _, signature = cookie.rpartition(".")
    # The first character: the last one's low bits are base64 padding, which decoding ignores,
    # so changing it can leave the signature's bytes (and the cookie) valid.
    forged = f"{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    client.set_cookie("session", forged)
    assert client.get("/schedule").status_code == 302  # to the login: nobody
    client.set_cookie("session", cookie)
    assert client.get("/schedule").status_code == 200


def test_a_cookie_verified_once_still_expires(app_factory):
    app = app_factory(PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    client = _logged_in(app, _member(app))
    for _ in range(3):  # until the cookie settles (the login fills it in): then kept verified
        assert client.get("/schedule").status_code == 200
    cookie = _session_cookie(client)
    assert client.get("/schedule").status_code == 200
    assert _session_cookie(client) == cookie
    time.sleep(2.1)
    assert client.get("/schedule").status_code == 302


def test_a_kept_pages_token_is_the_sessions_own(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    user_id = _member(app)
    phone, laptop = _logged_in(app, user_id), _logged_in(app, user_id)
    token_of = {}
    for client in (phone, laptop):
        pages = [client.get("/schedule").text for _ in range(3)]  # built once, then kept
        tokens = {re.search(r'name="csrf_token" value="([^"]+)"', p).group(1) for p in pages}
        assert len(tokens) == 1
        token_of[client] = tokens.pop()
    assert token_of[phone] != token_of[laptop]
    assert (
        phone.post("/language", data={"lang": "en", "csrf_token": token_of[laptop]}).status_code
        == 400
    )
    assert (
        phone.post("/language", data={"lang": "en", "csrf_token": token_of[phone]}).status_code
        == 302
    )
