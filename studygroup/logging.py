"""Logs as one JSON object per line on stderr, for any log collector.

Requests are logged by route pattern with secret path parts (tokens) redacted, without query
strings, headers (Authorization among them), cookies or form data, so no password, token or
cookie reaches the logs. A personal API token ("sg_...") that finds its way into any line
anyway (a message, an exception) is masked as the line is written.
"""

import json
import logging
import re
import sys
import time

import sqlalchemy as sa
from flask import Flask, current_app, g, request

SECRET_VIEW_ARGS = {"token", "invite_token"}


# json.dumps with any option builds a new encoder on each call.
_JSON = json.JSONEncoder(ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if extra:
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = _JSON.encode(entry)
        if "sg_" in line:  # rare: a plain substring test costs next to nothing
            line = API_TOKEN_LIKE.sub("sg_[redacted]", line)
        return line

    def _time(self, record: logging.LogRecord) -> str:
        # Whole seconds: busy seconds log many lines, and formatting the time cost more than
        # the rest of the line.
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"))
        return self._second[1]


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    app.logger.propagate = False
    # The development server's own access log prints full paths; ours replaces it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        if request.endpoint in ("main.healthz", "main.readyz", "static"):
            return response
        started = g.get("request_started")
        user = g.get("_login_user")  # only when the request already loaded it: no extra query
        fields = {
            "method": request.method,
            "path": redacted_path(),
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        }
        unreachable = g.get("database_unreachable")
        if unreachable:
            # One line per failed request: this one, with the error (its user is unknown; an
            # expired one would ask the database again). A traceback would say nothing more.
            app.logger.error(
                "database unreachable", extra={"fields": {**fields, "error": unreachable}}
            )
            return response
        fields["user_id"] = _user_id(user)
        _log_line(app.logger, "request", fields)
        return response


def _user_id(user) -> int | None:
    """The logged-in member's id from their identity, so that a user expired by the request's
    commit is not loaded again just for the log line."""
    if user is None:  # nobody logged in, or a request that never asked (a calendar feed)
        return None
    state = sa.inspect(user, raiseerr=False)
    if state is None or state.identity is None:
        return None
    return state.identity[0]


def _log_line(logger: logging.Logger, message: str, fields: dict) -> None:
    """`logger.info(message, extra={"fields": fields})` without looking for the caller's file
    and line (the JSON has neither): on every request that was a third of the log line's cost."""
    if logger.isEnabledFor(logging.INFO):
        logger.handle(
            logger.makeRecord(
                logger.name, logging.INFO, "", 0, message, (), None, None, {"fields": fields}
            )
        )


def security_event(event: str, **fields) -> None:
    """One log line for a security-relevant event (ASVS V7): logins, logouts, password and
    role changes, refused access. Never pass passwords, tokens or cookies."""
    current_app.logger.info(
        "security event",
        extra={"fields": {"event": event, "address": request.remote_addr, **fields}},
    )


# A personal API token (studygroup.apitokens): "sg_" and 32 random bytes, URL-safe base64.
API_TOKEN_LIKE = re.compile(r"\bsg_[A-Za-z0-9_-]{16,}")
# Any path segment that looks like a token (20+ URL-safe characters), for paths that matched
# no route (a 404 or 405 has no view arguments to go by): a mistyped feed URL is still secret.
TOKEN_LIKE = re.compile(r"(?<=/)[A-Za-z0-9_-]{20,}(?=\.ics\b|/|$)")


def redacted_path() -> str:
    """The request path with secret view arguments replaced, and no query string."""
    args = request.view_args or {}
    path = request.path
    for name in SECRET_VIEW_ARGS & args.keys():
        path = path.replace(str(args[name]), "[redacted]")
    if request.url_rule is None:
        path = TOKEN_LIKE.sub("[redacted]", path)
    return path
