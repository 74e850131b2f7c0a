"""Personal API tokens and the API's rate limit (issue 14): made, checked, stamped, revoked;
requests counted across workers sharing one database, and under concurrency."""

import hashlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.apitokens import limits
from studygroup.apitokens.limits import RateLimit, take, window_start
from studygroup.apitokens.models import ApiRateWindow, ApiToken, Scope
from studygroup.apitokens.services import (
    Bearer,
    TokenRefused,
    _stamp_last_used,
    authenticate,
    create_token,
    revoke_token,
    tokens_of,
)
from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.pagecache.models import DataRevision

NOW = datetime(2026, 12, 2, 5, 0, 10, tzinfo=UTC)


def _revision() -> int:
    number = db.session.scalar(sa.select(DataRevision.number).where(DataRevision.id == 1))
    db.session.commit()
    return number


def _token(make, user=None, *, scopes=(Scope.READ,), expires_at=None, now=NOW, name="script"):
    user = user or make.user()
    token, raw = create_token(
        db.session, user, name=name, scopes=set(scopes), expires_at=expires_at, now=now
    )
    db.session.commit()
    return user, token, raw


def _refusal(authorization, *, now=NOW) -> str:
    with pytest.raises(TokenRefused) as refused:
        authenticate(db.session, authorization, now=now)
    assert str(refused.value.message)  # a sentence for the client
    return refused.value.code


# --- tokens ------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_as_its_hash(app, make):
    user, token, raw = _token(make, scopes={Scope.WRITE, Scope.READ}, name="  my script  ")
    assert raw.startswith("sg_") and len(raw) >= 40
    assert token.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.prefix, token.secret_hash, token.name, token.scopes}
    assert raw.startswith(token.prefix) and 8 <= len(token.prefix) <= 12
    assert token.name == "my script"
    assert token.scopes == "read write"
    assert token.scope_set == frozenset({Scope.READ, Scope.WRITE})
    assert token.created_at == NOW and token.expires_at is None and token.last_used_at is None

    bearer = authenticate(db.session, f"Bearer {raw}", now=NOW)
    assert bearer == Bearer(token.id, user.id, frozenset({Scope.READ, Scope.WRITE}))
    assert authenticate(db.session, f"bearer  {raw} ", now=NOW).token_id == token.id

    _, _, other = _token(make)
    assert other != raw


def test_create_refuses_what_the_form_would(app, make):
    user = make.user()
    for name, scopes, expires in (
        ("", {Scope.READ}, None),
        ("x" * 81, {Scope.READ}, None),
        ("script", set(), None),
        ("script", {Scope.READ}, NOW),
    ):
        with pytest.raises(ValueError):
            create_token(db.session, user, name=name, scopes=scopes, expires_at=expires, now=NOW)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_refusals_say_why(app, make):
    _user, token, raw = _token(make, expires_at=NOW + timedelta(days=30))
    assert _refusal(None) == "missing_token"
    assert _refusal("") == "missing_token"
    assert _refusal("   ") == "missing_token"
    for header in (
        raw,  # no scheme
        f"Basic {raw}",
        f"Token {raw}",
        "Bearer",
        "Bearer ",
        f"Bearer {raw} {raw}",
        "Bearer not-a-token",
        f"Bearer {raw[:-20]}",
    ):
        assert _refusal(header) == "malformed_token", header
    assert _refusal("Bearer sg_" + "A" * 43) == "invalid_token"
    assert _refusal(f"Bearer {raw[:-1]}{'B' if raw[-1] != 'B' else 'C'}") == "invalid_token"

    assert _refusal(f"Bearer {raw}", now=NOW + timedelta(days=30)) == "expired_token"
    assert authenticate(db.session, f"Bearer {raw}", now=NOW + timedelta(days=29)).token_id

    revoke_token(db.session, token, now=NOW + timedelta(days=1))
    db.session.commit()
    assert _refusal(f"Bearer {raw}", now=NOW + timedelta(days=2)) == "revoked_token"
    revoke_token(db.session, token, now=NOW + timedelta(days=3))  # the first time stays
    db.session.commit()
    assert db.session.get(ApiToken, token.id).revoked_at == NOW + timedelta(days=1)


def test_tokens_of_a_member_newest_first_revoked_ones_too(app, make):
    user, first, _ = _token(make, name="first")
    _, second, _ = _token(make, user, name="second", now=NOW + timedelta(hours=1))
    _, third, _ = _token(make, user, name="third", now=NOW + timedelta(hours=2))
    _token(make, name="someone else's")
    revoke_token(db.session, second, now=NOW + timedelta(hours=3))
    db.session.commit()
    listed = tokens_of(db.session, user)
    assert [t.name for t in listed] == ["third", "second", "first"]
    assert [t.revoked_at is not None for t in listed] == [False, True, False]


def test_last_used_is_stamped_at_most_once_a_minute(app, make, count_queries):
    _user, token, raw = _token(make)
    header = f"Bearer {raw}"

    def used_at(now):
        with count_queries() as queries:
            authenticate(db.session, header, now=now)
        db.session.rollback()  # the request ends without committing: the stamp is kept anyway
        return db.session.get(ApiToken, token.id).last_used_at, queries.count

    assert used_at(NOW) == (NOW, 2)  # the SELECT and the stamp
    assert used_at(NOW + timedelta(seconds=59)) == (NOW, 1)  # the SELECT alone
    assert used_at(NOW + timedelta(seconds=60)) == (NOW + timedelta(seconds=60), 2)
    assert used_at(NOW + timedelta(seconds=61)) == (NOW + timedelta(seconds=60), 1)


def test_two_workers_stamp_once(app_factory, make):
    """Both read a stale stamp and both stamp: the conditional UPDATE lets the first write."""
    _user, token, _raw = _token(make)
    later = NOW + timedelta(minutes=5)
    written = []
    for worker, now in ((app_factory(), later), (app_factory(), later + timedelta(seconds=2))):
        with worker.app_context():
            written.append(_stamp_last_used(db.session, token.id, now=now))
            db.session.remove()
    assert written == [True, False]
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == later


def test_a_stamp_raises_no_page_revision_but_making_and_revoking_do(app, make):
    user = make.user()
    start = _revision()
    token, raw = create_token(
        db.session, user, name="script", scopes={Scope.READ}, expires_at=None, now=NOW
    )
    db.session.commit()
    assert _revision() == start + 1

    authenticate(db.session, f"Bearer {raw}", now=NOW)
    db.session.commit()
    assert db.session.get(ApiToken, token.id).last_used_at == NOW
    assert _revision() == start + 1

    take(f"token:{token.id}", now=NOW, limit=10, window_seconds=60)
    assert _revision() == start + 1

    token = db.session.get(ApiToken, token.id)
    token.last_used_at = NOW + timedelta(hours=1)  # alone: an ORM flush raises nothing either
    db.session.commit()
    assert _revision() == start + 1

    token.last_used_at = NOW + timedelta(hours=2)
    token.name = "renamed"  # with another column: a page may show it
    db.session.commit()
    assert _revision() == start + 2

    revoke_token(db.session, token, now=NOW)
    db.session.commit()
    assert _revision() == start + 3


def test_a_stamp_inside_a_writing_transaction_waits_for_nothing(app, make):
    """On SQLite a transaction that wrote holds the write lock: the stamp joins it."""
    user, token, raw = _token(make)
    user.bio = "written before the token is checked"
    db.session.flush()
    authenticate(db.session, f"Bearer {raw}", now=NOW)
    db.session.commit()
    assert db.session.get(ApiToken, token.id).last_used_at == NOW


# --- the rate limit ----------------------------------------------------------------------


def test_headers():
    assert RateLimit(limit=600, remaining=599, reset_seconds=50, allowed=True).headers() == {
        "RateLimit-Limit": "600",
        "RateLimit-Remaining": "599",
        "RateLimit-Reset": "50",
    }
    assert RateLimit(limit=600, remaining=0, reset_seconds=7, allowed=False).headers() == {
        "RateLimit-Limit": "600",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "7",
        "Retry-After": "7",
    }


def test_windows_are_fixed_and_aligned():
    assert window_start(NOW, 60) == NOW.replace(second=0)
    assert window_start(NOW.replace(second=59, microsecond=999), 60) == NOW.replace(second=0)
    assert window_start(NOW, 3600) == NOW.replace(minute=0, second=0)


def test_the_limit_holds_across_two_workers_and_resets_with_the_window(app, app_factory):
    """Two app instances (two workers' engines and pools) on one database share the count."""
    workers = [app_factory(), app_factory()]
    key = "token:1"
    results = []
    for n in range(7):
        with workers[n % 2].app_context():
            results.append(take(key, now=NOW + timedelta(seconds=n), limit=5, window_seconds=60))
    assert [r.remaining for r in results] == [4, 3, 2, 1, 0, 0, 0]
    assert [r.allowed for r in results] == [True] * 5 + [False] * 2
    assert [r.reset_seconds for r in results] == [50, 49, 48, 47, 46, 45, 44]
    assert results[-1].headers()["Retry-After"] == "44"

    with workers[1].app_context():
        other = take("token:2", now=NOW, limit=5, window_seconds=60)
    assert (other.remaining, other.allowed) == (4, True)  # another token has its own count

    next_window = window_start(NOW, 60) + timedelta(seconds=60)
    with workers[0].app_context():
        fresh = take(key, now=next_window, limit=5, window_seconds=60)
    assert (fresh.remaining, fresh.allowed, fresh.reset_seconds) == (4, True, 60)
    assert (
        db.session.scalar(
            sa.select(ApiRateWindow.hits).where(
                ApiRateWindow.key == key, ApiRateWindow.window_start == window_start(NOW, 60)
            )
        )
        == 7
    )


def test_a_take_is_committed_apart_from_the_request(app, make):
    """Counted even when the request rolls back; the request's transaction is untouched."""
    user = make.user()
    db.session.get(User, user.id)  # the request has begun reading
    transaction = db.session().get_transaction()
    assert take("token:9", now=NOW, limit=5, window_seconds=60).remaining == 4
    assert db.session().get_transaction() is transaction
    user.bio = "rolled back"
    db.session.flush()
    db.session.rollback()
    assert take("token:9", now=NOW, limit=5, window_seconds=60).remaining == 3
    assert db.session.get(User, user.id).bio != "rolled back"


def test_old_windows_are_pruned_now_and_then(app, monkeypatch):
    monkeypatch.setattr(limits, "_pruned_at", None)
    day_ago = NOW - timedelta(days=1, minutes=1)
    take("token:old", now=day_ago, limit=5, window_seconds=60)
    take("token:recent", now=NOW - timedelta(hours=23), limit=5, window_seconds=60)
    monkeypatch.setattr(limits, "_pruned_at", None)
    take("token:now", now=NOW, limit=5, window_seconds=60)
    keys = set(db.session.scalars(sa.select(ApiRateWindow.key)))
    assert keys == {"token:recent", "token:now"}
    # Pruned at most once an hour per process: the next new window deletes nothing.
    take("token:old", now=day_ago, limit=5, window_seconds=60)
    take("token:later", now=NOW + timedelta(minutes=1), limit=5, window_seconds=60)
    assert "token:old" in set(db.session.scalars(sa.select(ApiRateWindow.key)))


THREADS = 12
TAKES = 10


def test_concurrent_takes_never_over_or_under_count(app_factory):
    """Every take gets its own count: each of 1..N exactly once, and the row says N."""
    worker = app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": THREADS + 2, "max_overflow": 0, "pool_timeout": 30}
    )
    other = app_factory()  # a second worker takes at the same time
    barrier = threading.Barrier(THREADS, timeout=30)
    seen: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    limit = 1000

    def knock(n):
        try:
            with (worker if n % 2 else other).app_context():
                barrier.wait()
                for _ in range(TAKES):
                    result = take("token:busy", now=NOW, limit=limit, window_seconds=60)
                    with lock:
                        seen.append(limit - result.remaining)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=knock, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(seen) == list(range(1, THREADS * TAKES + 1))
    with worker.app_context():
        assert (
            db.session.scalar(
                sa.select(ApiRateWindow.hits).where(ApiRateWindow.key == "token:busy")
            )
            == THREADS * TAKES
        )


def test_the_counts_are_unlogged_on_postgresql(app):
    """No WAL flush per API request; SQLite has no such tables."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    persistence = db.session.scalar(
        sa.text("SELECT relpersistence FROM pg_class WHERE relname = 'api_rate_window'")
    )
    assert persistence == "u"
