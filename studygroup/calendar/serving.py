"""The subscription feeds as served: a feed URL resolves to its owner and version (kept
CALENDAR_VERSION_TTL seconds by the version memo), the version's bytes come from the feed
cache (built on a miss only), and `answer` makes the response. A poll of an unchanged feed
then costs the version's query at most, and no build.

The views parse the request (the URL's slug or token, `?lang`) and send what
`subscription_feed` returns; the caches live in `app.extensions` (studygroup.create_app).
"""

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.calendar import feeds, tokens
from studygroup.calendar.delivery import KeptFeed, answer
from studygroup.db import reads_outside_transaction, utcnow
from studygroup.groups.models import Group

# The feed URLs: a public group's by its slug, a member's link to a members-only group's
# feed, a member's own feed (each by its token).
SLUG, GROUP_LINK, MEMBER = "slug", "group", "member"


@dataclass(frozen=True)
class _Owner:
    """What a feed URL resolved to, as the version memo keeps it."""

    kind: str  # "group" or "member": what to build
    id: int
    version: feeds.Version
    private: bool
    # The reader's language setting and that of their last visit (links to private feeds).
    own_locale: str | None = None
    last_locale: str | None = None


def subscription_feed(
    db_session: Session,
    url: str,
    value: str,
    *,
    lang: str,
    base_url: str,
    environ: dict,
    now: datetime,
) -> tuple[bytes, int, list[tuple[str, str]]] | None:
    """Body, status and headers answering a GET or HEAD of a subscription feed (`url` one of
    SLUG, GROUP_LINK, MEMBER; `value` the slug or token), or None: no such feed (404)."""
    key = _memo_key(url, value)
    if key is None:
        return None

    def resolve():
        # Outside a transaction: on PostgreSQL a poll that finds the feed unchanged then costs
        # one round trip a statement.
        with reads_outside_transaction(db_session):
            return _resolve(db_session, url, value, now)

    owner = current_app.extensions["calendar_versions"].get_or_load(key, resolve)
    if not owner:
        return None
    options = feed_options(_locale(lang, owner.own_locale, owner.last_locale), base_url)
    kept = current_app.extensions["calendar_feeds"].get_or_build(
        (owner.kind, owner.id, owner.version.key, *options.cache_key),
        lambda: _build(db_session, owner, options, now),
    )
    max_age = current_app.config["CALENDAR_MAX_AGE"]
    return answer(kept, environ, private=owner.private, max_age=max_age, now=now)


def _memo_key(url: str, value: str) -> Hashable | None:
    """The version memo's key for a feed URL (a token only as its hash); None for a token
    that cannot be one."""
    if url == SLUG:
        return (SLUG, value)
    if url == GROUP_LINK:
        return (url, tokens.token_hash(value)) if tokens.GROUP_LINK_RE.fullmatch(value) else None
    found = tokens.member_token_hash(value)
    return found and (MEMBER, found)


def _resolve(db_session: Session, url: str, value: str, now: datetime) -> _Owner | None | bool:
    """The owner and its feed's version. False for a members-only group's public URL: kept
    by the memo like an owner, so that 404 costs no more than a poll."""
    if url == SLUG:
        head = feeds.group_feed_head(db_session, now=now, by="slug", value=value)
        return head and head.public and _Owner("group", head.group_id, head.version, False)
    if url == GROUP_LINK:
        # Open while the link's member is an active member, in that member's language.
        link = tokens.group_by_link_token(db_session, value)
        if link is None:
            return None
        head = feeds.group_feed_head(db_session, now=now, by="id", value=link.group.id)
        return head and _Owner(
            "group", head.group_id, head.version, True, link.locale, link.last_locale
        )
    member = tokens.member_by_token(db_session, value)
    if member is None:
        return None
    version = feeds.member_feed_version(db_session, member, now=now)
    return _Owner("member", member.id, version, True, member.locale, member.last_locale)


def _build(db_session: Session, owner: _Owner, options: feeds.FeedOptions, now) -> KeptFeed:
    """Only here do the owner and its rows load: polls cost the version's aggregate query."""
    if owner.kind == "group":
        group = db_session.get(Group, owner.id)
        sessions = feeds.group_feed_sessions(db_session, group, now=now)
        body = feeds.group_feed(group, sessions, options=options)
    else:
        member = db_session.get(User, owner.id)
        data = feeds.member_feed_data(db_session, member, now=now)
        body = feeds.member_feed(member, data, options=options)
    return KeptFeed.of(feeds.Feed.of(body, utcnow()))


def _locale(lang: str, own: str | None, last: str | None) -> str:
    """A calendar client sends no language. For a member's own link: their language setting;
    then the language of the page the link was copied from (`?lang=en|ja`); then that of their
    last visit (links copied before links carried a language); else the site's default."""
    languages = current_app.config["LANGUAGES"]
    for wanted in (own, lang, last):
        if wanted in languages:
            return wanted
    return current_app.config["DEFAULT_READER_LOCALE"]


def feed_options(locale: str, base_url: str) -> feeds.FeedOptions:
    """What a feed's bytes depend on besides the rows, for feeds and one-event files alike."""
    config = current_app.config
    return _options_of(
        locale, base_url, config.get("CALENDAR_UID_DOMAIN"), config.get("PUBLIC_BASE_URL")
    )


@lru_cache(maxsize=64)  # a few languages and site addresses: built once, not on each poll
def _options_of(
    locale: str, base_url: str, uid_domain: str | None, public_base_url: str | None
) -> feeds.FeedOptions:
    # UIDs must never change: they follow PUBLIC_BASE_URL, not the address of each request.
    domain = uid_domain or (urlsplit(public_base_url).hostname if public_base_url else None)
    return feeds.FeedOptions(locale=locale, base_url=base_url, uid_domain=domain or "studygroup")
