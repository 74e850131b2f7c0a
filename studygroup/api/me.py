"""The caller's own: their schedule and their calendar feeds."""

from flask_babel import get_locale

from studygroup.api import bp, spec
from studygroup.api.auth import require_scope
from studygroup.api.operations import BEARER, read
from studygroup.api.present import feed_link, schedule_out
from studygroup.api.schemas import FeedsOut, GroupFeed, ScheduleOut
from studygroup.apitokens.models import Scope
from studygroup.calendar.links import group_subscription, member_subscription
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.services import groups_of
from studygroup.signups.schedule import coming_up


@bp.get("/me/schedule")
@spec.validate(resp=read(ScheduleOut), tags=["me"], operation_id="mySchedule", security=BEARER)
def my_schedule():
    """My schedule: places and registrations to come

    What the My schedule page lists above the past: your places in roles (with your number
    on a waitlist) and your registrations as a participant, soonest first.
    """
    member = require_scope(Scope.READ)
    return schedule_out(coming_up(db.session, member, now=utcnow()))


@bp.get("/me/feeds")
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
