"""The API's rate limit: requests counted per key (a token) in fixed windows, in the database.

The count lives in `api_rate_window` (PostgreSQL in production, SQLite embedded), so the
limit holds across every worker and process with no other service to run. Each request
costs one statement: an upsert that adds one to its window's row and returns the count
(INSERT ... ON CONFLICT DO UPDATE ... RETURNING: SQLite 3.35+ and PostgreSQL), committed
at once on a connection of its own, so a request that fails or rolls back is still counted
and the request's own transaction is left alone. Under concurrency the database takes the
upserts one at a time on the row, so no two requests ever read the same count.

Call `take` before the request writes: on SQLite, a request transaction that holds the
write lock would make take's connection wait for it.
"""

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from studygroup.apitokens.models import ApiRateWindow
from studygroup.extensions import db

# Windows older than this are deleted, by at most one request per process per PRUNE_EVERY.
KEEP_WINDOWS_FOR = timedelta(days=1)
PRUNE_EVERY_SECONDS = 3600.0

_pruned_at: float | None = None
_prune_lock = threading.Lock()


@dataclass(frozen=True)
class RateLimit:
    """Where one request left its key's window."""

    limit: int
    remaining: int
    reset_seconds: int  # until the window ends and the count starts again
    allowed: bool

    def headers(self) -> dict[str, str]:
        """The RateLimit-* header fields (IETF httpapi draft, in the widely used separate
        fields), and Retry-After on a refusal (RFC 9110)."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


def window_start(now: datetime, window_seconds: int) -> datetime:
    """The start of the fixed window `now` falls in (windows are aligned on the epoch)."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, UTC)


def take(key: str, *, now: datetime, limit: int, window_seconds: int) -> RateLimit:
    """Count one request for `key` in the window of `now` and say whether it is within
    `limit` requests per `window_seconds`. Refused requests count too (a client that keeps
    knocking keeps its window full); the count starts again with the next window.

    Commits on its own connection (see the module's note). Needs an app context."""
    start = window_start(now, window_seconds)
    engine = db.engine
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    upsert = (
        insert(ApiRateWindow)
        .values(key=key, window_start=start, hits=1)
        .on_conflict_do_update(
            index_elements=[ApiRateWindow.key, ApiRateWindow.window_start],
            set_={"hits": ApiRateWindow.hits + 1},
        )
        .returning(ApiRateWindow.hits)
    )
    with engine.begin() as connection:
        hits = connection.execute(upsert).scalar_one()
        if hits == 1 and _time_to_prune():
            connection.execute(
                sa.delete(ApiRateWindow).where(ApiRateWindow.window_start < now - KEEP_WINDOWS_FOR)
            )
    ends = start + timedelta(seconds=window_seconds)
    return RateLimit(
        limit=limit,
        remaining=max(0, limit - hits),
        reset_seconds=max(1, math.ceil((ends - now).total_seconds())),
        allowed=hits <= limit,
    )


def _time_to_prune() -> bool:
    """True for one caller per process per PRUNE_EVERY_SECONDS (the first new window)."""
    global _pruned_at
    with _prune_lock:
        moment = time.monotonic()
        if _pruned_at is not None and moment - _pruned_at < PRUNE_EVERY_SECONDS:
            return False
        _pruned_at = moment
        return True
