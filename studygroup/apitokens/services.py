"""Personal API tokens: made, checked, listed and revoked. No request access here: the
profile page, the CLI and the API pass in what they read.

A token is "sg_" and 32 random bytes (URL-safe base64). It is shown to its member once;
only its SHA-256 is stored, so a copy of the database does not hold a usable token.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.apitokens.models import ApiToken, Scope, format_scopes, parse_scopes
from studygroup.auth.models import User
from studygroup.groups.models import MemberRole, Membership, MembershipStatus

TOKEN_PREFIX = "sg_"  # noqa: S105 (what every token starts with, not a secret)
SHOWN_PREFIX_LENGTH = 12  # "sg_" and 9 characters, in lists
NAME_MAX_LENGTH = 80
# last_used_at is written at most this often per token: a busy script costs no write a request.
LAST_USED_PRECISION = timedelta(seconds=60)
# "sg_" and URL-safe base64 of 32 bytes (43 characters); a little slack for longer ones.
_TOKEN = re.compile(r"sg_[A-Za-z0-9_-]{40,100}")


@dataclass(frozen=True)
class Bearer:
    """Who a request's token speaks for, and what it may do."""

    token_id: int
    user_id: int
    scopes: frozenset[Scope]


class TokenRefused(Exception):
    """The request's Authorization header does not name a token that works now.

    `code`: missing_token, malformed_token, invalid_token, expired_token or revoked_token;
    `message`: for the client, in the request's language (a lazy string)."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


_REFUSALS = {
    "missing_token": _l(
        "This needs a personal API token: send it as “Authorization: Bearer <token>”."
    ),
    "malformed_token": _l(
        "The Authorization header must be “Bearer ” followed by a personal API token."
    ),
    "invalid_token": _l("This API token is not known. Check that it was copied whole."),
    "expired_token": _l("This API token has expired. Make a new one on your profile."),
    "revoked_token": _l("This API token was revoked. Make a new one on your profile."),
}


def _refused(code: str) -> TokenRefused:
    return TokenRefused(code, _REFUSALS[code])


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    db_session: Session,
    user: User,
    *,
    name: str,
    scopes: set[Scope],
    expires_at: datetime | None,
    now: datetime,
) -> tuple[ApiToken, str]:
    """Make a token for `user` and return it with the raw token, which exists nowhere else
    afterwards: show it once. Flushes; the caller commits.

    ValueError for an empty name or no scopes (the form says so first)."""
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise ValueError("a token needs a name of 1 to 80 characters")
    scopes = {Scope(scope) for scope in scopes}
    if not scopes:
        raise ValueError("a token needs at least one scope")
    if expires_at is not None and expires_at <= now:
        raise ValueError("a token must expire after it is made")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=raw[:SHOWN_PREFIX_LENGTH],
        secret_hash=hash_token(raw),
        scopes=format_scopes(scopes),
        created_at=now,
        expires_at=expires_at,
    )
    db_session.add(token)
    db_session.flush()
    return token, raw


def authenticate(db_session: Session, authorization: str | None, *, now: datetime) -> Bearer:
    """The Bearer that an Authorization header's token speaks for, or TokenRefused.

    Only "Bearer <token>" (RFC 6750's header; the scheme in any case): no token in URLs or
    bodies, so tokens stay out of logs and browser histories. One SELECT by the token's hash.
    last_used_at is stamped when the stored one is a minute old or more, by a conditional
    UPDATE committed at once on its own connection: a GET that never commits still records
    it, two workers racing write it once, it never holds SQLite's write lock over the
    request (where `limits.take` would wait for it), and it does not raise the page cache's
    data revision (studygroup.pagecache.revision.UNSEEN_UPDATES)."""
    if authorization is None or not authorization.strip():
        raise _refused("missing_token")
    scheme, _space, raw = authorization.strip().partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(raw):
        raise _refused("malformed_token")
    row = db_session.execute(
        sa.select(
            ApiToken.id,
            ApiToken.user_id,
            ApiToken.scopes,
            ApiToken.expires_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        ).where(ApiToken.secret_hash == hash_token(raw))
    ).one_or_none()
    if row is None:
        raise _refused("invalid_token")
    if row.revoked_at is not None:
        raise _refused("revoked_token")
    if row.expires_at is not None and row.expires_at <= now:
        raise _refused("expired_token")
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_PRECISION:
        _stamp_last_used(db_session, row.id, now=now)
    return Bearer(token_id=row.id, user_id=row.user_id, scopes=parse_scopes(row.scopes))


def _stamp_last_used(db_session: Session, token_id: int, *, now: datetime) -> bool:
    """Stamp the token used at `now` unless it was stamped less than a minute before (by
    another worker, say); True when this call wrote."""
    # Only last_used_at in SET: the page cache's revision listener reads this statement's
    # shape to know it is one no page shows (a revocation is not).
    stamp = (
        sa.update(ApiToken)
        .where(
            ApiToken.id == token_id,
            sa.or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at <= now - LAST_USED_PRECISION,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if _holds_sqlite_write_lock(db_session):
        # Another connection would wait for this transaction: stamped with its writes, then.
        return db_session.execute(stamp).rowcount == 1
    with db_session.get_bind(mapper=sa.inspect(ApiToken)).begin() as connection:
        return connection.execute(stamp).rowcount == 1


def _holds_sqlite_write_lock(db_session: Session) -> bool:
    """The session's transaction has written on SQLite (the driver began a transaction).
    Asked after the SELECT, so the session's connection is there already."""
    if db_session.get_bind(mapper=sa.inspect(ApiToken)).dialect.name != "sqlite":
        return False  # PostgreSQL locks rows, and the request holds no api_token row
    return bool(db_session.connection().connection.dbapi_connection.in_transaction)


def revoke_token(db_session: Session, token: ApiToken, *, now: datetime) -> None:
    """The token stops working at once; the row stays (revoked_at). Revoking twice keeps the
    first time. The caller commits."""
    if token.revoked_at is None:
        token.revoked_at = now
        db_session.flush()


def tokens_of(db_session: Session, user: User) -> list[ApiToken]:
    """Every token of `user`, newest first, revoked and expired ones too."""
    return list(
        db_session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def scopes_offered_to(db_session: Session, user: User) -> list[Scope]:
    """The scopes `user` may give a token: organize only to members who organize a group
    (the API still checks, per group, that they organize that one)."""
    organizes = db_session.scalar(
        sa.select(
            sa.exists().where(
                Membership.user_id == user.id,
                Membership.role == MemberRole.ORGANIZER,
                Membership.status == MembershipStatus.ACTIVE,
            )
        )
    )
    return [scope for scope in Scope if scope != Scope.ORGANIZE or organizes]


def token_of(db_session: Session, user: User, token_id: int) -> ApiToken | None:
    """`user`'s token `token_id`, or None (also when it is another member's)."""
    return db_session.scalar(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
