"""Accounts: registration, password checks, login throttling. No request access here."""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from studygroup.auth.devices import Device
from studygroup.auth.models import Skill, User, new_session_token
from studygroup.auth.throttle import LoginResult, begin_attempt, end_attempt
from studygroup.config import DEFAULT_TIMEZONE
from studygroup.names import skill_key

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 64
MAX_SKILLS = 20


def normalize_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class HashCost:
    time_cost: int
    memory_cost: int  # KiB
    parallelism: int

    @classmethod
    def from_config(cls, config) -> "HashCost":
        return cls(
            config["PASSWORD_HASH_TIME_COST"],
            config["PASSWORD_HASH_MEMORY_COST"],
            config["PASSWORD_HASH_PARALLELISM"],
        )


@cache
def _hasher(cost: HashCost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost,
        memory_cost=cost.memory_cost,
        parallelism=cost.parallelism,
        type=Type.ID,
    )


def hash_password(password: str, cost: HashCost) -> str:
    return _hasher(cost).hash(password)


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from breach corpora (loaded with the
    # first password checked, not at start-up).
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", display_name: str = "") -> str | None:
    """Why a new password is refused, as a key for the form to translate, or None if fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long"
    lowered = password.lower()
    if lowered in _common_passwords():
        return "common"
    local_part = normalize_email(email).split("@")[0]
    if lowered in {local_part, normalize_email(email), display_name.strip().lower()}:
        return "personal"
    return None


def register_user(
    db_session: Session,
    *,
    email: str,
    password: str,
    display_name: str,
    cost: HashCost,
    locale: str | None = None,
    page_locale: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> User:
    """Create an account. The caller has checked that the email is free; the caller commits.

    `page_locale` is the language of the page the member registered on: what they read, and
    so what their emails speak while they choose no language of their own."""
    user = User(
        email=normalize_email(email),
        password_hash=hash_password(password, cost),
        display_name=display_name.strip(),
        locale=locale,
        last_locale=page_locale,
        timezone=timezone,
    )
    db_session.add(user)
    db_session.flush()
    return user


def remember_page_locale(db_session: Session, user: User, page_locale: str) -> bool:
    """Keep the language of the member's latest visit; True when it changed (the caller commits).

    Writes only on a change, so a visit costs no write. The row's `updated_at` and `revision`
    stay: they tell calendar feeds that something shown in them changed, and a member's page
    language is shown in no one else's feed (their own feed's cache key holds its language)."""
    if user.last_locale == page_locale:
        return False
    db_session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(last_locale=page_locale, updated_at=User.updated_at, revision=User.revision)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(user, "last_locale", page_locale)  # no flush: the row has it already
    return True


def email_taken(db_session: Session, email: str, *, except_user: User | None = None) -> bool:
    query = sa.select(User.id).where(User.email == normalize_email(email))
    if except_user is not None:
        query = query.where(User.id != except_user.id)
    return db_session.scalar(query) is not None


def authenticate(
    db_session: Session,
    *,
    email: str,
    password: str,
    address: str,
    now: datetime,
    config,
    devices: list[Device] | None = None,
) -> LoginResult:
    """Check an email and password, throttled as `begin_attempt` says (LoginThrottled before
    the password is checked). Rehashes the password when the stored hash is weaker than the
    configured cost. The caller commits (failures must be committed too)."""
    email = normalize_email(email)
    user = db_session.scalar(sa.select(User).where(User.email == email))
    attempt = begin_attempt(
        db_session,
        email=email,
        user_id=user.id if user else None,
        address=address,
        devices=devices,
        now=now,
        config=config,
    )
    cost = HashCost.from_config(config)
    hasher = _hasher(cost)
    try:
        if user is None:
            # Spend the same time as a real check, so timing does not reveal accounts.
            hasher.verify(_dummy_hash(cost), password + "x")
        else:
            hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        locked = end_attempt(db_session, attempt, succeeded=False, now=now, config=config)
        db_session.flush()
        return LoginResult(None, attempt.trusted, locked)
    if user is None:  # pragma: no cover - the dummy hash never matches
        return LoginResult(None, attempt.trusted)
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    end_attempt(db_session, attempt, succeeded=True, now=now, config=config)
    return LoginResult(user, attempt.trusted)


@cache
def _dummy_hash(cost: HashCost) -> str:
    return _hasher(cost).hash("dummy password for timing")


def check_password(user: User, password: str, cost: HashCost) -> bool:
    try:
        return _hasher(cost).verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(user: User, new_password: str, cost: HashCost) -> None:
    """Set a new password and end every other session of this user."""
    user.password_hash = hash_password(new_password, cost)
    end_all_sessions(user)


def end_all_sessions(user: User) -> None:
    """Invalidate every login cookie and remember cookie this user has, on every device."""
    user.session_token = new_session_token()


def parse_skills(text: str) -> list[str]:
    """Split "Python, SQL、インフラ" into distinct tags (one per `skill_key`), keeping the
    first spelling."""
    seen: dict[str, str] = {}
    for raw in text.replace("、", ",").replace("，", ",").split(","):
        name = " ".join(raw.split())[:40]
        if name and skill_key(name) not in seen:
            seen[skill_key(name)] = name
    return list(seen.values())


def set_skills(db_session: Session, user: User, names: list[str]) -> None:
    """Replace the user's tags, reusing the existing Skill row of each `skill_key` (case,
    width and kana type aside)."""
    keys = [skill_key(n) for n in names]
    existing = {s.key: s for s in db_session.scalars(sa.select(Skill).where(Skill.key.in_(keys)))}
    skills = []
    for name, key in zip(names, keys, strict=True):
        skill = existing.get(key)
        if skill is None:
            skill = Skill(name=name, key=key)
            db_session.add(skill)
            existing[key] = skill
        skills.append(skill)
    user.skills = skills
