"""Rendered pages kept in each process, keyed so that a kept page is never wrong.

The key is the page (endpoint, URL values, query string, host), the viewer (account id or
nobody), the language and time zone it is shown in, the data revision read by the request's
first statement (`note_revision`, see revision.py) and the minute: any committed write
makes a new key, and a page that tells the time ("today", "upcoming") is rebuilt each minute.
Entries of an older revision can never be asked for again, so a newer revision empties the
cache. What a page holds that is the request's own stays out of it: the CSRF token is a
placeholder filled in per response, a page with flash messages to show is not kept, nor one
whose view set a cookie, changed the session or answered anything but 200 HTML.
"""

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import wraps

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_timezone
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from studygroup import db as database
from studygroup.extensions import db
from studygroup.pagecache.revision import wrote_in_this_transaction

# Stands in for the CSRF token while a page is rendered to be kept (Flask-WTF returns
# g.csrf_token when set); random per process, so no page can contain it by chance.
CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(12)}"
_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
_KEPT_HEADERS = {"Content-Type", "Content-Length"}


class PageCache:
    """Bodies by key, for one revision at a time, bounded by size (least recently used out).

    A body is kept encoded and cut at the CSRF placeholder, so serving it is one join."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[bytes, ...]] = OrderedDict()
        self._size = 0
        self._revision: int | None = None
        self._lock = threading.Lock()
        self.builds = 0
        self.hits = 0

    def get(self, revision: int, key: Hashable) -> tuple[bytes, ...] | None:
        with self._lock:
            if revision != self._revision:
                return None
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return body

    def put(self, revision: int, key: Hashable, body: str) -> None:
        parts = tuple(body.encode().split(_PLACEHOLDER_BYTES))
        size = sum(map(len, parts))
        with self._lock:
            self.builds += 1
            if self._revision is None or revision > self._revision:
                self._clear()
                self._revision = revision
            if revision != self._revision or size > self.max_bytes or key in self._entries:
                return  # built from older data than what is kept now: serve, do not keep
            self._entries[key] = parts
            self._size += size
            while self._size > self.max_bytes:
                _key, old = self._entries.popitem(last=False)
                self._size -= sum(map(len, old))

    def clear(self) -> None:
        with self._lock:
            self._clear()
            self._revision = None

    def _clear(self) -> None:
        self._entries.clear()
        self._size = 0

    def __len__(self) -> int:
        return len(self._entries)


_REVISION = "studygroup.data_revision"


def note_revision(number: int | None) -> None:
    """The data revision this request read (its first statement), for its page's key. Kept in
    the request's environ: `g` may outlive a request (a test's app context)."""
    if has_request_context():
        request.environ[_REVISION] = number


def request_revision() -> int | None:
    return request.environ.get(_REVISION)


def page_key() -> tuple | None:
    """This request's key, or None when its page must be built fresh (and not kept)."""
    revision = request_revision()
    if (
        revision is None
        or request.method != "GET"
        or "_flashes" in session
        or "csrf_token" in g
        or not current_app.config["PAGE_CACHE_MAX_BYTES"]
        or _wrote_unseen()
    ):
        return None
    now = database.utcnow()
    return (
        request.endpoint,
        tuple(sorted((request.view_args or {}).items())),
        request.query_string,
        request.scheme,  # the host URL, as links to this site are made (without building it)
        request.host,
        request.root_path,
        current_user.get_id() if current_user.is_authenticated else None,
        str(get_locale()),
        str(get_timezone()),
        now.replace(second=0, microsecond=0),
    )


def _wrote_unseen() -> bool:
    """This request's own transaction wrote and has not committed (a test's, say)."""
    session = db.session()
    return session.in_transaction() and wrote_in_this_transaction(session.connection())


def kept_page(view: Callable) -> Callable:
    """Serve the view's page from the cache while nothing it could show has changed.

    For GET views whose page depends only on the database, the viewer, the URL, the language
    and time zone, and the minute: no side effects, nothing from the session but the login.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        key = page_key()
        if key is None:
            return view(*args, **kwargs)
        cache: PageCache = current_app.extensions["page_cache"]
        revision = request_revision()
        parts = cache.get(revision, key)
        if parts is not None:
            return current_app.response_class(_filled(parts), mimetype="text/html")
        session_before = dict(session)
        g.csrf_token = CSRF_PLACEHOLDER
        try:
            response = current_app.make_response(view(*args, **kwargs))
        finally:
            g.pop("csrf_token", None)
        if response.direct_passthrough or response.is_streamed:
            return response
        body = response.get_data(as_text=True)
        if (
            response.status_code == 200
            and response.mimetype == "text/html"
            and set(response.headers.keys()) <= _KEPT_HEADERS
            and dict(session) == session_before  # the view left the session alone
        ):
            cache.put(revision, key, body)
        response.set_data(_with_csrf_token(body))
        return response

    return wrapped


def _with_csrf_token(body: str) -> str:
    if CSRF_PLACEHOLDER not in body:
        return body
    return body.replace(CSRF_PLACEHOLDER, csrf_token())


def _filled(parts: tuple[bytes, ...]) -> bytes:
    if len(parts) == 1:
        return parts[0]
    return csrf_token().encode().join(parts)


_SIGNED_TOKENS: dict[tuple, str] = {}  # (signing key, the session's secret) -> its token


def csrf_token() -> str:
    """Flask-WTF's token for this session (`generate_csrf`), signed once per process for each
    session's secret rather than on every page served (a serializer built and an HMAC signed
    each time: about 0.1 ms a kept page). While tokens never expire (WTF_CSRF_TIME_LIMIT
    None), any token signed for the secret is as valid as a fresh one, so the same one is as
    good; with a time limit, each page signs its own again."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    secret = session.get(field)
    if secret is None or field in g or config.get("WTF_CSRF_TIME_LIMIT") is not None:
        return generate_csrf()  # a new secret for the session, or one token per request
    key = (config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, secret)
    token = _SIGNED_TOKENS.get(key)
    if token is None:
        token = generate_csrf()
        if len(_SIGNED_TOKENS) >= 4096:
            _SIGNED_TOKENS.clear()
        _SIGNED_TOKENS[key] = token
    else:
        setattr(g, field, token)  # as generate_csrf keeps it for the rest of the request
    return token
