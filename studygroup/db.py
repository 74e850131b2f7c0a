"""Database helpers shared by every feature."""

import enum
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every engine.

    SQLite has no time zones and hands back naive values; this refuses naive input and
    always returns aware UTC, so no naive datetime ever leaks into the app.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def string_enum(cls: type[enum.StrEnum], name: str) -> sa.Enum:
    """The column type of a StrEnum, stored as its values in plain strings with a CHECK
    constraint named `name`: portable and easy to migrate."""
    return sa.Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


def lock_row(db_session, model, row_id: int):
    """Take the row's write lock until the transaction ends, and return the row fresh.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has no row locks and its driver does not begin a
    transaction on SELECT, so a no-op UPDATE takes the database's write lock instead; other
    writers wait for our commit (busy timeout) and then see what we wrote. Returns None when
    the row does not exist.
    """
    take, read = _lock_statements(model, db_session.get_bind().dialect.name == "postgresql")
    if take is not None:
        db_session.execute(take, {"row_id": row_id})
    return db_session.scalar(read, {"row_id": row_id})


@cache
def _lock_statements(model, postgresql: bool) -> tuple[sa.Update | None, sa.Select]:
    """`lock_row`'s statements, built once per model (every sign-up sends two: building them
    cost more than sending them), the row's id as a parameter."""
    read = sa.select(model).where(model.id == sa.bindparam("row_id"))
    if postgresql:
        return None, read.with_for_update().execution_options(populate_existing=True)
    # Columns with an onupdate keep their values: a lock is not an edit (feeds read them).
    unchanged = {c.name: c for c in model.__table__.columns if c.onupdate is not None}
    take = (
        sa.update(model)
        .where(model.id == sa.bindparam("row_id"))
        .values(id=model.id, **unchanged)
        .execution_options(synchronize_session=False)
    )
    return take, read.execution_options(populate_existing=True)


def insert_ignoring(
    db_session, model, rows: dict | list[dict], *, index_elements=None, returning=None
):
    """INSERT `rows`, leaving out each one whose unique key is taken already (ON CONFLICT DO
    NOTHING on `index_elements`, else on any unique key), so that two processes can both
    write the same row without either failing or writing it twice. With `returning` (a
    column), its values for the rows written; without, None."""
    dialect = db_session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).on_conflict_do_nothing(index_elements=index_elements)
    if returning is None:
        db_session.execute(statement, rows)
        return None
    return list(db_session.scalars(statement.returning(returning), rows))


class local_year(FunctionElement):  # noqa: N801 (reads as a SQL function)
    """`local_year(column, zone)`: the year of a UTC column's moments on the clock of an IANA
    time zone (a session on 1 January 00:30 in Tokyo is in the new year there, though still
    in the old one in UTC), so that a query can count per local year.

    PostgreSQL converts with its own zone data (AT TIME ZONE); SQLite, which knows no zones,
    calls the Python function each connection is given (`enable_sqlite_foreign_keys`).
    """

    inherit_cache = True
    type = sa.Integer()
    name = "local_year"


@compiles(local_year)
def _local_year_function(element, compiler, **kw):
    return f"local_year({compiler.process(element.clauses, **kw)})"


@compiles(local_year, "postgresql")
def _local_year_postgresql(element, compiler, **kw):
    column, zone = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(EXTRACT(YEAR FROM {column} AT TIME ZONE {zone}) AS INTEGER)"


def _sqlite_local_year(stored: str | None, zone: str) -> int | None:
    # UTCDateTime stores naive UTC text on SQLite ("2026-12-31 15:30:00.000000").
    if stored is None:
        return None
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).year


_listening = False


def enable_sqlite_foreign_keys() -> None:
    global _listening
    if _listening:
        return
    _listening = True

    @sa.event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # pragma: no cover - trivial
        module = type(dbapi_connection).__module__
        if module.startswith("sqlite3"):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()
            dbapi_connection.create_function(
                "local_year", 2, _sqlite_local_year, deterministic=True
            )


def render_migration_item(type_, obj, autogen_context):
    """Autogenerate writes UTC columns as plain `sa.DateTime(timezone=True)`, so migrations
    never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# --- pooled connections ------------------------------------------------------------------


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Ping a pooled connection before use when it has been idle `seconds` or longer; a dead
    one raises DisconnectionError, on which the pool drops it and connects anew (SQLAlchemy's
    "custom pessimistic ping"). SQLite has no connection to lose."""
    if engine.dialect.name == "sqlite":
        return

    def checked_in(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection, record, proxy) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < seconds:
            return  # a new connection, or one in steady use
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever the driver raises for a dead connection
            raise sa.exc.DisconnectionError() from error
        if not alive:
            raise sa.exc.DisconnectionError()

    sa.event.listen(engine, "checkin", checked_in)  # pool events, for every pool it makes
    sa.event.listen(engine, "checkout", checked_out)


# --- reads outside a transaction -----------------------------------------------------------

# Set on a connection while `reads_outside_transaction` holds it in autocommit: a write then
# would commit on its own, without raising the data revision (studygroup.pagecache.revision
# refuses it).
AUTOCOMMIT_READS = "studygroup.autocommit_reads"


@contextmanager
def reads_outside_transaction(db_session) -> Iterator[None]:
    """Run the reads inside as statements of their own, in no transaction, when they are the
    session's first: on PostgreSQL the request's one statement (the login and the data
    revision a kept page needs) then costs one round trip, not three (BEGIN, the statement,
    and the ROLLBACK that ends the request). Under READ COMMITTED each statement reads its
    own snapshot in a transaction too, so the rows read are the same.

    The session's connection is put in autocommit for the block and back after it, as
    SQLAlchemy's own ping does (`do_ping`): its transaction then begins (BEGIN) with the
    next statement, so whatever the request does afterwards runs in a transaction as ever.
    Only reads belong inside: a write there is refused. Elsewhere (SQLite, which has no
    round trip to save; a session already in a transaction, or with changes to flush) the
    block runs in the session's transaction as any statement does.

    With no ROLLBACK after it (psycopg forgets its prepared statements on each), psycopg also
    prepares the statement on its fifth run on a connection (`prepare_threshold`): parsed and
    planned once, not on every request (the login's statement on the demo: 0.3 ms a run
    prepared, 1.3 ms not). The price: a request that then rolls back also sends DEALLOCATE
    ALL after its ROLLBACK, once, and the count starts again.
    """
    connection = _connection_to_read_on(db_session)
    if connection is None:
        yield
        return
    driver = connection.connection.driver_connection
    driver.autocommit = True
    connection.info[AUTOCOMMIT_READS] = True
    try:
        yield
    finally:
        connection.info.pop(AUTOCOMMIT_READS, None)
        if not driver.closed and _idle(driver):
            driver.autocommit = False
        elif not connection.invalidated:
            connection.invalidate()  # never back to the pool in autocommit


def _connection_to_read_on(db_session):
    """The session's connection, new, when autocommit saves round trips on it; else None."""
    if isinstance(db_session, sa.orm.scoped_session):
        db_session = db_session()
    if db_session.in_transaction() or db_session.new or db_session.deleted or db_session.dirty:
        return None
    if db_session.get_bind().dialect.driver != "psycopg":
        return None
    connection = db_session.connection()  # begins the session's transaction; sends nothing
    driver = connection.connection.driver_connection
    if driver.autocommit or not _idle(driver):
        return None  # not as the pool hands connections out: leave it as it is
    return connection


def _idle(driver) -> bool:
    from psycopg.pq import TransactionStatus  # here: SQLite never needs psycopg

    return driver.pgconn.transaction_status == TransactionStatus.IDLE


# --- a transaction that only read ends with COMMIT ----------------------------------------

# Set on a connection, until its transaction ends, by a statement that may have changed
# something: anything but a plain SELECT (or a WITH that only selects). False positives (a
# word in a literal) only cost the ROLLBACK that ends a transaction anyway.
MAY_HAVE_CHANGED = "studygroup.may_have_changed"
_READS = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
_CHANGES = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|INTO|NEXTVAL|SETVAL|SET_CONFIG|PG_ADVISORY\w*)\b",
    re.IGNORECASE,
)
_watching = False


def watch_for_changes() -> None:
    """Mark every engine's connections that send a statement that may change something
    (once per process); `end_reads_with_commit` reads the mark."""
    global _watching
    if _watching:
        return
    _watching = True
    sa.event.listen(Engine, "begin", _unmark)
    sa.event.listen(Engine, "before_cursor_execute", _mark_changes)


def _unmark(connection) -> None:
    connection.info.pop(MAY_HAVE_CHANGED, None)


# Remembered per statement text: the same few hundred statements come again and again, and
# searching a long one (the login's) cost more than the rest of the listener.
@lru_cache(maxsize=4096)
def may_change(statement: str) -> bool:
    return not _READS.match(statement) or _CHANGES.search(statement) is not None


def _mark_changes(connection, cursor, statement, parameters, context, executemany) -> None:
    if not connection.info.get(MAY_HAVE_CHANGED) and may_change(statement):
        connection.info[MAY_HAVE_CHANGED] = True


def end_reads_with_commit(db_session) -> None:
    """End the session's transaction with COMMIT when it only read (on PostgreSQL), before
    the request's end rolls it back.

    Both end a transaction that changed nothing alike, but psycopg forgets every prepared
    statement on a ROLLBACK (and sends DEALLOCATE ALL): each page built from the database
    would then leave the next request to parse and plan each statement again (the login's
    0.5-1 ms of the server's time at 10x). A transaction that sent anything but reads, has
    changes not flushed, or a savepoint, is left to the rollback as before.
    """
    if isinstance(db_session, sa.orm.scoped_session):
        if not db_session.registry.has():
            return  # the request used no session (a kept page's or a feed's may not)
        db_session = db_session()
    if not db_session.in_transaction() or db_session.in_nested_transaction():
        return
    if db_session.new or db_session.dirty or db_session.deleted:
        return
    if db_session.get_bind().dialect.driver != "psycopg":
        return
    connection = db_session.connection()  # the transaction's own: it has begun
    if connection.info.get(MAY_HAVE_CHANGED):
        return
    driver = connection.connection.driver_connection
    from psycopg.pq import TransactionStatus  # here: SQLite never needs psycopg

    if driver.autocommit or driver.pgconn.transaction_status != TransactionStatus.INTRANS:
        return
    try:
        driver.commit()  # SQLAlchemy's rollback then finds nothing to roll back
    except Exception:  # a lost connection: the rollback that follows deals with it
        return


# --- an unreachable database ------------------------------------------------------------------


def is_unreachable(error: BaseException) -> bool:
    """The database cannot answer now: down, restarting, a dropped connection, or every
    connection busy. The DB-API's OperationalError is "not under the programmer's control"."""
    return isinstance(
        error, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
    ) or (isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated)


def mark_unreachable(error: BaseException) -> None:
    """Remember for the rest of this request that the database is unreachable, so the error
    page asks it nothing (not even who is logged in) and the request is logged once."""
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    g.database_unreachable = f"{type(cause).__name__}: {first_line}"[:300]


def unreachable_in_this_request() -> str | None:
    """What `mark_unreachable` noted (the error, one line), or None."""
    return g.get("database_unreachable") if has_app_context() else None
