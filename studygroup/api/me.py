"""The caller's own: their schedule, their co-workers and their calendar feeds."""

from flask_babel import get_locale

from studygroup.api.auth import require_scope
from studygroup.api.openapi import spec
from studygroup.api.operations import BEARER, read
from studygroup.api.paging import decode_cursor, encode_cursor, next_page
from studygroup.api.present import feed_link, schedule_out
from studygroup.api.schemas import (
    CoworkerOut,
    CoworkerPage,
    FeedsOut,
    GroupFeed,
    PageQuery,
    ScheduleOut,
)
from studygroup.apitokens.models import Scope
from studygroup.calendar.links import group_subscription, member_subscription
from studygroup.coworking.services import own_coworkers
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.services import groups_of
from studygroup.signups.schedule import coming_up


@spec.validate(resp=read(ScheduleOut), tags=["me"], operation_id="mySchedule", security=BEARER)
def my_schedule():
    """My schedule: places and registrations to come

    What the My schedule page lists above the past: your places in roles (with your number
    on a waitlist) and your registrations as a participant, soonest first.
    """
    member = require_scope(Scope.READ)
    return schedule_out(coming_up(db.session, member, now=utcnow()))


@spec.validate(resp=read(FeedsOut), tags=["me"], operation_id="myFeeds", security=BEARER)
def my_feeds():
    """My calendar feeds

    Your private feed of the places you hold, and each of your groups' sessions (for a
    members-only group, your own secret link). Keep them private: anyone with a link reads it.
    """
    member = require_scope(Scope.READ)
    lang = str(get_locale())
    groups = []
    for membership in groups_of(db.session, member):
        link = group_subscription(membership.group, membership, member, lang=lang)
        if link is not None and membership.is_active:
            groups.append(GroupFeed(group=membership.group.slug, **feed_link(link).model_dump()))
    return FeedsOut(schedule=feed_link(member_subscription(member, lang=lang)), groups=groups)


@spec.validate(resp=read(CoworkerPage), tags=["me"], operation_id="myCoworkers", security=BEARER)
def my_coworkers(query: PageQuery):
    """People I've co-worked with

    As your co-worker page lists them, most sessions together first: people who chose not to
    appear by name have `name` null, as on the page.
    """
    member = require_scope(Scope.READ)
    # The service reads a member's whole list in one statement (hundreds at most); the
    # cursor is a position in it, in an order that only new co-working changes.
    (start,) = decode_cursor(query.cursor, int) or (0,)
    start = max(start, 0)
    coworkers, _whole = own_coworkers(db.session, member, now=utcnow())
    page = coworkers[start : start + query.limit]
    more = start + query.limit < len(coworkers)
    return CoworkerPage(
        items=[
            CoworkerOut(
                name=c.name,
                sessions=c.sessions,
                side_by_side=c.side_by_side,
                first=c.first,
                last=c.last,
                roles=c.roles,
            )
            for c in page
        ],
        **next_page(encode_cursor(start + query.limit) if more else None),
    )
