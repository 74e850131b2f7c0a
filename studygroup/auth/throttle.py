"""Login throttling that slows guessers down without locking owners out.

OWASP's "Slow Down Online Guessing Attacks with Device Cookies": a browser that has logged in
to an account holds a signed device cookie for it (studygroup.auth.devices) and is counted
against that cookie alone; other browsers meet a per-address limit and a per-account slow-down.
Counts live in the database (LoginThrottle, LoginFailure), so every process sees them, and are
taken under a row lock, so concurrent guesses take turns. No request access here.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.auth.devices import Device, nonce_for
from studygroup.auth.models import LoginFailure, LoginThrottle, User
from studygroup.db import insert_ignoring


class LoginThrottled(Exception):
    """This attempt must wait: too many failures from the address ("address"), or the
    account's attempts are being slowed down ("account"). `retry_after` is in seconds."""

    def __init__(self, reason: str, retry_after: int):
        super().__init__(reason, retry_after)
        self.reason = reason
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class LoginAttempt:
    """One counted attempt at an account's password (see `begin_attempt`)."""

    email: str
    address: str
    # The nonce of the browser's device cookie for this account when it vouched for the
    # attempt, and how many attempts that cookie has made in the window, this one included.
    device: str | None = None
    device_attempts: int = 0

    @property
    def trusted(self) -> bool:
        return self.device is not None


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    trusted: bool  # a device cookie for this account vouched for the browser
    device_locked: bool = False  # this failure used up the device cookie's attempts


def begin_attempt(
    db_session: Session,
    *,
    email: str,
    user_id: int | None,
    address: str,
    devices: list[Device] | None,
    now: datetime,
    config,
) -> LoginAttempt:
    """Count an attempt at the password of `email` before it is checked, following OWASP's
    "slow down online guessing with device cookies". Commits the count, so that every
    process sees it and concurrent guesses take turns.

    - A browser whose device cookie names this account (`user_id`) is counted against that
      cookie only: no address or account limit holds it up, so neither a busy shared network
      nor someone guessing at the account can lock its owner out. After
      LOGIN_MAX_FAILURES_PER_DEVICE failures in the window the cookie vouches no more.
    - Any other browser: LoginThrottled("address") once its address failed
      LOGIN_MAX_FAILURES_PER_ADDRESS times in the window; and the account's attempts are
      slowed down, never locked: after LOGIN_MAX_FAILURES_PER_ACCOUNT attempts each must wait
      twice as long as the one before, from LOGIN_SLOWDOWN_FIRST_SECONDS up to
      LOGIN_SLOWDOWN_MAX_SECONDS (LoginThrottled("account") until then).

    Attempts are forgotten after a quiet LOGIN_THROTTLE_WINDOW, and a right password resets
    them (`end_attempt`). `email` is normalized (lower-case) as accounts store it.
    """
    nonce = nonce_for(devices, user_id) if user_id is not None else None
    if nonce is not None:
        counted = _take_device_turn(db_session, nonce, now=now, config=config)
        if counted:
            db_session.commit()
            return LoginAttempt(email, address, nonce, counted)
    wait = _address_wait(db_session, address, now=now, config=config)
    if wait:
        raise LoginThrottled("address", wait)
    _take_account_turn(db_session, email, now=now, config=config)
    db_session.commit()
    return LoginAttempt(email, address)


def end_attempt(
    db_session: Session, attempt: LoginAttempt, *, succeeded: bool, now: datetime, config
) -> bool:
    """Record how the attempt went; the caller commits. A right password forgets the
    attempts of its kind (the cookie's, or the account's from untrusted browsers: a login
    with a device cookie leaves the slow-down on guessers in place). Returns True when this
    failure used up the device cookie's attempts."""
    if succeeded:
        key = _device_key(attempt.device) if attempt.trusted else _account_key(attempt.email)
        db_session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == key))
        db_session.execute(sa.delete(LoginFailure).where(LoginFailure.email == attempt.email))
        return False
    if attempt.trusted:
        return attempt.device_attempts >= config["LOGIN_MAX_FAILURES_PER_DEVICE"]
    db_session.add(LoginFailure(email=attempt.email, address=attempt.address[:64], created_at=now))
    return False


def _account_key(email: str) -> str:
    return f"account:{email}"


def _device_key(nonce: str | None) -> str:
    return f"device:{nonce}"


def slowdown(attempts: int, config) -> timedelta:
    """How long the account's next attempt from an untrusted browser waits after `attempts`."""
    over = attempts - config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    if over < 0:
        return timedelta(0)
    seconds = config["LOGIN_SLOWDOWN_FIRST_SECONDS"] * 2 ** min(over, 20)
    return timedelta(seconds=min(seconds, config["LOGIN_SLOWDOWN_MAX_SECONDS"]))


def _locked_counter(db_session: Session, key: str, *, now: datetime, window: timedelta):
    """The row of `key` (made if absent), locked until the transaction ends, and how many of
    its attempts still count (they are forgotten after a quiet window).

    PostgreSQL: SELECT ... FOR UPDATE, so concurrent attempts at one account queue here and
    each sees the count the one before it committed. SQLite: the INSERT has already taken
    the database's write lock, with the same effect."""
    insert_ignoring(db_session, LoginThrottle, {"key": key, "attempts": 0})
    row = db_session.scalar(
        sa.select(LoginThrottle)
        .where(LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counting = row.attempts if row.last_attempt_at and row.last_attempt_at > now - window else 0
    return row, counting


def _take_account_turn(db_session: Session, email: str, *, now: datetime, config) -> None:
    row, attempts = _locked_counter(
        db_session, _account_key(email), now=now, window=config["LOGIN_THROTTLE_WINDOW"]
    )
    if attempts and row.wait_until is not None and row.wait_until > now:
        raise LoginThrottled("account", math.ceil((row.wait_until - now).total_seconds()))
    row.attempts = attempts + 1
    row.last_attempt_at = now
    wait = slowdown(row.attempts, config)
    row.wait_until = now + wait if wait else None


def _take_device_turn(db_session: Session, nonce: str, *, now: datetime, config) -> int:
    """Count an attempt with this device cookie: its count, or 0 when it is locked out."""
    row, attempts = _locked_counter(
        db_session, _device_key(nonce), now=now, window=config["LOGIN_THROTTLE_WINDOW"]
    )
    if attempts >= config["LOGIN_MAX_FAILURES_PER_DEVICE"]:
        return 0
    row.attempts = attempts + 1
    row.last_attempt_at = now
    return row.attempts


def _address_wait(db_session: Session, address: str, *, now: datetime, config) -> int:
    """Seconds until the address has fewer than its limit of failures in the window (0: now)."""
    window, limit = config["LOGIN_THROTTLE_WINDOW"], config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    # The limit-th most recent failure: once it leaves the window, the address may try again.
    oldest_counted = db_session.scalar(
        sa.select(LoginFailure.created_at)
        .where(LoginFailure.address == address[:64], LoginFailure.created_at > now - window)
        .order_by(LoginFailure.created_at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    if oldest_counted is None:
        return 0
    return math.ceil((oldest_counted + window - now).total_seconds())


def forget_old_attempts(db_session: Session, *, now: datetime, config) -> int:
    """Delete failures and counters no rule reads any more (quiet for a whole window, no
    wait pending), so guessed addresses and emails do not pile up. Returns how many rows
    went; the caller commits."""
    since = now - config["LOGIN_THROTTLE_WINDOW"]
    failures = db_session.execute(sa.delete(LoginFailure).where(LoginFailure.created_at <= since))
    counters = db_session.execute(
        sa.delete(LoginThrottle).where(
            sa.or_(LoginThrottle.last_attempt_at.is_(None), LoginThrottle.last_attempt_at <= since),
            sa.or_(LoginThrottle.wait_until.is_(None), LoginThrottle.wait_until <= now),
        )
    )
    return failures.rowcount + counters.rowcount


def take_reset_turn(db_session: Session, address: str, *, now: datetime, config) -> int:
    """Count one "forgot your password?" ask from a network address: 0 when it may go on,
    else the seconds until it may (PASSWORD_RESET_MAX_PER_ADDRESS asks, forgotten after a
    quiet LOGIN_THROTTLE_WINDOW). Every ask counts, whether an account exists or not, so the
    answer says nothing about accounts. The caller commits."""
    window = config["LOGIN_THROTTLE_WINDOW"]
    row, asks = _locked_counter(db_session, f"reset:{address[:64]}", now=now, window=window)
    if asks >= config["PASSWORD_RESET_MAX_PER_ADDRESS"]:
        return max(1, math.ceil((row.last_attempt_at + window - now).total_seconds()))
    row.attempts = asks + 1
    row.last_attempt_at = now
    return 0
