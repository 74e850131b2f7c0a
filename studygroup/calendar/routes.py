"""Feed URLs. Subscription feeds are served by studygroup.calendar.serving; the views parse
the request and send.

The three subscription feeds (FEED_PATHS) are polled by calendar clients: they neither read
nor set a session (studygroup.cookie_session), load no user, and answer from what the feed
cache keeps (studygroup.calendar.delivery).
"""

from datetime import timedelta

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from studygroup.calendar import bp, feeds, serving, tokens
from studygroup.calendar.delivery import CONTENT_TYPE
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import select_locale
from studygroup.logging import security_event
from studygroup.sessions.lookup import session_or_404
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.urls import page_base_url


def _send_feed(url: str, value: str):
    """A subscription feed (serving.subscription_feed), gzipped when the client takes it."""
    sent = serving.subscription_feed(
        db.session,
        url,
        value,
        lang=request.args.get("lang", ""),
        base_url=page_base_url(),
        environ=request.environ,
        now=utcnow(),
    )
    if sent is None:
        abort(404)
    return current_app.response_class(*sent)


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


def _file_options() -> feeds.FeedOptions:
    return serving.feed_options(select_locale(), page_base_url())


@bp.get("/g/<slug>/calendar.ics")
def public_group_feed(slug: str):
    """A public group's sessions. A members-only group has only its secret URL."""
    return _send_feed(serving.SLUG, slug)


@bp.get("/calendar/group/<token>.ics")
def group_feed(token: str):
    """A members-only group's sessions, by one member's own link."""
    return _send_feed(serving.GROUP_LINK, token)


@bp.get("/calendar/member/<token>.ics")
def member_feed(token: str):
    return _send_feed(serving.MEMBER, token)


@bp.get("/g/<slug>/sessions/<int:session_id>/calendar.ics")
@group_view()
def session_file(group: Group, membership: Membership | None, session_id: int):
    session = session_or_404(group, session_id)
    feed = feeds.session_file(group, session, options=_file_options())
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
    feed = feeds.place_file(data, options=_file_options())
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
