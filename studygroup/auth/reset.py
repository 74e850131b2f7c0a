"""Links that let a member set a new password: "forgot your password?" (short-lived) and the
welcome of someone registered at reception (longer). No request access here.

A link is an itsdangerous token, signed with the app's SECRET_KEY under a salt of its own, over
the member's id, what the link is for, and a fingerprint of their password hash and session
token. Setting a password changes both, so a link works once; logging out everywhere also
ends it. Nothing is stored: the outbox copy of the email is the only trace.
"""

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.auth.services import change_password, normalize_email
from studygroup.db import lock_row
from studygroup.mail.models import OutboundEmail
from studygroup.mail.services import compose_password_email, queue_composed
from studygroup.urls import external_url

SALT = "studygroup.password-link"


class Purpose(enum.StrEnum):
    RESET = "reset"  # the member asked ("forgot your password?")
    WELCOME = "welcome"  # registered at reception: set a password for the first time


# How long a link works.
LIFETIMES = {Purpose.RESET: timedelta(hours=2), Purpose.WELCOME: timedelta(days=7)}


class LinkProblem(enum.StrEnum):
    EXPIRED = "expired"
    USED = "used"  # the password (or the logins) changed since the link was made
    BROKEN = "broken"  # not one of ours: cut short, altered, or for an account now gone


class PasswordLinkRefused(Exception):
    def __init__(self, problem: LinkProblem, purpose: Purpose | None = None):
        super().__init__(problem)
        self.problem = problem
        self.purpose = purpose


class _SignerAt(TimestampSigner):
    """A timestamp signer whose clock is the `now` it is given, so tests and callers pass the
    time instead of freezing it."""

    def __init__(self, *args, now: int, **kwargs):
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return self._now


def _serializer(secret_key: str, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret_key,
        salt=SALT,
        signer=_SignerAt,
        signer_kwargs={"now": int(now.timestamp())},
    )


def _fingerprint(user: User) -> str:
    # Readable in the link (itsdangerous signs, it does not encrypt): a short hash only.
    material = f"{user.id}\0{user.password_hash}\0{user.session_token}".encode()
    return hashlib.sha256(material).hexdigest()[:24]


def password_link_token(user: User, *, purpose: Purpose, secret_key: str, now: datetime) -> str:
    """The token of a link that lets `user` set a new password, valid for LIFETIMES[purpose]
    from `now` and until their password or session token changes."""
    return _serializer(secret_key, now).dumps([user.id, purpose.value, _fingerprint(user)])


@dataclass(frozen=True)
class PasswordLink:
    user: User
    purpose: Purpose


def read_password_link(
    db_session: Session, token: str, *, secret_key: str, now: datetime
) -> PasswordLink:
    """The member and purpose of a link's token at `now`, or PasswordLinkRefused saying why
    (expired, used, broken). Reads one row; never raises anything else for any input."""
    serializer = _serializer(secret_key, now)
    longest = max(LIFETIMES.values())
    try:
        # The longest lifetime first; the purpose (signed) then says which applies.
        payload, signed_at = serializer.loads(
            token, max_age=longest.total_seconds(), return_timestamp=True
        )
    except SignatureExpired:
        return _refuse(LinkProblem.EXPIRED)
    except (BadSignature, ValueError, TypeError, UnicodeError):
        return _refuse(LinkProblem.BROKEN)
    if not (isinstance(payload, list) and len(payload) == 3):
        return _refuse(LinkProblem.BROKEN)
    user_id, purpose, fingerprint = payload
    try:
        purpose = Purpose(purpose)
    except ValueError:
        return _refuse(LinkProblem.BROKEN)
    if now - signed_at > LIFETIMES[purpose]:
        return _refuse(LinkProblem.EXPIRED, purpose)
    whole_id = isinstance(user_id, int) and not isinstance(user_id, bool)
    if not whole_id or not isinstance(fingerprint, str):
        return _refuse(LinkProblem.BROKEN, purpose)
    user = db_session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None:
        return _refuse(LinkProblem.BROKEN, purpose)
    if not hmac.compare_digest(fingerprint, _fingerprint(user)):
        return _refuse(LinkProblem.USED, purpose)
    return PasswordLink(user, purpose)


def _refuse(problem: LinkProblem, purpose: Purpose | None = None):
    raise PasswordLinkRefused(problem, purpose)


# --- asking for a link ----------------------------------------------------------------------

# An account gets at most this many reset emails an hour, however many are asked for: a
# stranger cannot fill someone's inbox. Counted in the outbox, which keeps every message.
RESET_EMAILS_PER_HOUR = 3


def account_for_reset(db_session: Session, email: str) -> User | None:
    return db_session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def reset_emails_left(db_session: Session, user: User, *, now: datetime) -> int:
    """How many more reset emails `user` may be sent this hour (0: the ask is ignored)."""
    sent = db_session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboundEmail)
        .where(
            OutboundEmail.user_id == user.id,
            OutboundEmail.kind == "password_reset",
            OutboundEmail.created_at > now - timedelta(hours=1),
        )
    )
    return max(0, RESET_EMAILS_PER_HOUR - sent)


def _link_url(user: User, purpose: Purpose, *, secret_key: str, now: datetime) -> str:
    token = password_link_token(user, purpose=purpose, secret_key=secret_key, now=now)
    return external_url("auth.reset_password", token=token)


def queue_reset_email(
    db_session: Session, user: User, *, secret_key: str, now: datetime
) -> OutboundEmail | None:
    """Queue the "set a new password" email for `user`, unless they had RESET_EMAILS_PER_HOUR
    this hour (None then: the asker is told the same either way). The caller commits."""
    if not reset_emails_left(db_session, user, now=now):
        return None
    message = compose_password_email(
        user=user,
        kind="password_reset",
        now=now,
        link_url=_link_url(user, Purpose.RESET, secret_key=secret_key, now=now),
        valid_for=LIFETIMES[Purpose.RESET],
    )
    return queue_composed(db_session, message)


def queue_welcome_email(
    db_session: Session, user: User, *, session, participant, secret_key: str, now: datetime
) -> OutboundEmail | None:
    """Queue the welcome of someone registered at reception: the session, their code, and a
    link to choose their password (valid LIFETIMES[WELCOME]). The caller commits."""
    message = compose_password_email(
        user=user,
        kind="walk_in_welcome",
        now=now,
        link_url=_link_url(user, Purpose.WELCOME, secret_key=secret_key, now=now),
        valid_for=LIFETIMES[Purpose.WELCOME],
        session=session,
        participant=participant,
    )
    return queue_composed(db_session, message)


def set_password_with_link(
    db_session: Session, token: str, new_password: str, *, secret_key: str, now: datetime, cost
) -> PasswordLink:
    """Set the password of the link's member and end their other logins (a new session
    token), which uses the link up. Under the member's row lock, so two posts of one link
    (a double click, two tabs) set it once: the second finds the link used
    (PasswordLinkRefused). The caller commits."""
    link = read_password_link(db_session, token, secret_key=secret_key, now=now)
    lock_row(db_session, User, link.user.id)  # fresh: a post that won meanwhile shows here
    link = read_password_link(db_session, token, secret_key=secret_key, now=now)
    change_password(link.user, new_password, cost)
    db_session.flush()
    return link
