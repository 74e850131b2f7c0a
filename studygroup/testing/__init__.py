"""Support for the tests and the benchmarks (bench/): an app with test settings, databases of
their own, and data made through the app's services (`factories`, `network`).

Never imported by the app itself; no pytest here, so a benchmark runs without it.
"""

import contextvars
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from studygroup import create_app
from studygroup.extensions import db


def make_test_app(database_url: str, **overrides) -> Flask:
    config = {
        "TESTING": True,
        "ENV_NAME": "testing",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        # The cheapest argon2id the library allows: tests hash many passwords.
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 8,
        "PASSWORD_HASH_PARALLELISM": 1,
        "SERVER_NAME": None,
        "LOG_LEVEL": "WARNING",
        # Each request looks a feed's version up, so a test sees its edit at once;
        # test_calendar checks the one-second memo production uses.
        "CALENDAR_VERSION_TTL": 0,
    }
    config.update(overrides)
    return create_app(config)


def _admin_conninfo(url) -> str:
    return url.set(drivername="postgresql", database=url.database or "postgres").render_as_string(
        hide_password=False
    )


@contextmanager
def temporary_database(server_url: str, *, prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own on the server of `server_url`, dropped afterwards."""
    url = make_url(server_url)
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = _admin_conninfo(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(kind: str, server_url: str, *, prefix: str) -> Iterator[str]:
    """An empty database for one benchmark run: a SQLite file in a temporary folder, or (kind
    "postgres") a database of its own on the server of `server_url`; removed afterwards."""
    if kind == "postgres":
        with temporary_database(server_url, prefix=prefix) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"


def empty_all_tables() -> None:
    """Every table but data_revision, whose one row the migrations made (the page cache's key:
    without it no page is kept)."""
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            if table.name != "data_revision":
                conn.execute(table.delete())


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    The test body keeps an app context for `db.session`; without this, requests would reuse it
    and share `g` (the logged-in user) and the session's identity map with the test and with
    each other. Afterwards the test's own objects are expired so they show what was committed.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # not so inside a redirect followed by the client itself
            db.session.expire_all()
        return response
