"""Secret feed tokens that are never stored.

A member's feed token is an HMAC of a random salt under a server key (`CALENDAR_TOKEN_KEY`, by
default `SECRET_KEY`). The database keeps the salt and a SHA-256 of the token: a copy of the
database opens no feed, while the app can still show members their own link. A new salt
("reset my calendar link") makes a new token, and the old URL stops working.

A members-only group's feed has one link per member (see `group_link_token`), so a member who
leaves takes no working link along.
"""

import base64
import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.input import DATABASE_INT_MAX

# Exactly what feed_token() makes: 32 bytes in unpadded base64url.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
# A member's link to a members-only group's feed: their membership id and a MAC.
GROUP_LINK_RE = re.compile(r"([0-9]{1,10})\.([A-Za-z0-9_-]{43})")

MEMBER = "member"


def _key() -> bytes:
    return (
        current_app.config.get("CALENDAR_TOKEN_KEY") or current_app.config["SECRET_KEY"]
    ).encode()


def _mac(message: str) -> str:
    digest = hmac.new(_key(), f"studygroup-calendar:{message}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def feed_token(kind: str, salt: str) -> str:
    return _mac(f"{kind}:{salt}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reset_token(owner: User | Group) -> None:
    """New links: a member's own feed and their links to group feeds, or every member's link
    to a group's feed. The old ones stop working."""
    owner.calendar_token_salt = secrets.token_urlsafe(32)
    if isinstance(owner, User):
        owner.calendar_token_hash = token_hash(feed_token(MEMBER, owner.calendar_token_salt))


def token_of(member: User) -> str:
    return feed_token(MEMBER, member.calendar_token_salt or "")


def token_is_current(member: User) -> bool:
    """False after the token key changed: the link must be made anew (a POST) to work."""
    return token_hash(token_of(member)) == member.calendar_token_hash


def member_token_hash(token: str) -> str | None:
    """The stored form of a well-formed member token (the lookup compares it), else None."""
    return token_hash(token) if TOKEN_RE.fullmatch(token) else None


def member_by_token(db_session: Session, token: str) -> User | None:
    wanted = member_token_hash(token)
    if wanted is None:
        return None
    found = db_session.scalar(sa.select(User).where(User.calendar_token_hash == wanted))
    if found is None:
        return None
    # The index lookup compares hashes, which tell a guesser nothing. The token must also be
    # the one the current key makes from the row's salt (constant-time compare): after the key
    # changes, old links stop working, as a new key promises.
    if not hmac.compare_digest(token, token_of(found)):
        return None
    return found


def group_link_token(membership: Membership, group: Group, member: User) -> str:
    """A member's own link to a members-only group's feed. It works while the membership is
    active, so leaving or being removed closes it; the group's or the member's reset changes
    it. Nothing of it is stored: it is a MAC of both salts under the server key."""
    return f"{membership.id}.{_group_link_mac(membership.id, group, member)}"


def _group_link_mac(membership_id: int, group: Group, member_salt: User | str | None) -> str:
    salt = member_salt.calendar_token_salt if isinstance(member_salt, User) else member_salt
    return _mac(f"group:{group.calendar_token_salt}:{salt}:{membership_id}")


class GroupLink(NamedTuple):
    """What a member's link to a group feed opens: the group, and the member's language
    setting and last page language (a calendar client sends no language)."""

    group: Group
    locale: str | None
    last_locale: str | None


def group_by_link_token(db_session: Session, token: str) -> GroupLink | None:
    """One query: the membership, its group and its member."""
    found = GROUP_LINK_RE.fullmatch(token)
    if found is None:
        return None
    membership_id, mac = int(found[1]), found[2]
    if membership_id > DATABASE_INT_MAX:
        return None
    row = db_session.execute(
        sa.select(Membership.status, Group, User.calendar_token_salt, User.locale, User.last_locale)
        .join(Group, Group.id == Membership.group_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.id == membership_id)
    ).first()
    if row is None:
        return None
    status, group, member_salt, locale, last_locale = row
    if not hmac.compare_digest(mac, _group_link_mac(membership_id, group, member_salt)):
        return None
    if status != MembershipStatus.ACTIVE:
        return None
    return GroupLink(group, locale, last_locale)


def listen() -> None:
    """Give every new member and group its feed links from the start, however the row is
    made (the factory calls this; once per process)."""
    for model in (User, Group):
        if not event.contains(model, "before_insert", _give_new_rows_a_token):
            event.listen(model, "before_insert", _give_new_rows_a_token)


def _give_new_rows_a_token(_mapper, _connection, owner) -> None:
    if owner.calendar_token_salt is None:
        reset_token(owner)
