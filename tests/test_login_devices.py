"""Login throttling that slows guessers down without locking owners out (issue 9, item 20):
device cookies as OWASP describes them, a per-address limit for unknown browsers and a
per-account slow-down instead of a lock."""

import io
import json
import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.auth import devices
from studygroup.auth.models import LoginFailure, LoginThrottle
from studygroup.auth.services import authenticate
from studygroup.auth.throttle import LoginThrottled, slowdown
from studygroup.extensions import db
from tests.factories import PASSWORD

OWNER = "owner@example.com"


def log_in(client, email=OWNER, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def device_cookie(client):
    cookie = client.get_cookie(devices.COOKIE_NAME)
    return cookie.value if cookie else None


def time_passes(*, seconds: int) -> None:
    """Move every stored login time back, as if `seconds` had passed."""
    for row in db.session.scalars(sa.select(LoginThrottle)):
        row.last_attempt_at -= timedelta(seconds=seconds)
        row.wait_until = row.wait_until and row.wait_until - timedelta(seconds=seconds)
    for row in db.session.scalars(sa.select(LoginFailure)):
        row.created_at -= timedelta(seconds=seconds)
    db.session.commit()


@pytest.fixture
def owner_browser(app, make):
    """The owner's browser: it logged in once (and out again), so it holds a device cookie."""
    make.user(OWNER)
    browser = app.test_client()
    assert log_in(browser).status_code == 302
    assert device_cookie(browser)
    browser.post("/logout")
    return browser


def test_fifty_failures_from_one_address_do_not_stop_a_browser_that_logged_in_before(
    app, owner_browser
):
    attacker = app.test_client()  # the same address: the venue's shared Wi-Fi
    for n in range(app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        log_in(attacker, f"guess{n}@example.com", "wrong password")
    newcomer = app.test_client()
    refused = log_in(newcomer)
    assert refused.status_code == 429
    assert "Too many failed logins from this network" in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert log_in(owner_browser).status_code == 302


def test_someone_guessing_at_an_account_cannot_stop_its_owner(app, owner_browser):
    attacker = app.test_client()
    answers = [log_in(attacker, OWNER, f"guess {n}").status_code for n in range(30)]
    assert answers[:5] == [200] * 5  # five free guesses, then each must wait
    assert set(answers[5:]) == {429}
    assert log_in(owner_browser).status_code == 302
    # The owner's login does not lift the slow-down on the guesser.
    assert log_in(attacker, OWNER, "one more guess").status_code == 429


def test_an_unknown_browser_is_slowed_down_and_told_how_long_not_locked_out(app, make):
    make.user(OWNER)
    browser = app.test_client()
    for n in range(5):
        log_in(browser, OWNER, f"guess {n}")
    refused = log_in(browser)
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert f"Try again in {wait} seconds." in refused.get_data(as_text=True)
    assert wait <= app.config["LOGIN_SLOWDOWN_FIRST_SECONDS"]
    # After the wait the right password works: a slow-down, not a lock.
    time_passes(seconds=wait)
    assert log_in(browser).status_code == 302


def test_guesses_from_unknown_browsers_are_counted_in_a_window(app, make):
    """An attacker who tries again the moment they may gets five guesses, then waits twice as
    long each time (15 s, 30 s, ... up to 5 min): 15 guesses in the first quarter of an hour,
    then one each 5 minutes. Each wait it is told is exactly long enough."""
    make.user(OWNER)
    start = now = datetime.now(UTC)
    allowed, refused_before = [], False
    while now < start + timedelta(hours=2):
        try:
            authenticate(
                db.session,
                email=OWNER,
                password="guess",
                address=f"198.51.100.{len(allowed) % 250}",  # a botnet: no address limit
                now=now,
                config=app.config,
            )
        except LoginThrottled as throttled:
            db.session.rollback()
            assert not refused_before, "refused again after the wait it was told"
            refused_before = True
            now += timedelta(seconds=throttled.retry_after)
            continue
        db.session.commit()
        allowed.append(now)
        refused_before = False
        now += timedelta(seconds=1)
    seconds = [round((t - start).total_seconds()) for t in allowed]
    gaps = [b - a for a, b in zip(seconds, seconds[1:], strict=False)]
    assert gaps[:4] == [1, 1, 1, 1]
    assert gaps[4:9] == [15, 30, 60, 120, 240]
    assert set(gaps[9:]) == {300}
    assert len([s for s in seconds if s < 15 * 60]) == 5 + 5 + 1
    assert len([s for s in seconds if 3600 <= s < 7200]) == 12


@pytest.mark.parametrize("kind", ["other account", "forged", "other key", "expired"])
def test_a_forged_or_foreign_device_cookie_gives_nothing(app, make, kind):
    owner = make.user(OWNER)
    other = make.user("other@example.com")
    now = datetime.now(UTC)
    key = app.config["SECRET_KEY"]
    value = {
        "other account": devices.cookie_with([], other.id, key=key, now=now),
        "forged": devices.cookie_with([], owner.id, key=key, now=now)[:-2] + "AA",
        "other key": devices.cookie_with([], owner.id, key="not the key", now=now),
        "expired": devices.cookie_with([], owner.id, key=key, now=now - timedelta(days=400)),
    }[kind]
    browser = app.test_client()
    browser.set_cookie(devices.COOKIE_NAME, value)
    for n in range(5):
        log_in(browser, OWNER, f"guess {n}")
    assert log_in(browser).status_code == 429


def test_a_device_cookie_that_guesses_wrong_is_no_longer_trusted(app, owner_browser):
    limit = app.config["LOGIN_MAX_FAILURES_PER_DEVICE"]
    for n in range(limit):
        assert log_in(owner_browser, OWNER, f"guess {n}").status_code == 200
    # Now it counts as an unknown browser, and this account has had no untrusted attempts...
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure))
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 1
    db.session.add(
        LoginFailure(email="x@example.com", address="127.0.0.1", created_at=datetime.now(UTC))
    )
    db.session.commit()
    # ...so the address limit holds it up like any other browser there.
    assert log_in(owner_browser).status_code == 429


def test_device_cookie_flags(app, make, app_factory):
    make.user(OWNER)
    response = log_in(app.test_client())
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(devices.COOKIE_NAME + "=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # development and tests serve plain http
    assert "Max-Age=31536000" in cookie
    production = app_factory(ENV_NAME="production", PUBLIC_BASE_URL="https://sg.example")
    response = production.test_client().post(
        "/login", data={"email": OWNER, "password": PASSWORD}, base_url="https://sg.example"
    )
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(devices.COOKIE_NAME + "=")
    )
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_a_device_cookie_names_few_accounts_and_no_secret(app, make):
    users = [make.user() for _ in range(7)]
    browser = app.test_client()
    for user in users:
        browser.post("/login", data={"email": user.email, "password": PASSWORD})
        browser.post("/logout")
    found = devices.read_cookie(
        device_cookie(browser),
        key=app.config["SECRET_KEY"],
        now=datetime.now(UTC),
        lifetime=timedelta(days=365),
    )
    assert [d.user_id for d in found] == [u.id for u in reversed(users)][: devices.MAX_ACCOUNTS]
    assert PASSWORD not in device_cookie(browser)


def test_parallel_guesses_take_turns(app, make):
    """Guesses sent at once are counted one after the other: no burst beats the count."""
    make.user(OWNER)
    answers: list[int] = []
    barrier = threading.Barrier(8)

    def guess(n):
        client = app.test_client()
        barrier.wait(timeout=30)
        answers.append(log_in(client, OWNER, f"parallel guess {n}").status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200] * 5 + [429] * 3


def test_slowdown_doubles_up_to_the_cap(app):
    waits = [slowdown(n, app.config).total_seconds() for n in range(1, 13)]
    assert waits == [0, 0, 0, 0, 15, 30, 60, 120, 240, 300, 300, 300]


def test_the_owner_changes_the_password_while_someone_guesses_at_the_account(app, owner_browser):
    attacker = app.test_client()
    for n in range(10):
        log_in(attacker, OWNER, f"guess {n}")
    assert log_in(owner_browser).status_code == 302
    changed = owner_browser.post(
        "/password", data={"current_password": PASSWORD, "new_password": "a new pass phrase 42"}
    )
    assert changed.status_code == 302


def test_registering_gives_the_browser_a_device_cookie(app, client):
    response = client.post(
        "/register",
        data={
            "display_name": "New",
            "email": "new@example.com",
            "password": "a long pass phrase 9",
        },
    )
    assert response.status_code == 302
    found = devices.read_cookie(
        device_cookie(client),
        key=app.config["SECRET_KEY"],
        now=datetime.now(UTC),
        lifetime=timedelta(days=365),
    )
    assert len(found) == 1


def test_security_events_say_what_happened_without_secrets(app, owner_browser):
    app.logger.setLevel(logging.INFO)
    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    cookie = device_cookie(owner_browser)
    attacker = app.test_client()
    for n in range(6):
        log_in(attacker, OWNER, f"guess {n}")
    forged = app.test_client()
    forged.set_cookie(devices.COOKIE_NAME, cookie[:-3] + "xyz")
    log_in(forged, "someone@example.com", "another guess")
    for n in range(app.config["LOGIN_MAX_FAILURES_PER_DEVICE"]):
        log_in(owner_browser, OWNER, f"owner typo {n}")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    events = [line for line in lines if line["message"] == "security event"]
    kinds = [e["event"] for e in events]
    assert kinds.count("login_failed") == 5 + 1 + app.config["LOGIN_MAX_FAILURES_PER_DEVICE"]
    throttled = next(e for e in events if e["event"] == "login_throttled")
    assert throttled["reason"] == "account" and throttled["retry_after"] > 0
    assert "device_cookie_rejected" in kinds
    assert "device_cookie_locked" in kinds
    assert [e["trusted_device"] for e in events if e["event"] == "login_failed"][-1] is True
    log = stream.getvalue()
    for secret in (OWNER, "guess 0", "owner typo", cookie, cookie.split(".")[0]):
        assert secret not in log


def test_the_cron_job_forgets_attempts_no_rule_reads_any_more(app, make, runner):
    """Guessed emails and addresses leave rows; `send-reminders` (cron) deletes those quiet for
    a whole window, and keeps what still slows someone down."""
    make.user(OWNER)
    browser = app.test_client()
    for n in range(3):
        log_in(browser, f"nobody{n}@example.com", "guess")
    for n in range(5):
        log_in(browser, OWNER, f"guess {n}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 8
    kept = runner.invoke(args=["send-reminders"])
    assert "old login records deleted: 0" in kept.output
    window = app.config["LOGIN_THROTTLE_WINDOW"]
    time_passes(seconds=int(window.total_seconds()) + 1)
    # A wait still running keeps its counter (the slow-down must hold), whatever its age.
    owner = db.session.get(LoginThrottle, f"account:{OWNER}")
    assert owner is not None
    owner.wait_until = datetime.now(UTC) + timedelta(minutes=1)
    db.session.commit()
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0
    assert [row.key for row in db.session.scalars(sa.select(LoginThrottle))] == [f"account:{OWNER}"]
