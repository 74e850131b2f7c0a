"""Secret feed tokens that are never stored.

A token is an HMAC of a random salt under a server key (`CALENDAR_TOKEN_KEY`, by default
`SECRET_KEY`). The database keeps the salt and a SHA-256 of the token: a copy of the database
opens no feed, while the app can still show members their own link. A new salt ("reset my
calendar link") makes a new token, and the old URL stops working.
"""

import base64
import hashlib
import hmac
import re
import secrets

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.groups.models import Group

# Exactly what feed_token() makes: 32 bytes in unpadded base64url.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")

MEMBER = "member"
GROUP = "group"


def _key() -> bytes:
    return (
        current_app.config.get("CALENDAR_TOKEN_KEY") or current_app.config["SECRET_KEY"]
    ).encode()


def feed_token(kind: str, salt: str) -> str:
    digest = hmac.new(_key(), f"studygroup-calendar:{kind}:{salt}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _kind(owner: User | Group) -> str:
    return MEMBER if isinstance(owner, User) else GROUP


def reset_token(owner: User | Group) -> None:
    """A new token for this member's or group's feed; the old one stops working."""
    owner.calendar_token_salt = secrets.token_urlsafe(32)
    owner.calendar_token_hash = token_hash(feed_token(_kind(owner), owner.calendar_token_salt))


def token_of(owner: User | Group) -> str:
    return feed_token(_kind(owner), owner.calendar_token_salt or "")


def token_is_current(owner: User | Group) -> bool:
    """False after the token key changed: the link must be made anew (a POST) to work."""
    return token_hash(token_of(owner)) == owner.calendar_token_hash


def _find(db_session: Session, model, token: str):
    if not TOKEN_RE.fullmatch(token):
        return None
    wanted = token_hash(token)
    found = db_session.scalar(sa.select(model).where(model.calendar_token_hash == wanted))
    if found is None:
        return None
    # The index lookup compares hashes, which tell a guesser nothing. The token must also be
    # the one the current key makes from the row's salt (constant-time compare): after the key
    # changes, old links stop working, as a new key promises.
    if not hmac.compare_digest(token, feed_token(_kind(found), found.calendar_token_salt or "")):
        return None
    return found


def group_token_hash(token: str) -> str | None:
    """The stored form of a well-formed token (the feed's query compares it), else None."""
    return token_hash(token) if TOKEN_RE.fullmatch(token) else None


member_token_hash = group_token_hash


def member_by_token(db_session: Session, token: str) -> User | None:
    return _find(db_session, User, token)


def group_by_token(db_session: Session, token: str) -> Group | None:
    return _find(db_session, Group, token)


@event.listens_for(User, "before_insert")
@event.listens_for(Group, "before_insert")
def _give_new_rows_a_token(_mapper, _connection, owner) -> None:
    # Every member and group has a feed link from the start, however the row was made.
    if owner.calendar_token_hash is None:
        reset_token(owner)
