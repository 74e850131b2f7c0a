"""What every API request goes through: the caller's language, their token, the rate limit,
JSON-only bodies; and on the way out ETag/304 and the rate-limit headers."""

from flask import current_app, g, request
from flask_babel import gettext as _

from studygroup.api import bp
from studygroup.api.auth import Caller
from studygroup.api.errors import ApiError, error_response
from studygroup.apitokens.limits import take
from studygroup.apitokens.services import TokenRefused, authenticate
from studygroup.auth.models import User
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.security import client_address

JSON_BODY_METHODS = ("POST", "PUT", "PATCH")


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    response = error_response(error)
    response.headers.update(g.get("api_rate_headers", {}))
    return response


# The document and the page that reads it cost no token and no count.
UNCOUNTED_ENDPOINTS = ("api.openapi_json", "api.docs")


@bp.before_request
def _authenticate_and_count():
    """The bearer token, if any, says who calls (a bad one is a 401 even where anonymous
    reads would do: a client should learn its token failed); then the request is counted
    against the token's rate limit (anonymous: the address's)."""
    if request.endpoint in UNCOUNTED_ENDPOINTS:
        return
    now = utcnow()
    header = request.headers.get("Authorization")
    key = f"ip:{client_address()}"
    if header is not None:
        try:
            bearer = authenticate(db.session, header, now=now)
        except TokenRefused as refused:
            raise ApiError(
                401,
                refused.code,
                str(refused.message),
                headers={"WWW-Authenticate": f'Bearer realm="studygroup", error="{refused.code}"'},
            ) from None
        user = db.session.get(User, bearer.user_id)
        if user is None:
            raise ApiError(401, "invalid_token")
        g.api_caller = Caller(user, bearer.token_id, frozenset(str(s) for s in bearer.scopes))
        key = f"token:{bearer.token_id}"
    limit = take(
        key,
        now=now,
        limit=current_app.config["API_RATE_LIMIT"],
        window_seconds=current_app.config["API_RATE_WINDOW_SECONDS"],
    )
    g.api_rate_headers = limit.headers()
    if not limit.allowed:
        raise ApiError(429)
    if request.method in JSON_BODY_METHODS and header is None:
        # Every write needs a token: said before any field is checked.
        raise ApiError(
            401, "missing_token", headers={"WWW-Authenticate": 'Bearer realm="studygroup"'}
        )
    if request.method == "GET" and header is not None and "read" not in g.api_caller.scopes:
        raise ApiError(403, "insufficient_scope", fields={"scope": "read"})


@bp.before_request
def _json_body_only():
    """A write's body, if any, must be a JSON object sent as application/json: anything else
    is a 415 or 400 in the error shape, before Spectree validates its fields."""
    if request.method not in JSON_BODY_METHODS:
        return
    if not request.content_length and not request.mimetype:
        return  # no body at all: as {} (a write with nothing to say, such as a cancel)
    if request.mimetype != "application/json":
        raise ApiError(415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "invalid_json",
            _("The body must be a JSON object."),
            fields={"body": _("Send a JSON object.")},
        )


@bp.after_request
def _conditional(response):
    """Reads carry a strong ETag from their body's hash: If-None-Match with it is a 304.
    What a read says depends on the token (names for members) and the language."""
    response.headers["Vary"] = "Authorization, Accept-Language"
    response.headers.update(g.get("api_rate_headers", {}))
    if request.method == "GET" and response.status_code == 200 and not response.direct_passthrough:
        response.headers.setdefault("Cache-Control", "private, no-cache")
        response.add_etag()
        response.make_conditional(request)
    else:
        response.headers.setdefault("Cache-Control", "no-store")
    return response
