"""Absolute links for places with no request (emails, feeds, the CLI)."""

from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


def public_base_url() -> str:
    """`PUBLIC_BASE_URL` (e.g. https://studygroup.example) when set, else the request's host
    (behind a proxy, as ProxyFix reports it), else the development server."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    return DEVELOPMENT_BASE_URL


def external_url(endpoint: str, *, base_url: str | None = None, **values) -> str:
    return url_builder(base_url or public_base_url())(endpoint, **values)


def url_builder(base_url: str):
    """`build(endpoint, **values)` for many absolute links to one site (binds the map once)."""
    parts = urlsplit(base_url)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )

    def build(endpoint: str, **values) -> str:
        return adapter.build(endpoint, values, force_external=True)

    return build
