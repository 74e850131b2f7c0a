"""Device cookies: a browser that has logged in to an account before is let through the login
throttles for that account (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

The cookie names the accounts this browser logged in to, each with a random nonce and when it
was issued, signed (HMAC-SHA256) with the app's key. It proves only that this browser once
knew the account's password; it logs no one in. The views read and write the cookie; the
login throttle (studygroup.auth.services) decides what a valid one is worth.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "device"
# A shared computer may be used for a few accounts; the most recent ones are kept.
MAX_ACCOUNTS = 5


@dataclass(frozen=True)
class Device:
    user_id: int
    nonce: str
    issued: int  # Unix seconds


def _serializer(key: str) -> URLSafeSerializer:
    return URLSafeSerializer(
        key, salt="studygroup-device-cookie", signer_kwargs={"digest_method": hashlib.sha256}
    )


def read_cookie(value: str | None, *, key: str, now: datetime, lifetime: timedelta):
    """The accounts a device cookie names and has not outlived; None when it is forged or
    malformed (an absent cookie is an empty list)."""
    if not value:
        return []
    try:
        entries = _serializer(key).loads(value)
    except BadSignature:
        return None
    if not isinstance(entries, list):
        return None
    oldest = (now - lifetime).timestamp()
    devices = []
    for entry in entries:
        if (
            isinstance(entry, list)
            and len(entry) == 3
            and type(entry[0]) is int
            and isinstance(entry[1], str)
            and type(entry[2]) is int
        ):
            if entry[2] > oldest:
                devices.append(Device(*entry))
        else:
            return None
    return devices


def nonce_for(devices: list[Device] | None, user_id: int) -> str | None:
    """The nonce of this account's entry, if the cookie has one."""
    return next((d.nonce for d in devices or () if d.user_id == user_id), None)


def cookie_with(devices: list[Device] | None, user_id: int, *, key: str, now: datetime) -> str:
    """The cookie after a login to `user_id`: a fresh nonce for it, first, others kept."""
    fresh = Device(user_id, secrets.token_urlsafe(16), int(now.timestamp()))
    kept = [d for d in devices or () if d.user_id != user_id][: MAX_ACCOUNTS - 1]
    return _serializer(key).dumps([[d.user_id, d.nonce, d.issued] for d in [fresh, *kept]])
