"""Absolute links: for what leaves without a request to answer (emails, the CLI), and for
pages and feeds answering one.

A request's Host header is whatever the sender typed: an email built from it could send a
member to any site. So emails never look at the request; pages may, because production starts
only with `PUBLIC_BASE_URL` or `TRUSTED_HOSTS` (with which Flask answers any other Host 400).
"""

from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

# Links in emails in development and tests when PUBLIC_BASE_URL is not set: `make run`'s server.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


def public_base_url() -> str:
    """The site's address for emails and the CLI, never taken from a request:
    `PUBLIC_BASE_URL` (e.g. https://studygroup.example); else, in production, https:// and the
    first of `TRUSTED_HOSTS`; else the development server."""
    config = current_app.config
    if config.get("PUBLIC_BASE_URL"):
        return config["PUBLIC_BASE_URL"].rstrip("/")
    if config["ENV_NAME"] == "production" and config.get("TRUSTED_HOSTS"):
        return f"https://{config['TRUSTED_HOSTS'][0]}"
    return DEVELOPMENT_BASE_URL


def page_base_url() -> str:
    """The site's address for links on a page or in a feed: `PUBLIC_BASE_URL`, else the host
    this request came to (behind a proxy, as ProxyFix reports it). That host is trusted:
    production runs only with PUBLIC_BASE_URL or TRUSTED_HOSTS, and Flask refuses other hosts."""
    if current_app.config.get("PUBLIC_BASE_URL") or not has_request_context():
        return public_base_url()
    return request.url_root.rstrip("/")


def page_url(endpoint: str, **values) -> str:
    """An absolute link shown on a page (links to copy: invitations, shared pages, feeds)."""
    return external_url(endpoint, base_url=page_base_url(), **values)


def external_url(endpoint: str, *, base_url: str | None = None, **values) -> str:
    """An absolute link for an email (`public_base_url`) unless `base_url` says otherwise."""
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
