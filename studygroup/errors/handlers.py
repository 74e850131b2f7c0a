"""Friendly error pages (JSON for API and probe callers); a 500 rolls the session back."""

import contextlib

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from studygroup.api import PREFIX as API_PREFIX
from studygroup.api.errors import status_error as api_status_error
from studygroup.db import is_unreachable, mark_unreachable
from studygroup.errors import bp
from studygroup.extensions import db
from studygroup.logging import redacted_path, security_event


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _render(status: int, title: str, message: str, *, headers=None):
    if isinstance(request.routing_exception, SecurityError):
        # A Host not in TRUSTED_HOSTS: no link can be built for it (nor should be), so no page.
        return "Bad request: this site does not answer to that host name.\n", 400, _PLAIN
    if request.path.startswith(API_PREFIX):  # the API's one error shape, whatever failed
        response = api_status_error(status)
        response.headers.update(headers or {})
        return response
    if _wants_json():
        return {"error": title, "message": message}, status, headers or {}
    page = render_template("errors/error.html", status=status, title=title, message=message)
    return page, status, headers or {}


_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}
RETRY_AFTER_SECONDS = 30


@bp.app_errorhandler(CSRFError)
def csrf_error(error):
    return _render(
        400,
        _("The form has expired"),
        _("Please go back, reload the page and send the form again. Nothing was changed."),
    )


def _default_description(error: HTTPException) -> str | None:
    """Werkzeug's English text for this kind of error (some subclasses make it a property)."""
    for cls in type(error).__mro__:
        if isinstance(cls.__dict__.get("description"), str):
            return cls.__dict__["description"]
    return None


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    if error.code == 403:
        security_event("forbidden", path=redacted_path())
    messages = {
        403: (_("Not allowed"), _("You do not have access to this page.")),
        404: (_("Page not found"), _("There is no page at this address.")),
        405: (_("Not allowed"), _("This address does not accept that request.")),
        400: (_("Not understood"), _("The request could not be handled.")),
        413: (_("Too large"), _("What you sent is too large.")),
        429: (_("Too many requests"), _("Please wait a moment and try again.")),
    }
    title, message = messages.get(
        error.code or 500, (error.name, _("The request could not be handled."))
    )
    if error.description != _default_description(error):
        # Our own `abort(400, _("..."))` says why, in the reader's language.
        message = error.description
    return _render(error.code or 500, title, message)


@bp.app_errorhandler(InternalServerError)
@bp.app_errorhandler(Exception)
def server_error(error):
    if isinstance(error, HTTPException) and not isinstance(error, InternalServerError):
        return http_error(error)
    original = getattr(error, "original_exception", None) or error
    if is_unreachable(original):
        return database_unreachable(original)
    db.session.rollback()
    current_app.logger.error("unhandled error", exc_info=original)
    return _render(
        500,
        _("Something went wrong"),
        _("The error is logged and we will look at it. Please try again later."),
    )


def database_unreachable(error: BaseException):
    """503 with Retry-After, in the language of the session or the browser. Nothing here
    asks the database anything, the logged-in member included; the request's log line
    (studygroup.logging) is the one line that reports the failure."""
    mark_unreachable(error)
    with contextlib.suppress(sa.exc.SQLAlchemyError):  # a dead connection may refuse even this
        db.session.rollback()
    return _render(
        503,
        _("Temporarily unavailable"),
        _("studygroup cannot reach its database just now. Please try again in a minute."),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
