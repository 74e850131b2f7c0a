"""Checks every request gets before any view sees it.

- Whole numbers are ASCII digits within the database's integer. Python's `int()` also takes
  "١٢", "１２", "1_0" and " 5", and `str.isdigit()` is true for "²", which `int()` refuses;
  ids past 2**31-1 overflow the driver (SQLite) or the column (PostgreSQL). `database_int`
  is the one parser: forms use it (studygroup.forms), and so does `request.args.get(...,
  type=int)` anywhere, through the request class below.
- No NUL or other control character in a path or a query string: PostgreSQL refuses NUL in
  text, and none belongs in an address. A path with one is a 404 (no page has such an
  address), a query string with one a 400 that says why, except in the arguments a view
  takes as typed text (`free_text`): that view says what is wrong next to its field. Form
  text is cleaned by the forms.
"""

import re

from flask import Flask, Request, abort, request
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict

DATABASE_INT_MIN = -(2**31)
DATABASE_INT_MAX = 2**31 - 1

_INTEGER = re.compile(r"-?[0-9]{1,12}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_ascii_number(text: str) -> bool:
    """True for "0".."999…" in ASCII digits only (no sign, no spaces, no other scripts)."""
    return _INTEGER.fullmatch(text) is not None and not text.startswith("-")


def database_int(value) -> int:
    """`value` as an int the database can store, else ValueError (TypeError for non-text).

    Text must be ASCII digits with an optional minus sign, nothing else."""
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        if _INTEGER.fullmatch(value) is None:
            raise ValueError("not a whole number in ASCII digits")
        number = int(value)
    else:
        raise TypeError("not a number")
    if not DATABASE_INT_MIN <= number <= DATABASE_INT_MAX:
        raise ValueError("out of the database's range")
    return number


def _strict(type_):
    return database_int if type_ is int else type_


class StrictParameters(ImmutableMultiDict):
    """Query strings and forms: `get(..., type=int)` parses like `database_int`, so a bad or
    huge number is the default, as any value `type` refuses."""

    def get(self, key, default=None, type=None):
        return super().get(key, default, _strict(type))

    def getlist(self, key, type=None):
        return super().getlist(key, _strict(type))


class StudygroupRequest(Request):
    parameter_storage_class = StrictParameters


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


def free_text(*names: str):
    """Mark a view whose query-string arguments `names` are typed text (a search box): the
    guard lets control characters through in them, and the view refuses them itself, next
    to the field."""

    def mark(view):
        view.free_text_args = frozenset(names)
        return view

    return mark


def register_input_guards(app: Flask) -> None:
    app.request_class = StudygroupRequest

    @app.before_request
    def _refuse_control_characters():
        if has_control_characters(request.path):
            abort(404)
        typed = getattr(app.view_functions.get(request.endpoint), "free_text_args", ())
        if any(
            has_control_characters(key) or (key not in typed and has_control_characters(value))
            for key, value in request.args.items(multi=True)
        ):
            abort(
                400,
                _(
                    "The address contains characters that are not allowed (control "
                    "characters). Check the link and try again."
                ),
            )
