"""What a worker loads at start-up (issue 13: create_app() fast, workers small).

Not timed: each test checks which modules a fresh create_app() has imported, so that a change
that imports a heavy library at module level, instead of where it is used, fails here.
"""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter, Map, Rule

from studygroup import DatabaseIdConverter, LinkOnDemandRule
from studygroup.coworking import network as network_module
from studygroup.coworking.group_pairs import group_network
from studygroup.extensions import db
from studygroup.forked import in_child
from studygroup.testing.network import make_network_group

ROOT = Path(__file__).resolve().parent.parent

# Each is imported by the first request that needs it (or, Alembic, only by migrations).
LOADED_ON_FIRST_USE = (
    "alembic",  # flask db ..., tests and benches (studygroup/schema_migrations.py)
    "flask_migrate",
    "mako",
    "pygments",
    "PIL",  # the sharing cards (studygroup/sharing/card.py)
    "segno",  # QR codes (studygroup/participants/codes.py)
    "icalendar",  # calendar feeds (studygroup/calendar/feeds.py)
    "pydantic",  # the API's operations, on its first request (studygroup/api/routes.py)
    "spectree",
)

# A fresh interpreter builds the app, does `then`, and prints what it has loaded and which
# mappers are configured.
_START = """
import json, sys
from studygroup import create_app
create_app()
{then}
from studygroup.extensions import db
configured = [m.class_.__name__ for m in db.Model.registry.mappers if m.configured]
print(json.dumps({{"modules": sorted(sys.modules), "configured": configured}}))
"""


def _start(tmp_path, then: str = "") -> dict:
    return _run(tmp_path, _START.format(then=then))


def _run(tmp_path, code: str, database_url: str | None = None) -> dict:
    """Runs `code` in a fresh interpreter, as a production worker, and reads the JSON it
    prints last."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STUDYGROUP_ENV": "production",
        "SECRET_KEY": "x",
        "STUDYGROUP_PUBLIC_BASE_URL": "https://sg.example",
        "STUDYGROUP_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'startup.sqlite3'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out.splitlines()[-1])


def test_create_app_leaves_heavy_libraries_for_their_first_use(tmp_path):
    modules = _start(tmp_path)["modules"]
    assert "studygroup.models" in modules  # the app was built
    loaded = sorted(
        name
        for name in LOADED_ON_FIRST_USE
        if any(m == name or m.startswith(name + ".") for m in modules)
    )
    assert loaded == []


def test_create_app_leaves_the_database_driver_for_the_first_query(tmp_path):
    """The engine is made, and psycopg imported (~40 ms), on first use (studygroup.extensions):
    no server is asked here, none need listen."""
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    modules = _run(tmp_path, _START.format(then=""), database_url=url)["modules"]
    assert "studygroup.models" in modules
    assert not [m for m in modules if m == "psycopg" or m.startswith("psycopg.")]


def test_create_app_leaves_the_mappers_unconfigured(tmp_path):
    """Configuring them (relationships, joins: ~40 ms) is for a worker's post_worker_init or
    the first query, not for every `flask` command. aliased(Model) at import configures them
    all: build such statements in a cached function (studygroup/calendar/feeds.py) or alias
    the table (studygroup/introductions/models.py)."""
    assert _start(tmp_path)["configured"] == []


def test_a_gunicorn_worker_configures_the_mappers_before_its_first_request(tmp_path):
    hook = "import runpy; runpy.run_path('gunicorn.conf.py')['post_worker_init'](None)"
    configured = _start(tmp_path, then=hook)["configured"]
    assert {"User", "Group", "StudySession", "Assignment"} <= set(configured)


def test_a_gunicorn_worker_makes_its_engine_before_its_first_request(tmp_path):
    code = _START.replace("create_app()\n", "app = create_app()\n", 1).format(
        then="import runpy, types\n"
        "runpy.run_path('gunicorn.conf.py')['post_worker_init'](types.SimpleNamespace(wsgi=app))\n"
        "from studygroup.extensions import db\n"
        "print(json.dumps([type(e).__name__ for e in db._app_engines[app].values()]))\n"
        "sys.exit()"
    )
    assert _run(tmp_path, code) == ["Engine"]


# Builds the app, asks the API once (a query it refuses) and for its document, and prints which
# of the API's shapes were built when. `eager` may undo the deferral before the API's import.
_API_FIRST_USE = """
import json
{eager}
from studygroup import create_app
from studygroup.extensions import db
app = create_app()
from studygroup.api import schemas
from studygroup.api.openapi import spec
def built():
    shapes = [m for m in vars(schemas).values() if isinstance(m, type)]
    return sorted(m.__name__ for m in shapes if getattr(m, "__pydantic_complete__", False))
at_start = {{"built": built(), "document": hasattr(spec, "_spec")}}
with app.app_context():
    db.create_all()
client = app.test_client()
refused = client.get("/api/v1/groups?limit=0", headers={{"Accept-Language": "en"}})
after_request = built()
document = client.get("/api/v1/openapi.json").get_data(as_text=True)
print(json.dumps({{"at_start": at_start, "refused": [refused.status_code, refused.get_json()],
                  "after_request": after_request, "document": document,
                  "noted": len(spec._noted)}}))
"""
# Spectree's own way: each model's JSON schema written as its operation is decorated.
_EAGER = (
    "import spectree, studygroup.api.openapi as openapi\n"
    "openapi.DocumentOnDemand._add_model = spectree.SpecTree._add_model"
)


def test_the_api_builds_its_shapes_and_document_on_first_use(tmp_path):
    """create_app() builds none of the API's pydantic validators nor its OpenAPI document
    (issue 13); the first API request still validates, and the document written on demand is
    the one Spectree writes as it decorates."""
    lazy = _run(tmp_path, _API_FIRST_USE.format(eager=""))
    assert lazy["at_start"] == {"built": [], "document": False}
    assert lazy["refused"] == [
        422,
        {
            "error": {
                "code": "invalid",
                "fields": {"limit": "Give a number of at least 1."},
                "message": "Some fields are not valid.",
            }
        },
    ]
    assert "PageQuery" in lazy["after_request"]
    assert "SessionOut" not in lazy["after_request"]  # each shape on its own first use

    (tmp_path / "eager").mkdir()
    eager = _run(tmp_path / "eager", _API_FIRST_USE.format(eager=_EAGER))
    assert (lazy["noted"] > 0, eager["noted"]) == (True, 0)  # the eager run wrote as it decorated
    assert json.loads(lazy["document"]) == json.loads(eager["document"])
    assert lazy["document"] == eager["document"]


def test_links_are_written_on_first_use_and_are_werkzeugs(app):
    """Every rule builds the link Werkzeug's own Rule builds, with and without leftover
    values (url_for's query string), and writes its builder only when first asked."""
    group_page = next(app.url_map.iter_rules("groups.show"))
    assert group_page._build_unknown.__name__ == "build_first"  # not written at start-up
    with app.test_request_context():
        assert url_for("groups.show", slug="sg", lang="ja") == "/g/sg?lang=ja"
    assert group_page._build_unknown.__name__ != "build_first"

    werkzeugs = Map(converters={"int": DatabaseIdConverter})
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    assert len(rules) > 100
    for rule in rules:
        assert isinstance(rule, LinkOnDemandRule)
        twin = Rule(rule.rule, endpoint=rule.endpoint, methods=rule.methods, defaults=rule.defaults)
        werkzeugs.add(twin)
        values = {
            name: 7 if isinstance(rule._converters[name], IntegerConverter) else "a b/c"
            for name in rule.arguments
        }
        for leftover in ({}, {"lang": "ja", "next": "/x?y=1"}):
            for append_unknown in (True, False):
                built = rule.build({**values, **leftover}, append_unknown=append_unknown)
                assert built == twin.build({**values, **leftover}, append_unknown=append_unknown)
                assert built is not None, rule.rule


def test_migrations_load_on_first_use(app):
    """flask_migrate's own functions find the app's settings through the stand-in."""
    config = app.extensions["migrate"]
    assert config.directory == str(ROOT / "migrations")
    assert config.configure_args["render_as_batch"] is True
    assert config.migrate.get_config().get_main_option("script_location") == config.directory
    assert isinstance(app.extensions["migrate"], flask_migrate._MigrateConfig)


def test_flask_db_command_loads_flask_migrate(app):
    runner = app.test_cli_runner()
    assert "db" in app.cli.list_commands(None)
    assert "upgrade" in runner.invoke(args=["db", "--help"]).output
    result = runner.invoke(args=["db", "heads"])
    assert result.exit_code == 0, result.output
    assert isinstance(app.extensions["migrate"], flask_migrate._MigrateConfig)


def test_in_child_computes_in_another_process_and_sends_the_result_back():
    here = os.getpid()
    result = in_child(lambda: {"pid": os.getpid(), "sum": sum(range(10))}, needs="not.loaded")
    assert result["sum"] == 45
    assert result["pid"] != here


def test_in_child_runs_here_when_the_library_is_loaded_already():
    assert in_child(os.getpid, needs="os") == os.getpid()


def test_in_child_raises_the_works_error_here():
    def fails():
        raise ValueError("no picture")

    with pytest.raises(ValueError, match="no picture"):
        in_child(fails, needs="not.loaded")


def test_the_network_picture_drawn_apart_is_the_one_drawn_here(make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    make_network_group(db.session, organizer, group, 12, seed=5)
    db.session.commit()
    network = group_network(db.session, group, now=datetime.now(UTC))
    ties = [(p.a, p.b, p.side_by_side) for p in network.ties]
    apart = in_child(lambda: network_module._draw(network, ties), needs="not.loaded")
    assert apart == network_module._draw(network, ties)
    assert apart.drawn == 12
    network_module._cache.clear()
    assert network_module.group_picture(network) == apart
