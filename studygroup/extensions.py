"""Extension objects only: no app, no models, so any module may import them.

Flask-Migrate is set up on first use, by studygroup.schema_migrations."""

import threading

from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints let Alembic alter them later, also in SQLite batch mode.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class _EngineLater:
    """An engine not made yet: db.engines makes it."""

    def __init__(self, make):
        self.make = make

    def dispose(self) -> None:
        pass  # nothing made, nothing to close (init_app run again on the same app)


class EnginesOnFirstUse(SQLAlchemy):
    """Makes each engine on its first use, not in init_app: making PostgreSQL's imports its
    driver, psycopg (~300 M instructions, ~40 ms of create_app(); issue 13), which a worker
    needs only at its first query. Made once an app, under a lock."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._making = threading.Lock()

    def _make_engine(self, bind_key, options, app):
        return _EngineLater(lambda: self._make_now(bind_key, options, app))

    def _make_now(self, bind_key, options, app):
        from studygroup.db import ping_after_idle

        engine = super()._make_engine(bind_key, options, app)
        ping_after_idle(engine, app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])
        return engine

    @property
    def engines(self):
        engines = super().engines
        if any(type(engine) is _EngineLater for engine in engines.values()):
            with self._making:
                for key, engine in list(engines.items()):
                    if type(engine) is _EngineLater:
                        engines[key] = engine.make()
        return engines


db = EnginesOnFirstUse(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
