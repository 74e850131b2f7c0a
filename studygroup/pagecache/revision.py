"""The data revision: one number that every committed write raises, in its own transaction.

Listening on the engine (not the ORM) catches every write, whether a flush, a Core `update()`
or raw SQL: a statement that writes marks its connection, and the transaction's commit raises
`data_revision.number` just before it commits. Raised inside the transaction, the number and
the data it describes become visible together, so a reader that sees the new number sees the
new data. The row is taken last, just before the commit, so it adds no lock-order deadlock
(a writer holding it only commits), at the price of one short write on one row per writing
transaction: see the closing note of issue 13.
"""

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from studygroup.db import AUTOCOMMIT_READS

# A statement that may change data; `WITH ... UPDATE` too. A false positive (a CTE that only
# reads FOR UPDATE) costs one needless raise, never a stale page.
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)
_CTE_WRITES = re.compile(r"\s*WITH\b.*\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE | re.DOTALL)
# Writes to these tables alone raise nothing: no page reads them (the outbox's delivery
# bookkeeping, the login throttle's failures, the API's rate-limit counts, webhook deliveries
# and their attempts), and they come often, after the change that made them (an email's claim
# and "sent"), where a raise would empty every process's pages and queue behind the revision's
# row lock. A kept page (@kept_page) that comes to show them must drop its table from here
# (tests/test_pagecache.py holds which tables these are); the webhook page shows the webhook
# tables but is not kept, so it always reads them fresh.
UNSEEN_TABLES = (
    "outbound_email",
    "login_failure",
    "api_rate_window",
    "webhook_delivery",
    "webhook_attempt",
)
# UPDATEs that set this one column of this table, and nothing else, raise nothing either:
# an API token's last-used stamp (no kept page shows it), while making or revoking a token,
# which /profile/tokens shows, does raise it.
UNSEEN_UPDATES = (("api_token", "last_used_at"),)
_UNSEEN_WRITE = re.compile(
    r"\s*(?:"
    r"(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(?:"
    + "|".join(UNSEEN_TABLES)
    + r")\"?[\s(]"
    # One column set to one bound parameter (?, :name, %(name)s or $1; PostgreSQL's
    # "::TIMESTAMP WITH TIME ZONE" cast may follow), then WHERE.
    + "".join(
        rf"|UPDATE\s+\"?{table}\"?\s+SET\s+\"?{column}\"?\s*="
        rf"\s*(?:\?|:\w+|%\(\w+\)s|\$\d+)(?:::[\w ]+?)?\s+WHERE\b"
        for table, column in UNSEEN_UPDATES
    )
    + r")",
    re.IGNORECASE,
)
_WROTE = "studygroup.wrote"
MIGRATING = "studygroup.migrating"  # set by migrations/env.py while it runs
TABLE_SEEN = "studygroup.revision_table"  # this connection found data_revision (forgotten by
# migrations/env.py, which may drop it)
RAISE_REVISION = "UPDATE data_revision SET number = number + 1 WHERE id = 1"

_listening = False


def wrote_in_this_transaction(connection: Connection) -> bool:
    """This connection's open transaction has written, not yet committed (a page built now
    might show what nobody else sees yet: not one to keep)."""
    return bool(connection.info.get(_WROTE))


def listen() -> None:
    """Attach the listeners to every engine (once per process)."""
    global _listening
    if _listening:
        return
    _listening = True
    sa.event.listen(Engine, "begin", _forget)
    sa.event.listen(Engine, "rollback", _forget)
    sa.event.listen(Engine, "before_cursor_execute", _mark_writes)
    sa.event.listen(Engine, "commit", _raise_revision)


def _forget(connection: Connection) -> None:
    connection.info.pop(_WROTE, None)


def _mark_writes(connection, cursor, statement, parameters, context, executemany) -> None:
    if connection.info.get(_WROTE):
        return
    writes = _WRITES.match(statement)
    if not writes and not _CTE_WRITES.match(statement):
        return
    if connection.info.get(AUTOCOMMIT_READS):
        # It would commit at once, with no commit for the revision to be raised in.
        raise RuntimeError("a write among reads outside a transaction (autocommit)")
    if not writes or not _UNSEEN_WRITE.match(statement):
        connection.info[_WROTE] = True


def _raise_revision(connection: Connection) -> None:
    if not connection.info.pop(_WROTE, False) or connection.info.get(MIGRATING):
        return
    # The DBAPI cursor, not connection.execute(): this runs inside the commit, where the
    # Connection is mid-transition; it is also not a statement the listener above should see.
    cursor = connection.connection.cursor()
    try:
        if not connection.info.get(TABLE_SEEN):
            if not _table_exists(cursor, connection.dialect.name):
                return  # a database below this migration (a migration test's writes)
            connection.info[TABLE_SEEN] = True
        cursor.execute(RAISE_REVISION)
    finally:
        cursor.close()


def _table_exists(cursor, dialect: str) -> bool:
    """Asked once per database connection, of the catalog: a failed UPDATE would abort a
    PostgreSQL transaction."""
    if dialect == "postgresql":
        cursor.execute("SELECT to_regclass('data_revision') IS NOT NULL")
    else:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'data_revision'")
    return bool(cursor.fetchone()[0])
