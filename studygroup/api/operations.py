"""What every operation's document says besides its own: the error answers it can give."""

from spectree import Response

from studygroup.api.schemas import ErrorBody

# Every operation: a bad token (401), unknown or unseen (404), too many requests (429).
_ALWAYS = {"HTTP_400": ErrorBody, "HTTP_401": ErrorBody, "HTTP_404": ErrorBody}
_ALWAYS |= {"HTTP_429": ErrorBody}


def read(model) -> Response:
    """A GET: its model, or 304 to an If-None-Match that still holds."""
    return Response("HTTP_304", HTTP_200=model, **_ALWAYS)


def write(model, *, status: int = 200) -> Response:
    """A POST: its model; 403 (may see, may not do), 409 (not now, e.g. full or closed),
    415 (not JSON), 422 (fields)."""
    return Response(
        **{f"HTTP_{status}": model},
        **_ALWAYS,
        HTTP_403=ErrorBody,
        HTTP_409=ErrorBody,
        HTTP_415=ErrorBody,
        HTTP_422=ErrorBody,
    )


BEARER = [{"bearer": []}]
# Reads work without a token too (public groups); spec: bearer or nothing.
OPTIONAL_BEARER = [{"bearer": []}, {}]
