"""Pooled connections: pinged after they sat idle, so a lost one is replaced, not an error."""

import time

import pytest
import sqlalchemy as sa

from studygroup.extensions import db


def _backend_pid() -> int:
    return db.session.scalar(sa.text("SELECT pg_backend_pid()"))


def test_a_connection_lost_while_idle_is_replaced(app_factory, migrated_database):
    if not migrated_database.startswith("postgresql"):
        pytest.skip("SQLite has no connection to lose")
    app = app_factory(DATABASE_PING_AFTER_IDLE_SECONDS=0.2)
    with app.app_context(), db.engine.connect() as other:
        lost = _backend_pid()
        db.session.remove()  # back to the pool, the only one there
        # The server ends the pooled connection (a restart, a proxy's timeout)
        other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": lost})
        other.commit()
        time.sleep(0.3)
        # Idle long enough: pinged, found dead, replaced; the request's query just works
        assert _backend_pid() != lost
        db.session.remove()


def test_a_connection_in_steady_use_is_not_pinged(app_factory, migrated_database):
    if not migrated_database.startswith("postgresql"):
        pytest.skip("SQLite has no connection to lose")
    app = app_factory(DATABASE_PING_AFTER_IDLE_SECONDS=60)
    statements: list[str] = []
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        db.session.remove()
        pings = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        original = db.engine.dialect.do_ping
        db.engine.dialect.do_ping = lambda conn: pings.append(conn) or original(conn)
        try:
            db.session.execute(sa.text("SELECT 2"))
            db.session.remove()
        finally:
            db.engine.dialect.do_ping = original
        assert pings == []
        assert statements == ["SELECT 2"]
