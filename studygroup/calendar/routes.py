"""Feed URLs. Views find the owner, ask the feed's version, and send cached bytes.

The three subscription feeds (FEED_PATHS) are polled by calendar clients: they neither read
nor set a session (studygroup.cookie_session), load no user, and answer from what the feed
cache keeps (studygroup.calendar.delivery).
"""

from datetime import timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from studygroup.auth.models import User
from studygroup.calendar import bp, feeds, tokens
from studygroup.calendar.cache import FeedCache
from studygroup.calendar.delivery import CONTENT_TYPE, KeptFeed, answer
from studygroup.db import reads_outside_transaction, utcnow
from studygroup.extensions import db
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import select_locale
from studygroup.logging import security_event
from studygroup.sessions.lookup import session_or_404
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.urls import page_base_url


def _cache() -> FeedCache:
    return current_app.extensions["calendar_feeds"]


def _recent(key, load):
    """What a feed URL resolves to: its owner and version, read outside a transaction (on
    PostgreSQL, a poll that finds the feed unchanged then costs one round trip a statement)."""

    def read():
        with reads_outside_transaction(db.session):
            return load()

    return current_app.extensions["calendar_versions"].get_or_load(key, read)


def _options(locale: str) -> feeds.FeedOptions:
    config = current_app.config
    return _options_of(
        locale, page_base_url(), config.get("CALENDAR_UID_DOMAIN"), config.get("PUBLIC_BASE_URL")
    )


@lru_cache(maxsize=64)  # a few languages and site addresses: built once, not on each poll
def _options_of(
    locale: str, base_url: str, uid_domain: str | None, public_base_url: str | None
) -> feeds.FeedOptions:
    # UIDs must never change: they follow PUBLIC_BASE_URL, not the address of each request.
    domain = uid_domain or (urlsplit(public_base_url).hostname if public_base_url else None)
    return feeds.FeedOptions(locale=locale, base_url=base_url, uid_domain=domain or "studygroup")


def _feed_locale(known: str | None = None) -> str:
    """A calendar client sends no language: `?lang=en|ja` from the link the reader copied,
    else the reader's language as far as we know it, else the site's default language."""
    for wanted in (request.args.get("lang", ""), known):
        if wanted in current_app.config["LANGUAGES"]:
            return wanted
    return current_app.config["MAIL_DEFAULT_LOCALE"]


def _member_locale(own: str | None, last: str | None) -> str:
    """For a member's own link: their language setting, else the language of the page
    they copied the link from (`?lang`), else the one of their last visit (links copied
    before links carried a language)."""
    return own if own in current_app.config["LANGUAGES"] else _feed_locale(last)


def _send_kept(kept: KeptFeed, *, private: bool, now):
    """A subscription feed, gzipped when the client takes it."""
    body, status, headers = answer(
        kept,
        request.environ,
        private=private,
        max_age=current_app.config["CALENDAR_MAX_AGE"],
        now=now,
    )
    return current_app.response_class(body, status, headers)


def _send_file(feed: feeds.Feed, *, download_name: str):
    """One event as a file to download, built for this request, in the reader's language."""
    response = current_app.response_class(feed.body, content_type=CONTENT_TYPE)
    response.set_etag(feed.etag)  # strong: the same bytes, byte for byte
    # Whole seconds: one less than a second old could hide a second change within that
    # second from a client that sends only If-Modified-Since (RFC 9110 8.8.2.2).
    if feed.last_modified <= utcnow() - timedelta(seconds=1):
        response.last_modified = feed.last_modified
    response.cache_control.private = True
    response.cache_control.max_age = current_app.config["CALENDAR_MAX_AGE"]
    # A calendar URL is a secret: it must never travel on as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    # Subscription URLs go without it, or Apple downloads them instead of subscribing.
    response.headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
    response.vary.update(("Cookie", "Accept-Language"))
    return response.make_conditional(request)


def _group_feed(head: feeds.GroupFeedHead, *, now, private: bool, locale: str):
    """Polls cost one aggregate query; the group and its sessions load only to build."""
    options = _options(locale)

    def build() -> KeptFeed:
        group = db.session.get(Group, head.group_id)
        sessions = feeds.group_feed_sessions(db.session, group, now=now)
        body = feeds.group_feed(group, sessions, options=options)
        return KeptFeed.of(feeds.Feed.of(body, utcnow()))

    key = ("group", head.group_id, head.version.key, *options.cache_key)
    return _send_kept(_cache().get_or_build(key, build), private=private, now=now)


@bp.get("/g/<slug>/calendar.ics")
def public_group_feed(slug: str):
    """A public group's sessions. A members-only group has only its secret URL."""
    now = utcnow()
    head = _recent(
        ("slug", slug), lambda: feeds.group_feed_head(db.session, now=now, by="slug", value=slug)
    )
    if head is None or not head.public:
        abort(404)
    return _group_feed(head, now=now, private=False, locale=_feed_locale())


@bp.get("/calendar/group/<token>.ics")
def group_feed(token: str):
    """A members-only group's sessions, by one member's own link (open while they are an
    active member), in that member's language."""
    now = utcnow()

    def resolve():
        link = tokens.group_by_link_token(db.session, token)
        if link is None:
            return None
        head = feeds.group_feed_head(db.session, now=now, by="id", value=link.group.id)
        return head and (head, link.locale, link.last_locale)

    well_formed = tokens.GROUP_LINK_RE.fullmatch(token)
    resolved = well_formed and _recent(("group", tokens.token_hash(token)), resolve)
    if not resolved:
        abort(404)
    head, own_locale, last_locale = resolved
    return _group_feed(head, now=now, private=True, locale=_member_locale(own_locale, last_locale))


@bp.get("/calendar/member/<token>.ics")
def member_feed(token: str):
    now = utcnow()

    def resolve():
        member = tokens.member_by_token(db.session, token)
        if member is None:
            return None
        version = feeds.member_feed_version(db.session, member, now=now)
        return member.id, member.locale, member.last_locale, version

    found = tokens.member_token_hash(token)
    resolved = found and _recent(("member", found), resolve)
    if not resolved:
        abort(404)
    member_id, own_locale, last_locale, version = resolved
    options = _options(_member_locale(own_locale, last_locale))

    def build() -> KeptFeed:
        member = db.session.get(User, member_id)
        data = feeds.member_feed_data(db.session, member, now=now)
        body = feeds.member_feed(member, data, options=options)
        return KeptFeed.of(feeds.Feed.of(body, utcnow()))

    key = ("member", member_id, version.key, *options.cache_key)
    return _send_kept(_cache().get_or_build(key, build), private=True, now=now)


@bp.get("/g/<slug>/sessions/<int:session_id>/calendar.ics")
@group_view()
def session_file(group: Group, membership: Membership | None, session_id: int):
    session = session_or_404(group, session_id)
    feed = feeds.session_file(group, session, options=_options(select_locale()))
    return _send_file(feed, download_name=f"{group.slug}-{session.id}.ics")


@bp.get("/schedule/places/<int:place_id>/calendar.ics")
@login_required
def place_file(place_id: int):
    place = db.session.get(Assignment, place_id)
    if place is None or place.user_id != current_user.id:
        abort(404)
    if place.status != AssignmentStatus.CONFIRMED:
        abort(404)
    data = feeds.place_rows(db.session, place)
    feed = feeds.place_file(data, options=_options(select_locale()))
    row = data.places[0]
    return _send_file(feed, download_name=f"{row.slug}-{row.session_id}-{place.id}.ics")


@bp.post("/calendar/reset")
@login_required
def reset_member_link():
    tokens.reset_token(current_user)
    db.session.commit()
    security_event("calendar_link_reset", user_id=current_user.id)
    flash(_("Your calendar link is new. The old one no longer works: subscribe again."), "success")
    return redirect(url_for("signups.schedule") + "#calendar")


@bp.post("/g/<slug>/calendar/reset")
@group_view(organizer=True)
def reset_group_link(group: Group, membership: Membership):
    tokens.reset_token(group)
    db.session.commit()
    security_event("group_calendar_link_reset", user_id=current_user.id, group_id=group.id)
    flash(_("The group's calendar link is new. Members need to subscribe again."), "success")
    return redirect(url_for("groups.show", slug=group.slug) + "#calendar")
