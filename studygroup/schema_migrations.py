"""Flask-Migrate, loaded when a migration first runs instead of in every web worker.

Flask-Migrate imports Alembic, and Alembic Mako and Pygments: about 11 MB of each worker and a
large share of create_app(), for what only `flask db ...`, the tests and the benches use. The app
gets a stand-in at app.extensions["migrate"] and a `db` command that load the real ones on first
use, so `flask db upgrade`, `flask_migrate.upgrade()` and migrations/env.py work as before.
"""

from pathlib import Path

from flask import Flask
from flask.cli import AppGroup

from studygroup.db import render_migration_item
from studygroup.extensions import db


def load_migrate(app: Flask):
    """Initialise Flask-Migrate on `app` (once); returns its app.extensions["migrate"]."""
    if not isinstance(app.extensions.get("migrate"), MigrateOnFirstUse):
        return app.extensions["migrate"]
    from flask_migrate import Migrate

    Migrate().init_app(  # replaces the stand-in and adds the `db` command
        app,
        db,
        directory=str(Path(app.root_path).parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_item,
    )
    return app.extensions["migrate"]


class MigrateOnFirstUse:
    """app.extensions["migrate"] until someone reads it (flask_migrate.upgrade(), env.py)."""

    def __init__(self, app: Flask):
        self.app = app

    def __getattr__(self, name: str):
        return getattr(load_migrate(self.app), name)


class AppCommands(AppGroup):
    """app.cli, with Flask-Migrate's `db` group loaded only when it is asked for."""

    def __init__(self, app: Flask):
        super().__init__(name=app.name)
        self.app = app

    def get_command(self, ctx, name):
        if name == "db" and name not in self.commands:
            load_migrate(self.app)
        return super().get_command(ctx, name)

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), "db"})


def register_migrations(app: Flask) -> None:
    app.cli = AppCommands(app)
    app.extensions["migrate"] = MigrateOnFirstUse(app)
