"""Posting to an organizer's URL without letting it reach inside our network (SSRF).

`vet_url` allows only http(s), resolves the host and refuses it when ANY of its addresses is
not public (loopback, private, link-local, CGNAT, unique-local, multicast, reserved,
unspecified; IPv4 inside IPv6 is unwrapped first). `post` then connects to the address that
was vetted (pinned: a DNS answer that changes between the check and the connection cannot
swap it), sends the host's name as Host header and TLS server name, follows no redirect, and
reads at most MAX_RESPONSE_BYTES of the answer within the timeout.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

MAX_RESPONSE_BYTES = 64 * 1024
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(Exception):
    """The URL may not be posted to; `message` says why, for the form or the attempt log."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class VettedURL:
    scheme: str
    host: str
    port: int
    target: str  # path and query
    address: str  # the resolved address to connect to


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(text: str) -> bool:
    """Whether an address is on the public internet (not ours, not anyone's private one)."""
    address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone is link-local anyway
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not is_public_address(str(inner)):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def check_form(url: str) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and target; refuses what is not a plain http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UnsafeURL(_l("This is not a valid address.")) from error
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(_l("Only http:// and https:// addresses can receive webhooks."))
    if not parts.hostname:
        raise UnsafeURL(_l("The address needs a host name."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL(_l("Put no user name or password in the address."))
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def vet_url(url: str, *, allow_private: bool = False) -> VettedURL:
    """Check the URL and resolve its host; the first address, to connect to. Raises UnsafeURL.

    `allow_private` (WEBHOOK_ALLOW_PRIVATE_ADDRESSES) lets tests reach a server on 127.0.0.1.
    """
    scheme, host, port, target = check_form(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeURL(_l("This host name cannot be found.")) from error
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise UnsafeURL(_l("This host name cannot be found."))
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise UnsafeURL(
            _l(
                "This address leads to a private or local network. Webhooks go only to "
                "addresses on the public internet."
            )
        )
    return VettedURL(scheme, host, port, target, addresses[0])


@dataclass
class Answer:
    status: int | None
    error: str
    duration_ms: int


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, vetted: VettedURL, timeout: float) -> None:
        super().__init__(vetted.host, vetted.port, timeout=timeout)
        self.vetted = vetted

    def connect(self) -> None:
        self.sock = socket.create_connection((self.vetted.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, vetted: VettedURL, timeout: float) -> None:
        super().__init__(
            vetted.host, vetted.port, timeout=timeout, context=ssl.create_default_context()
        )
        self.vetted = vetted

    def connect(self) -> None:
        sock = socket.create_connection((self.vetted.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool
) -> Answer:
    """POST `body` to `url` (vetted again now: DNS may have changed since it was saved).
    Never raises: a refusal, a network error or a timeout is an Answer with no status."""
    started = time.monotonic()

    def answer(status: int | None, error: str = "") -> Answer:
        return Answer(status, error[:300], round((time.monotonic() - started) * 1000))

    try:
        vetted = vet_url(url, allow_private=allow_private)
    except UnsafeURL as refused:
        return answer(None, str(refused.message))
    kind = _PinnedHTTPS if vetted.scheme == "https" else _PinnedHTTP
    connection = kind(vetted, timeout)
    try:
        connection.request("POST", vetted.target, body=body, headers=headers)
        response = connection.getresponse()
        _read_capped(response, deadline=started + timeout)
        return answer(response.status)
    except TimeoutError:
        return answer(None, "timed out")
    except (OSError, http.client.HTTPException, ssl.SSLError) as error:
        return answer(None, f"{type(error).__name__}: {error}")
    finally:
        connection.close()


def _read_capped(response: http.client.HTTPResponse, *, deadline: float) -> None:
    """Read (and drop) up to MAX_RESPONSE_BYTES of the answer, within the deadline: a
    receiver dripping bytes slowly cannot hold the sender."""
    left = MAX_RESPONSE_BYTES
    while left > 0:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read1(min(left, 8192))
        if not chunk:
            return
        left -= len(chunk)
