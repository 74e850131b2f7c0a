"""A subscription feed as it is sent: its bytes plain and gzipped, each with its own strong
ETag, and the headers that never change, all made once per version. A poll then costs a
lookup and a string comparison or two, not a header parse and a compression each time.

RFC 9110: the gzipped bytes are another representation, so they have their own ETag (a hash
of those bytes), and every answer says `Vary: Accept-Encoding` so that a shared cache keeps
the two apart.
"""

import gzip
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from werkzeug.http import http_date, is_resource_modified, parse_etags

from studygroup.calendar.feeds import Feed

CONTENT_TYPE = "text/calendar; charset=utf-8"


@dataclass(frozen=True)
class Encoded:
    body: bytes
    etag: str  # quoted, as sent and as clients send it back
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class KeptFeed:
    """What the feed cache keeps of one version of a feed."""

    plain: Encoded
    gzipped: Encoded
    last_modified: datetime
    last_modified_header: str

    @classmethod
    def of(cls, feed: Feed) -> "KeptFeed":
        # mtime=0: the same bytes, so the same ETag, in every process and after a restart.
        squeezed = gzip.compress(feed.body, compresslevel=9, mtime=0)
        return cls(
            plain=_encoded(feed.body, f'"{feed.etag}"'),
            gzipped=_encoded(squeezed, f'"{_etag(squeezed)}"', gzip=True),
            last_modified=feed.last_modified,
            last_modified_header=http_date(feed.last_modified),
        )

    @property
    def size(self) -> int:
        return len(self.plain.body) + len(self.gzipped.body)


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:40]


def _encoded(body: bytes, etag: str, *, gzip: bool = False) -> Encoded:
    headers = [("Content-Type", CONTENT_TYPE)]  # Content-Length: Werkzeug sets it from the body
    if gzip:
        headers.append(("Content-Encoding", "gzip"))
    headers += [("ETag", etag), ("Vary", "Accept-Encoding")]
    return Encoded(body, etag, tuple(headers))


@lru_cache(maxsize=256)  # clients send a handful of distinct values, again and again
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip: named, or `*`, with a quality above 0
    (`gzip;q=0` refuses it even after `*`)."""
    anything = False
    for item in accept_encoding.lower().split(","):
        name, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name == "gzip":
            return quality > 0
        if name == "*":
            anything = quality > 0
    return anything


def answer(
    kept: KeptFeed, environ: dict, *, private: bool, max_age: int, now: datetime
) -> tuple[bytes, int, list[tuple[str, str]]]:
    """Body, status and headers for a GET or HEAD of a kept feed, conditional as Werkzeug's
    `make_conditional` makes it (304, or 412 with If-Match), without parsing anything for a
    plain poll or a client sending back the ETag it holds."""
    encoded = kept.gzipped if accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")) else kept.plain
    headers = list(encoded.headers)
    # Last-Modified of a subscription feed is when this process first built this version: it
    # moves forward with every change, whatever the clocks that stamped the rows. It counts
    # whole seconds, so one less than a second old could hide a second change within that
    # second from a client that sends only If-Modified-Since: then it is left out (RFC 9110
    # 8.8.2.2), and the ETag still works.
    dated = kept.last_modified <= now - timedelta(seconds=1)
    if dated:
        headers.append(("Last-Modified", kept.last_modified_header))
    headers += [
        ("Cache-Control", f"{'private' if private else 'public'}, max-age={max_age}"),
        # A feed URL is a secret: it must never travel on as a Referer.
        ("Referrer-Policy", "no-referrer"),
    ]  # no Date: the server adds it (gunicorn always does, so one from here made two)
    status = _status(environ, encoded.etag, kept.last_modified if dated else None)
    # Werkzeug leaves out the body (and the entity headers) of a 304 and of a HEAD.
    return encoded.body, status, headers


def _status(environ: dict, etag: str, last_modified: datetime | None) -> int:
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if "HTTP_IF_MATCH" not in environ:
        if if_none_match == etag:  # a client polling with the tag it holds
            return 304
        if if_none_match is None and "HTTP_IF_MODIFIED_SINCE" not in environ:
            return 200
    if is_resource_modified(environ, etag, last_modified=last_modified):
        return 200
    return 412 if parse_etags(environ.get("HTTP_IF_MATCH")) else 304
