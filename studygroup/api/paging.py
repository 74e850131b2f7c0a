"""Cursor pagination: a page is the items after the last one the caller saw, by a sort key
that never repeats (the list's order, then the id), so rows added meanwhile neither repeat
nor vanish, and a page costs the same wherever it is in the list.

The cursor is that key, base64url-encoded JSON: opaque to callers, who only pass it back.
"""

import base64
import binascii
import json
from typing import Any

from flask import request, url_for
from flask_babel import gettext as _

from studygroup.api.errors import ApiError


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *types: type) -> tuple | None:
    """The key in `cursor`, each part checked against `types`; None for the first page. A
    cursor that is not one of ours is a 400 naming the field."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != len(types)
        or not all(type(part) is kind for part, kind in zip(key, types, strict=True))
        or any(type(part) is int and not -(2**31) <= part < 2**31 for part in key)
    ):
        raise ApiError(
            400,
            "invalid_cursor",
            _("This cursor is not one this list gave."),
            fields={"cursor": _("Pass back the next_cursor of the previous page, unchanged.")},
        )
    return tuple(key)


def next_page(next_cursor: str | None, **view_args) -> dict:
    """`next_cursor` and the URL of the next page (same query, that cursor), or both None."""
    if next_cursor is None:
        return {"next_cursor": None, "next": None}
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    url = url_for(request.endpoint, **view_args, **args, cursor=next_cursor)
    return {"next_cursor": next_cursor, "next": url}
