"""Flask's signed-cookie session, but none at all on the URLs that must not have one."""

import re

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class Unsaved(SecureCookieSession):
    """An empty session that is never saved: no Set-Cookie, no `Vary: Cookie`. Writable, so
    that an error page rendered for such a URL works as for a visitor."""


class CookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self, sessionless: re.Pattern[str]) -> None:
        self.sessionless = sessionless

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # Opened before routing, so by path: the cookie is not even read.
        if self.sessionless.fullmatch(request.path):
            return Unsaved()
        return super().open_session(app, request)

    def is_null_session(self, obj: object) -> bool:
        return isinstance(obj, Unsaved) or super().is_null_session(obj)
