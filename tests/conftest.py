"""Fixtures: a migrated database per run (SQLite file, or a PostgreSQL database of its own
when TEST_DATABASE_URL is set), an app per test, clients, a login helper and query counting."""

import os
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from studygroup.extensions import db
from studygroup.testing import IsolatedClient, empty_all_tables, make_test_app, temporary_database
from tests import factories


def pytest_configure(config):
    """Compile the catalogs (build outputs, not in git) so a bare `pytest` sees translations."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent / "studygroup" / "translations"
    for po_path in root.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po, mo_path.open("wb") as mo:
                write_mo(mo, read_po(po))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A fresh database for this run, removed afterwards.

    On PostgreSQL a database named for this run is created on the server of
    TEST_DATABASE_URL, so no run depends on what an earlier one left there.
    """
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    with temporary_database(base, prefix="studygroup_test") as url:
        yield url


@pytest.fixture(scope="session")
def migrated_database(database_url):
    app = make_test_app(database_url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


@contextmanager
def isolated_app(database_url: str):
    """An app with its context pushed; every table is emptied afterwards."""
    app = make_test_app(database_url)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def app(migrated_database):
    with isolated_app(migrated_database) as app:
        yield app


@pytest.fixture
def app_factory(migrated_database):
    """More apps for one test (other settings); their connection pools are closed after it."""
    apps = []

    def factory(database_url=None, **overrides):
        app = make_test_app(database_url or migrated_database, **overrides)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app):
    """Factories bound to the test database: `make.user()`, `make.group(...)`..."""
    return factories.Factories(db.session)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email="member@example.com", password=factories.PASSWORD, **extra):
        return self.client.post("/login", data={"email": email, "password": password, **extra})

    def login_as(self, user):
        """Log in without a password check (fast): what Flask-Login stores after a login."""
        with self.client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def organizer_and_group(client, auth, make):
    """A group whose organizer is logged in on `client`."""
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    return organizer, group


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """`with count_queries() as q: ...; q.count` counts SQL statements sent to the database.

    Pages kept by the page cache are forgotten first, so a GET inside counts the statements
    that build its page (what an N+1 test means); `count_queries(kept=True)` keeps them, to
    count what serving a kept page costs."""

    @contextmanager
    def counting(kept: bool = False):
        if not kept:
            app.extensions["page_cache"].clear()
        counter = QueryCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)

    return counting


def kept_statements(client, count_queries, url: str) -> int:
    """Statements of a GET of `url` served from the page cache. Pages are kept per minute, so
    a minute that turns between the GET that keeps the page and the one counted measures again
    (a test never fails for the clock)."""
    for _ in range(3):
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        assert client.get(url).status_code == 200  # builds the page, or finds it kept
        with count_queries(kept=True) as queries:
            assert client.get(url).status_code == 200
        if datetime.now(UTC).replace(second=0, microsecond=0) == minute:
            return queries.count
    raise AssertionError("three minutes turned during three pairs of GETs")


class ReceivedMail:
    """Messages a real in-process SMTP server (aiosmtpd) received."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m.envelope_to]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on a free local port; the app sends its mail there."""
    from aiosmtpd.controller import Controller

    received = ReceivedMail()
    port = received.port = _free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    try:
        yield received
    finally:
        controller.stop()


@pytest.fixture(params=["live", "ties"])
def ties_or_live(request, app):
    """Runs a co-working test twice: with no tie watermark (everything counted live from the
    places), and with the tie tables holding the sessions started more than a day ago (kept
    by the recount at each commit) and the rest counted live."""
    if request.param == "ties":
        from datetime import UTC, datetime, timedelta

        from studygroup.coworking.models import TieWatermark

        db.session.add(TieWatermark(id=1, upto=datetime.now(UTC) - timedelta(days=1)))
        db.session.commit()
    return request.param
