"""What a kept page and a feed poll send to PostgreSQL: one statement, no BEGIN or ROLLBACK
(studygroup.db.reads_outside_transaction), counted from libpq's own trace of the messages the
app's connections send; and what that must not change: a write elsewhere shows on the next
request, and what a request does after that first read runs in a transaction. A page built
from the database ends its reads with COMMIT, keeping psycopg's prepared statements
(studygroup.db.end_reads_with_commit); a transaction that changed anything still rolls back."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.db import end_reads_with_commit, may_change, reads_outside_transaction
from studygroup.extensions import db
from studygroup.sessions.models import StudySession
from tests.conftest import kept_statements


def _postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no round trips to count")


@contextmanager
def messages_sent(trace_file):
    """The messages the app's pooled connections send meanwhile, as libpq traces them:
    `Query "BEGIN"` for a simple query (BEGIN, ROLLBACK), `Parse`, `Bind`, `Execute` and
    `Sync` (one `Sync` a round trip) for a statement."""
    from psycopg import pq

    sent: list[str] = []
    traced = []

    def checked_out(dbapi_connection, record, proxy):
        dbapi_connection.pgconn.trace(out.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        traced.append(dbapi_connection)

    def checked_in(dbapi_connection, record):
        dbapi_connection.pgconn.untrace()

    with open(trace_file, "w") as out:
        sa.event.listen(db.engine, "checkout", checked_out)
        sa.event.listen(db.engine, "checkin", checked_in)
        try:
            yield sent
        finally:
            sa.event.remove(db.engine, "checkout", checked_out)
            sa.event.remove(db.engine, "checkin", checked_in)
            for connection in traced:
                connection.pgconn.untrace()
    for line in trace_file.read_text().splitlines():
        # direction (F: from us), length, message, what it carries (a statement's text may
        # go on over the next lines)
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] == "F":
            kind = fields[2]
            sent.append(f"{kind} {fields[3].strip()}" if kind == "Query" else kind)


def _session_page(make, auth):
    organizer = make.user(display_name="Organizer Oda")
    group = make.group(organizer)
    session = make.session(group, title="Monthly meetup")
    auth.login_as(organizer)
    return session, f"/g/{group.slug}/sessions/{session.id}"


def test_a_kept_page_is_one_statement_in_one_round_trip(
    app, client, make, auth, count_queries, migrated_database, tmp_path
):
    _postgresql_only(migrated_database)
    _session, url = _session_page(make, auth)
    for _ in range(6):  # kept, and its statement asked for often enough to be prepared
        assert kept_statements(client, count_queries, url) == 1

    with messages_sent(tmp_path / "trace") as sent:
        assert client.get(url).status_code == 200
    assert not [m for m in sent if m.startswith("Query")]  # no BEGIN, no ROLLBACK
    assert sent.count("Execute") == 1
    assert sent.count("Sync") == 1


def test_a_page_built_after_that_read_runs_in_a_transaction(
    app, client, make, auth, migrated_database, tmp_path
):
    _postgresql_only(migrated_database)
    _session, url = _session_page(make, auth)
    client.get(url)
    app.extensions["page_cache"].clear()

    with messages_sent(tmp_path / "trace") as sent:
        assert client.get(url).status_code == 200
    queries = [m for m in sent if m.startswith("Query")]
    # the login and the revision first, alone; then the page's reads, begun and ended
    assert sent.index("Execute") < sent.index(queries[0])
    assert queries[0].startswith('Query "BEGIN')
    # ended with COMMIT, as it only read: a ROLLBACK would make psycopg forget its prepared
    # statements (studygroup.db.end_reads_with_commit)
    assert queries[-1] == 'Query "COMMIT"'
    assert 'Query "ROLLBACK"' not in queries
    assert not [q for q in queries if "DEALLOCATE" in q]


def test_pages_built_one_after_another_keep_their_statements_prepared(
    app, client, make, auth, migrated_database, tmp_path
):
    _postgresql_only(migrated_database)
    _session, url = _session_page(make, auth)
    for _ in range(6):  # each statement asked for often enough (psycopg: 5 times) on one
        app.extensions["page_cache"].clear()  # connection to be prepared, none forgotten
        assert client.get(url).status_code == 200
    app.extensions["page_cache"].clear()

    with messages_sent(tmp_path / "trace") as sent:
        assert client.get(url).status_code == 200
    assert sent.count("Execute") >= 3
    assert sent.count("Parse") == 0  # every statement prepared: none parsed or planned again


def test_a_transaction_that_changed_something_is_still_rolled_back(app, make):
    user_id = make.user(display_name="Before").id
    db.session.remove()

    db.session.execute(sa.update(User).where(User.id == user_id).values(display_name="After"))
    end_reads_with_commit(db.session)  # a view that wrote and did not commit
    db.session.remove()
    assert _display_name(user_id) == "Before"

    db.session.get(User, user_id).display_name = "Changed, not flushed"
    end_reads_with_commit(db.session)  # commits nothing, so flushes nothing
    db.session.remove()
    assert _display_name(user_id) == "Before"


@pytest.mark.parametrize(
    ("statement", "changes"),
    [
        ("SELECT id FROM users WHERE id = %(id)s", False),
        ("  with recent AS (SELECT 1) SELECT * FROM recent", False),
        ("SELECT nextval('slot_sequence')", True),
        ("SELECT set_config('x', 'y', true)", True),
        ("WITH moved AS (UPDATE users SET locale = 'ja' RETURNING id) SELECT * FROM moved", True),
        ("INSERT INTO users (email) VALUES (%(email)s)", True),
        ("SAVEPOINT sa_savepoint_1", True),
    ],
)
def test_what_may_change_something_is_told_the_same_each_time(statement, changes):
    # The second answer comes from the per-process memo: it must agree with the first.
    assert [may_change(statement), may_change(statement)] == [changes, changes]


def test_a_write_seen_before_still_marks_its_transaction(app, make):
    user_id = make.user(display_name="Before").id
    db.session.remove()
    rename = sa.update(User).where(User.id == user_id).values(display_name="After")
    for _ in range(2):  # the second time, the statement's verdict is remembered
        db.session.execute(rename)
        end_reads_with_commit(db.session)
        db.session.remove()
        assert _display_name(user_id) == "Before"


def test_a_read_only_transaction_ends_committed(app, make, migrated_database):
    _postgresql_only(migrated_database)
    from psycopg.pq import TransactionStatus

    user_id = make.user().id
    db.session.remove()
    db.session.get(User, user_id)
    driver = db.session.connection().connection.driver_connection
    assert driver.pgconn.transaction_status == TransactionStatus.INTRANS

    end_reads_with_commit(db.session)
    assert driver.pgconn.transaction_status == TransactionStatus.IDLE
    db.session.remove()  # SQLAlchemy's rollback finds nothing to roll back
    assert db.session.get(User, user_id).id == user_id


def test_a_feed_poll_reads_its_version_in_one_round_trip(
    app, client, make, migrated_database, tmp_path
):
    _postgresql_only(migrated_database)
    group = make.group(make.user())
    url = f"/g/{group.slug}/calendar.ics"
    etag = client.get(url).headers["ETag"]

    with messages_sent(tmp_path / "trace") as sent:  # CALENDAR_VERSION_TTL 0: asked each time
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert not [m for m in sent if m.startswith("Query")]
    assert sent.count("Sync") == sent.count("Execute") == 1


def test_a_write_by_another_connection_shows_on_the_next_request(
    app, client, make, auth, count_queries
):
    session, url = _session_page(make, auth)
    assert kept_statements(client, count_queries, url) == 1
    assert "Monthly meetup" in client.get(url).text

    with db.engine.begin() as other:  # another process, say: a connection of its own
        other.execute(
            sa.update(StudySession)
            .where(StudySession.id == session.id)
            .values(title="Hands-on night")
        )
    assert "Hands-on night" in client.get(url).text


def _display_name(user_id: int) -> str:
    db.session.remove()
    return db.session.get(User, user_id).display_name


def test_after_the_reads_a_write_is_in_a_transaction_again(app, make):
    user_id = make.user(display_name="Before").id
    db.session.remove()

    with reads_outside_transaction(db.session):
        assert db.session.get(User, user_id).display_name == "Before"
    db.session.get(User, user_id).display_name = "After"
    db.session.flush()
    db.session.rollback()  # not committed on its own: rolled back with the transaction
    assert _display_name(user_id) == "Before"


def test_a_write_among_the_reads_is_refused(app, make, migrated_database):
    _postgresql_only(migrated_database)  # elsewhere the reads run in the session's transaction
    user_id = make.user(display_name="Before").id
    db.session.remove()

    with (
        pytest.raises(RuntimeError, match="outside a transaction"),
        reads_outside_transaction(db.session),
    ):
        db.session.execute(sa.update(User).where(User.id == user_id).values(bio="Now"))
    db.session.rollback()
    assert _display_name(user_id) == "Before"
