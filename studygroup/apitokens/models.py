import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from studygroup.auth.models import User
from studygroup.db import UTCDateTime, utcnow
from studygroup.extensions import db


class Scope(enum.StrEnum):
    """What a token may do: read what its member may see, write as the member (sign up,
    register, offer a place...), and organize the groups the member organizes."""

    READ = "read"
    WRITE = "write"
    ORGANIZE = "organize"


class ApiToken(db.Model):
    """A member's personal API token. Only the SHA-256 of the whole token is stored
    (`secret_hash`): the token is 32 random bytes, so a fast hash cannot be guessed backwards,
    and one indexed lookup finds it. Never deleted: revoking sets `revoked_at`, so the list
    keeps what existed and when it stopped working."""

    __tablename__ = "api_token"
    __table_args__ = (sa.Index("ix_api_token_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    name: Mapped[str] = mapped_column(sa.String(80))  # the member's label
    # The token's first characters, shown in lists to tell tokens apart (not secret enough
    # to matter: the other 30 bytes are).
    prefix: Mapped[str] = mapped_column(sa.String(16))
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(64))  # space-separated Scope values
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: never
    # Raised at most once a minute per token (services.authenticate); no page cache reads it.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="raise_on_sql")

    @property
    def scope_set(self) -> frozenset[Scope]:
        return parse_scopes(self.scopes)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… of {self.user_id}>"


def parse_scopes(stored: str) -> frozenset[Scope]:
    """The scopes stored as "read write"; words this version does not know are left out."""
    known = {scope.value for scope in Scope}
    return frozenset(Scope(word) for word in stored.split() if word in known)


def format_scopes(scopes) -> str:
    """Scopes as stored: space-separated, in the order of `Scope`."""
    return " ".join(scope.value for scope in Scope if scope in scopes)


class ApiRateWindow(db.Model):
    """Requests counted in one fixed window for one key (e.g. "token:12"), shared by every
    process (studygroup.apitokens.limits). Old windows are pruned; nothing else reads them.
    UNLOGGED on PostgreSQL (a migration): counts are not worth a WAL flush per request, and
    a crash that empties the table only forgives the current windows."""

    __tablename__ = "api_rate_window"
    __table_args__ = (sa.Index("ix_api_rate_window_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
