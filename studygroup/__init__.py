"""studygroup: staffing, sign-ups and co-working history for volunteer-run study groups."""

import gc
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Rule

from studygroup.config import DefaultConfig


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. Touches no database, so workers boot while the database restarts."""
    # What is built here lives as long as the app: garbage collections meanwhile would only
    # scan it, again and again (~5% of start-up's instructions).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build_app(test_config)
    finally:
        if collecting:
            gc.enable()


def _build_app(test_config: dict | None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        # Where config.py, the secret key and the SQLite file live; default ./instance.
        instance_path=os.environ.get("STUDYGROUP_INSTANCE_PATH") or None,
    )
    load_config(app, test_config)
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_security(app)
    register_cli(app)
    if any(app.config[k] for k in ("PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "PROXY_FIX_X_HOST")):
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=app.config["PROXY_FIX_X_FOR"],
            x_proto=app.config["PROXY_FIX_X_PROTO"],
            x_host=app.config["PROXY_FIX_X_HOST"],
        )
    return app


# STUDYGROUP_ENV (read below as ENV_NAME) and STUDYGROUP_INSTANCE_PATH (read before the app
# exists): variables of the start-up, not settings to keep in app.config as ENV, INSTANCE_PATH.
_NOT_SETTINGS = ("ENV", "INSTANCE_PATH")


def load_config(app: Flask, test_config: dict | None) -> None:
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("STUDYGROUP")
    for name in _NOT_SETTINGS:  # from_prefixed_env takes every STUDYGROUP_* variable
        if f"STUDYGROUP_{name}" in os.environ:
            app.config.pop(name, None)
    # Deprecated name: MAIL_DEFAULT_LOCALE (instance/config.py or STUDYGROUP_MAIL_DEFAULT_LOCALE)
    # still sets DEFAULT_READER_LOCALE when the new name is left at its default. To be dropped.
    old_locale = app.config.pop("MAIL_DEFAULT_LOCALE", None)
    if old_locale and app.config["DEFAULT_READER_LOCALE"] == DefaultConfig.DEFAULT_READER_LOCALE:
        app.config["DEFAULT_READER_LOCALE"] = old_locale
    if os.environ.get("STUDYGROUP_ENV"):
        app.config["ENV_NAME"] = os.environ["STUDYGROUP_ENV"]
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if test_config:
        app.config.update(test_config)

    if app.config["ENV_NAME"] not in ("production", "development", "testing"):
        raise RuntimeError(
            f"STUDYGROUP_ENV must be production, development or testing, "
            f"not {app.config['ENV_NAME']!r}."
        )
    production = app.config["ENV_NAME"] == "production"
    if not production:
        # Development serves plain http on 127.0.0.1, where a Secure cookie would never come back.
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["REMEMBER_COOKIE_SECURE"] = False

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        db_path = Path(app.instance_path) / "studygroup.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"

    if not app.config.get("SECRET_KEY"):
        if production:
            raise RuntimeError(
                "SECRET_KEY is not set. In production set the SECRET_KEY environment variable "
                "(or SECRET_KEY in instance/config.py); studygroup will not start without it."
            )
        app.config["SECRET_KEY"] = _development_secret_key(Path(app.instance_path))
    _check_addresses(app.config, production=production)


def _check_addresses(config, *, production: bool) -> None:
    """Emails need the site's address, and it must never come from a request's Host header,
    which anyone can set: production starts only when it knows it."""
    hosts = config.get("TRUSTED_HOSTS")
    if isinstance(hosts, str):  # STUDYGROUP_TRUSTED_HOSTS=a.example,b.example
        hosts = config["TRUSTED_HOSTS"] = [h for h in hosts.replace(",", " ").split() if h]
    base = config.get("PUBLIC_BASE_URL")
    if base:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RuntimeError(
                f"PUBLIC_BASE_URL must be an http(s) address such as "
                f"https://studygroup.example, not {base!r}."
            )
    if not production or base:
        return
    if not hosts:
        raise RuntimeError(
            "PUBLIC_BASE_URL is not set. In production set STUDYGROUP_PUBLIC_BASE_URL (e.g. "
            "https://studygroup.example), or STUDYGROUP_TRUSTED_HOSTS; studygroup will not start "
            "without it, so that links in emails never point where a request's Host header says."
        )
    if hosts[0].startswith("."):
        raise RuntimeError(
            "The first of TRUSTED_HOSTS is the address in emails when PUBLIC_BASE_URL is not "
            f"set, so it must be a host name, not {hosts[0]!r}. Set PUBLIC_BASE_URL."
        )


def _development_secret_key(instance_path: Path) -> str:
    """Generate once into the instance folder, so logins survive a restart in development."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def register_logging(app: Flask) -> None:
    from studygroup.logging import configure_logging

    configure_logging(app)


def register_extensions(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from studygroup.db import enable_sqlite_foreign_keys, end_reads_with_commit, watch_for_changes
    from studygroup.extensions import babel, csrf, db, login_manager
    from studygroup.i18n import select_locale, select_timezone
    from studygroup.schema_migrations import register_migrations

    db.init_app(app)

    # Registered after Flask-SQLAlchemy's: teardowns run last first, so before its remove().
    @app.teardown_appcontext
    def _end_reads(error: BaseException | None) -> None:
        if error is None:
            end_reads_with_commit(db.session)

    watch_for_changes()
    register_migrations(app)  # before any command is added: it gives the app its app.cli
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.localize_callback = str  # turns the lazy message into the reader's language
    from studygroup import models  # noqa: F401  (maps every model before the first request)
    from studygroup.calendar import FEED_PATHS, tokens
    from studygroup.calendar.cache import FeedCache, VersionMemo
    from studygroup.cookie_session import CookieSessionInterface
    from studygroup.pagecache import revision
    from studygroup.pagecache.cache import PageCache

    revision.listen()
    tokens.listen()
    # Feeds, and the API: it authenticates by bearer token only, so the cookie is not even read.
    app.session_interface = CookieSessionInterface(
        sessionless=re.compile(f"{FEED_PATHS.pattern}|/api/.*")
    )
    app.extensions["page_cache"] = PageCache(app.config["PAGE_CACHE_MAX_BYTES"])
    app.extensions["calendar_feeds"] = FeedCache(app.config["CALENDAR_CACHE_MAX_BYTES"])
    app.extensions["calendar_versions"] = VersionMemo(app.config["CALENDAR_VERSION_TTL"])

    enable_sqlite_foreign_keys()  # the engines are made on first use (studygroup.extensions)


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` ids stop at the largest database integer, so a huge id is a 404, not an
    overflow in the driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class LinkOnDemandRule(Rule):
    """A URL rule that writes its link-building function the first time a link to it is
    built, not when it is added (Flask's `url_rule_class`).

    Werkzeug compiles two Python functions per rule as it is added, one for url_for (leftover
    values become the query string) and one without: nine tenths of the URL map's start-up
    (~60 ms for 114 rules), for functions of which a worker needs only those its pages link
    to, and url_for's only. Matching requests is untouched (tests/test_startup.py).
    """

    def _compile_builder(self, append_unknown: bool = True):
        name = "_build_unknown" if append_unknown else "_build"

        def build_first(rule: Rule, **values):
            built = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, name, built)  # this rule's later links go straight to it
            return built(**values)

        return build_first


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseIdConverter
    app.url_rule_class = LinkOnDemandRule
    # Importing the routes modules attaches their views to each feature's blueprint.
    from studygroup.announcements import bp as announcements_bp
    from studygroup.announcements import routes as _announcement_routes  # noqa: F401
    from studygroup.api import bp as api_bp
    from studygroup.api import routes as _api_routes  # noqa: F401
    from studygroup.apitokens import bp as apitokens_bp
    from studygroup.apitokens import routes as _apitoken_routes  # noqa: F401
    from studygroup.auth import bp as auth_bp
    from studygroup.auth import routes as _auth_routes  # noqa: F401
    from studygroup.calendar import bp as calendar_bp
    from studygroup.calendar import routes as _calendar_routes  # noqa: F401
    from studygroup.checkin import bp as checkin_bp
    from studygroup.checkin import routes as _checkin_routes  # noqa: F401
    from studygroup.coworking import bp as coworking_bp
    from studygroup.coworking import routes as _coworking_routes  # noqa: F401
    from studygroup.errors import bp as errors_bp
    from studygroup.errors import handlers as _error_handlers  # noqa: F401
    from studygroup.groups import bp as groups_bp
    from studygroup.groups import routes as _group_routes  # noqa: F401
    from studygroup.introductions import bp as introductions_bp
    from studygroup.introductions import routes as _introduction_routes  # noqa: F401
    from studygroup.main import bp as main_bp
    from studygroup.main import routes as _main_routes  # noqa: F401
    from studygroup.participants import bp as participants_bp
    from studygroup.participants import routes as _participant_routes  # noqa: F401
    from studygroup.participants.organize_routes import bp as participant_organize_bp
    from studygroup.people import bp as people_bp
    from studygroup.people import routes as _people_routes  # noqa: F401
    from studygroup.relationships import bp as relationships_bp
    from studygroup.relationships import routes as _relationship_routes  # noqa: F401
    from studygroup.sessions import bp as sessions_bp
    from studygroup.sessions import edit_routes as _session_edit_routes  # noqa: F401
    from studygroup.sessions import routes as _session_routes  # noqa: F401
    from studygroup.sharing import bp as sharing_bp
    from studygroup.sharing import routes as _sharing_routes  # noqa: F401
    from studygroup.signups import availability_routes as _availability_routes  # noqa: F401
    from studygroup.signups import bp as signups_bp
    from studygroup.signups import offer_routes as _offer_routes  # noqa: F401
    from studygroup.signups import routes as _signup_routes  # noqa: F401
    from studygroup.signups import staffing_routes as _staffing_routes  # noqa: F401
    from studygroup.signups import team_routes as _team_routes  # noqa: F401
    from studygroup.thanks import bp as thanks_bp
    from studygroup.thanks import routes as _thanks_routes  # noqa: F401
    from studygroup.webhooks import bp as webhooks_bp
    from studygroup.webhooks import routes as _webhook_routes  # noqa: F401

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(groups_bp)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(signups_bp)
    app.register_blueprint(coworking_bp)
    app.register_blueprint(relationships_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(sharing_bp)
    app.register_blueprint(thanks_bp)
    app.register_blueprint(participant_organize_bp)
    app.register_blueprint(announcements_bp)
    app.register_blueprint(participants_bp)
    app.register_blueprint(introductions_bp)
    app.register_blueprint(checkin_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(apitokens_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(errors_bp)
    from studygroup.extensions import csrf

    csrf.exempt(api_bp)  # bearer tokens only: a cookie authorizes nothing there

    from studygroup import templating

    templating.register(app)


def register_security(app: Flask) -> None:
    from studygroup.input import register_input_guards
    from studygroup.security import register_security_headers

    register_input_guards(app)
    register_security_headers(app)


def register_cli(app: Flask) -> None:
    from studygroup.apitokens.cli import api_token_command
    from studygroup.coworking.ties import rebuild_ties_command
    from studygroup.demo import demo_command
    from studygroup.relationships.birthdays import send_birthday_digest_command
    from studygroup.signups.reminders import send_reminders_command
    from studygroup.signups.team_mail import send_team_suggestions_command
    from studygroup.webhooks.delivery import send_webhooks_command

    app.cli.add_command(demo_command)
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(rebuild_ties_command)
    app.cli.add_command(send_birthday_digest_command)
    app.cli.add_command(send_team_suggestions_command)
    app.cli.add_command(api_token_command)
    app.cli.add_command(send_webhooks_command)
