"""Security headers, safe redirects and the client's address."""

from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.exceptions import HTTPException

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# No page needs the camera, microphone or location, except reception's check-in page, which
# scans QR codes and sets CAMERA_ALLOWED itself (studygroup.checkin).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"
CAMERA_ALLOWED = "camera=(self), microphone=(), geolocation=()"


def register_security_headers(app: Flask) -> None:
    production = app.config["ENV_NAME"] == "production"

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CSP)
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
            # Pages depend on who is logged in: never let a shared cache keep them.
            headers.setdefault("Cache-Control", "no-store")
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


def safe_next_url(target: str | None) -> str | None:
    """Return `target` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    return target


def return_path() -> str | None:
    """Where "Log in" and "Create account" bring a visitor back to: on those two pages, the
    `next` they carry on (query string, or the form's hidden field); elsewhere the page itself
    (a GET page other than the start page)."""
    if request.endpoint in ("auth.login", "auth.register"):
        try:
            posted = request.form.get("next")
        except HTTPException:  # a body refused as too large: its error page lands here too
            posted = None
        return safe_next_url(posted or request.args.get("next"))
    if request.method != "GET" or request.path == "/":
        return None
    return safe_next_url(request.full_path if request.query_string else request.path)


def client_address() -> str:
    return request.remote_addr or "unknown"
