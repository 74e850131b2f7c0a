"""What every API request goes through: the caller's language, their token, the rate limit,
JSON-only bodies; and on the way out ETag/304 and the rate-limit headers."""

from flask import g, request
from flask_babel import gettext as _

from studygroup.api import bp
from studygroup.api.errors import ApiError, error_response

JSON_BODY_METHODS = ("POST", "PUT", "PATCH")


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    response = error_response(error)
    response.headers.update(g.get("api_rate_headers", {}))
    return response


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
