"""Flask's signed-cookie session, but none at all on the URLs that must not have one, and a
cookie verified once per process, not on every request."""

import re
import time

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

# Cookies verified, at most this many at a time (a few bytes each): then they start over.
VERIFIED_COOKIES = 4096
_SCALARS = (str, int, float, bool, type(None))


class Unsaved(SecureCookieSession):
    """An empty session that is never saved: no Set-Cookie, no `Vary: Cookie`. Writable, so
    that an error page rendered for such a URL works as for a visitor."""


class CookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self, sessionless: re.Pattern[str]) -> None:
        self.sessionless = sessionless
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}
        # cookie -> (when it was signed, its values): a member's browser sends the same cookie
        # request after request; checking its signature (and building the serializer, which
        # Flask does each time) cost about 0.1 ms a request, more than the rest of opening it.
        self._verified: dict[tuple, tuple[float, dict]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is not None:
                self._serializers[keys] = serializer
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # Opened before routing, so by path: the cookie is not even read.
        if self.sessionless.fullmatch(request.path):
            return Unsaved()
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (id(serializer), value)
        verified = self._verified.get(key)
        if verified is None:
            try:
                data, signed = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:  # also an expired one
                return self.session_class()
            verified = (signed.timestamp(), data)
            # Kept only when no value can change in place: a session gets a copy of the dict.
            if all(isinstance(v, _SCALARS) for v in data.values()):
                if len(self._verified) >= VERIFIED_COOKIES:
                    self._verified.clear()
                self._verified[key] = verified
        elif not 0 <= int(time.time()) - verified[0] <= max_age:
            return self.session_class()  # expired since, as itsdangerous would say
        return self.session_class(verified[1])

    def is_null_session(self, obj: object) -> bool:
        return isinstance(obj, Unsaved) or super().is_null_session(obj)
