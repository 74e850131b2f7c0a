"""Every API error has one shape: `{"error": {"code", "message", "fields"}}`, the message in
the caller's language. Also used for the app's own 404/405/500 under /api/ (errors.handlers)."""

from flask import jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# Messages for the status codes any operation may answer.
STATUS_ERRORS = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("A valid API token is needed.")),
    403: ("forbidden", _l("You may not do this.")),
    404: ("not_found", _l("There is nothing at this address, or you may not see it.")),
    405: ("method_not_allowed", _l("This address does not accept that method.")),
    406: ("not_acceptable", _l("This address answers in JSON only.")),
    409: ("conflict", _l("This cannot be done now.")),
    413: ("too_large", _l("What you sent is too large.")),
    415: ("unsupported_media_type", _l("Send the body as JSON (Content-Type: application/json).")),
    422: ("invalid", _l("Some fields are not valid.")),
    429: ("rate_limited", _l("Too many requests: wait before trying again.")),
    500: ("server_error", _l("Something went wrong on our side. Nothing was changed.")),
    503: ("unavailable", _l("The service is unavailable for a moment. Try again soon.")),
}


class ApiError(Exception):
    """Raised by the API's views and hooks; answered in the error shape."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        default_code, default_message = STATUS_ERRORS.get(status, STATUS_ERRORS[400])
        self.status = status
        self.code = code or default_code
        self.message = message or str(default_message)
        self.fields = fields or {}
        self.headers = headers or {}
        super().__init__(self.code)


def error_response(error: ApiError):
    response = jsonify(
        {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
    )
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def status_error(status: int):
    """The error shape for a bare status (an unknown URL under /api/, a 500)."""
    return error_response(ApiError(status if status in STATUS_ERRORS else 500))


# pydantic's error types, said in the caller's language (anything else: "not valid").
def _field_message(error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind.startswith("int") or kind == "int_type":
        return _("Give a whole number.")
    if kind.startswith("bool"):
        return _("Give true or false.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Give a number of at least %(limit)s.", limit=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("Give a number of at most %(limit)s.", limit=ctx.get("le", ctx.get("lt")))
    if kind == "string_too_long":
        return _("At most %(count)s characters.", count=ctx.get("max_length"))
    if kind in ("string_too_short", "too_short"):
        return _("This field is required.")
    if kind.startswith("string"):
        return _("Give text.")
    if kind.startswith("datetime") or kind.startswith("timezone"):
        return _("Give a date and time in ISO 8601 with its offset.")
    if kind == "time_offset":
        return _("Give the time without an offset: the group's time zone applies.")
    if kind.startswith("time"):
        return _("Give a time as HH:MM.")
    if kind.startswith("date"):
        return _("Give a date as YYYY-MM-DD.")
    if kind == "value_error":  # our own validators: dates far from any group's life
        return _("Give a date between the years 2000 and 2200.")
    if kind == "enum" or kind == "literal_error":
        return _("Choose one of: %(choices)s.", choices=ctx.get("expected", ""))
    return _("This value is not valid.")


def fields_of(errors: list[dict]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in errors:
        name = ".".join(str(part) for part in error.get("loc", ())) or "body"
        fields.setdefault(name, _field_message(error))
    return fields


def refuse_invalid_request(_request, _response, validation_error, _instance, *_rest):
    """Spectree's hook before the view: a request that fails its model is a 422 in our shape
    (instead of Spectree's list of pydantic errors)."""
    if validation_error is not None:
        raise ApiError(422, fields=fields_of(validation_error.errors()))


def check_response(_request, _response, validation_error, _instance, *_rest):
    """Spectree's hook after the view: a response that does not match its model is our bug."""
    if validation_error is not None:
        raise RuntimeError(f"API response does not match its schema: {validation_error}")
