"""iCalendar feeds as bytes: a group's sessions, a member's places, one session or place.

Plain functions: the queries take a database session and return rows; the builders take
those rows and return bytes, so pages, the feed views, the CLI and the benchmark share them.
What every client needs (see shared/ICAL.md):

- one VEVENT per session or place, never an RRULE, so a moved or cancelled month stays right;
- UIDs from database ids, different per feed (`session-12@…` in the group feed, `place-34@…`
  in a member's), never changing;
- times with the group's TZID and a VTIMEZONE for each zone used;
- DTSTAMP and LAST-MODIFIED from the rows' own change times, so the same data gives the same
  bytes, and SEQUENCE from the rows' counters;
- a cancelled session stays 30 days after its date as STATUS:CANCELLED with a marked title;
  so does a session marked not held (it did not take place: to a calendar, cancelled);
- no METHOD, ORGANIZER or ATTENDEE (Outlook would treat events as invitations, and attendees
  would publish members' emails).

Longer than our ~500 lines on purpose: those rules are one format that every feed keeps
through the shared builders at the end (`_Build`, `_event`, `_serialize`), and the group feed,
the member feed and the one-event files are each a query and its events; apart, a rule would
be read in one file and kept in another.
"""

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from studygroup import i18n
from studygroup.auth.models import User
from studygroup.calendar.vtimezone import vtimezone
from studygroup.db import UTCDateTime
from studygroup.groups.models import Group, RoleType, Visibility
from studygroup.i18n import role_label_of
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.urls import url_builder

if TYPE_CHECKING:
    # icalendar (~3 MB) is imported by the first feed built, not by every worker at start-up.
    from icalendar import Calendar, Event

PRODID = "-//studygroup//Calendar feeds 1.0//EN"
# Part of every cache key: raise it when the bytes a feed is built into change.
FORMAT_VERSION = "2"
# How long a cancelled session stays in feeds after its date, marked cancelled.
CANCELLED_KEPT = timedelta(days=30)
# What clients are asked to keep to (Google ignores it and refreshes every few hours).
REFRESH_INTERVAL = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Feed:
    """A built feed: its bytes, a strong ETag (a hash of the bytes) and Last-Modified."""

    body: bytes
    etag: str
    last_modified: datetime

    @classmethod
    def of(cls, body: bytes, last_modified: datetime) -> "Feed":
        return cls(body, hashlib.sha256(body).hexdigest()[:40], last_modified)


@dataclass(frozen=True)
class Version:
    """What a feed is built from, in short: equal versions build equal bytes.

    Made of counts, id sums and counters only: `sequence`, and `revision`, which the database
    raises on every UPDATE. No clock reading decides whether a feed changed, so an edit made
    by a server whose clock is behind, or a request that commits after a later one, still
    gives a new version.
    """

    key: str


@dataclass(frozen=True)
class FeedOptions:
    """What else the bytes depend on: the language, and the site's address for links."""

    locale: str
    base_url: str
    uid_domain: str

    @property
    def cache_key(self) -> tuple[str, ...]:
        return (FORMAT_VERSION, self.locale, self.base_url, self.uid_domain)


def _kept_after(now: datetime) -> datetime:
    """Cancelled sessions that started before this have left the feeds."""
    return now - CANCELLED_KEPT


# For the statements built once: `kept_after` is bound on each execution.
_KEPT_AFTER = sa.bindparam("kept_after", type_=UTCDateTime)


def _in_feeds(kept_after):
    """A session is in feeds while scheduled, and for 30 days after its date if cancelled
    or not held."""
    return sa.or_(
        StudySession.status == SessionStatus.SCHEDULED,
        StudySession.starts_at >= kept_after,
    )


# --- the group feed -----------------------------------------------------------------------


def _group_head_statement(where):
    in_feed = _in_feeds(_KEPT_AFTER)
    return (
        sa.select(
            Group.id,
            Group.visibility,
            Group.revision,
            sa.func.count(sa.case((in_feed, StudySession.id))),
            sa.func.sum(sa.case((in_feed, StudySession.id))),
            sa.func.sum(sa.case((in_feed, StudySession.revision))),
        )
        .select_from(Group)
        .outerjoin(StudySession, StudySession.group_id == Group.id)
        .where(where)
        .group_by(Group.id, Group.visibility, Group.revision)
    )


# Built once: the hot path of every feed poll only binds values to a compiled statement.
_GROUP_HEAD = {
    "id": _group_head_statement(Group.id == sa.bindparam("value")),
    "slug": _group_head_statement(Group.slug == sa.bindparam("value")),
}


@dataclass(frozen=True)
class GroupFeedHead:
    group_id: int
    public: bool
    version: Version


def group_feed_head(
    db_session: Session, *, now: datetime, by: str, value: object
) -> GroupFeedHead | None:
    """The group (by id or slug) and its feed's version, in one aggregate query:
    the sessions in the feed (count, id sum, revisions) and the group's own revision. A
    session added, edited, or leaving the feed 30 days after its cancelled date, and any edit
    of the group, give a new version."""
    row = db_session.execute(
        _GROUP_HEAD[by], {"value": value, "kept_after": _kept_after(now)}
    ).first()
    if row is None:
        return None
    group_id, visibility, group_revision, count, id_sum, revisions = row
    key = f"{count}:{id_sum or 0}:{revisions or 0}:{group_revision}"
    return GroupFeedHead(group_id, visibility == Visibility.PUBLIC, Version(key))


def group_feed_sessions(db_session: Session, group: Group, *, now: datetime) -> list[StudySession]:
    """Every session of the group, but cancelled ones more than 30 days past."""
    return list(
        db_session.scalars(
            sa.select(StudySession)
            .where(StudySession.group_id == group.id, _in_feeds(_kept_after(now)))
            .order_by(StudySession.starts_at, StudySession.id)
        )
    )


def group_feed(
    group: Group,
    sessions: Iterable[StudySession],
    *,
    options: FeedOptions,
) -> bytes:
    """The group's sessions as a calendar to subscribe to."""
    sessions = list(sessions)
    with force_locale(options.locale):
        calendar = _calendar(
            name=group.name,
            description=_("Sessions of %(group)s on studygroup", group=group.name),
            timezone=group.timezone,
        )
        build = _Build(options)
        events = [_session_event(session, group, build) for session in sessions]
        return _serialize(calendar, events, fallback_zone=group.timezone)


def session_file(group: Group, session: StudySession, *, options: FeedOptions) -> Feed:
    """One session as a file for "add to my calendar": the group feed's event, same UID, so
    importing it again updates it."""
    with force_locale(options.locale):
        calendar = _calendar(name=None, description=None, timezone=group.timezone)
        event = _session_event(session, group, _Build(options))
        return _file(calendar, event, fallback_zone=group.timezone)


def _session_event(session: StudySession, group: Group, build: "_Build") -> "Event":
    url = build.session_url(group.slug, session.id)
    lines = [session.description.strip(), group.name, url]
    return _event(
        uid=f"session-{session.id}@{build.options.uid_domain}",
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        zone=group.timezone,
        summary=build.marked(session.title, session.status),
        location=session.venue,
        description="\n\n".join(line for line in lines if line),
        url=url,
        sequence=session.sequence,
        status=session.status,
        changed=max(session.updated_at, group.updated_at),  # the group's name is in it
        created=session.created_at,
    )


# --- the member feed ----------------------------------------------------------------------


@dataclass(frozen=True)
class Coworker:
    name: str | None  # None: "a member" (they chose not to appear by name)
    role_key: str | None
    role_name: str
    changed: datetime  # the last change of their place, their name or choice, their role


@dataclass
class MemberFeedData:
    """A member's confirmed places and who else works those sessions, as loaded rows."""

    places: list[sa.Row]
    coworkers: dict[int, list[Coworker]] = field(default_factory=dict)


def _place_columns():
    return (
        Assignment.id.label("place_id"),
        Assignment.created_at.label("place_created"),
        Assignment.updated_at.label("place_changed"),
        RoleSlot.starts_at.label("slot_starts"),
        RoleSlot.ends_at.label("slot_ends"),
        RoleSlot.sequence.label("slot_sequence"),
        RoleType.key.label("role_key"),
        RoleType.name.label("role_name"),
        RoleType.updated_at.label("role_changed"),
        StudySession.id.label("session_id"),
        StudySession.title,
        StudySession.starts_at,
        StudySession.ends_at,
        StudySession.venue,
        StudySession.status,
        StudySession.sequence.label("session_sequence"),
        StudySession.updated_at.label("session_changed"),
        Group.slug,
        Group.name.label("group_name"),
        Group.timezone,
        Group.updated_at.label("group_changed"),
    )


def _held_places(statement, member_id):
    """`statement` over a member's confirmed places, joined to slot, role, session and group."""
    return (
        statement.select_from(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(RoleType, RoleType.id == RoleSlot.role_type_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .join(Group, Group.id == StudySession.group_id)
        .where(Assignment.user_id == member_id, Assignment.status == AssignmentStatus.CONFIRMED)
    )


def _places_query(member_id: int):
    return _held_places(sa.select(*_place_columns()), member_id)


def _sessions_with_places_of(member_id):
    return (
        sa.select(RoleSlot.session_id)
        .join(Assignment, Assignment.slot_id == RoleSlot.id)
        .where(Assignment.user_id == member_id, Assignment.status == AssignmentStatus.CONFIRMED)
    )


@functools.cache
def _member_version_statements():
    """Built once, on the first member feed: the hot path only binds values to a compiled
    statement. Not at import: the aliases would configure every mapper in start-up."""
    member_id = sa.bindparam("member_id")
    in_feed = _in_feeds(_KEPT_AFTER)

    def kept(column):
        return sa.case((in_feed, column))

    own = _held_places(
        sa.select(
            sa.func.count(kept(Assignment.id)),
            sa.func.sum(kept(Assignment.id)),
            sa.func.sum(kept(StudySession.sequence)),
            sa.func.sum(kept(RoleSlot.sequence)),
            sa.func.sum(kept(StudySession.revision)),
            sa.func.sum(kept(RoleType.revision)),
            sa.func.sum(kept(Group.revision)),
        ),
        member_id,
    )
    mine = _sessions_with_places_of(member_id)
    other = sa.orm.aliased(Assignment)
    other_slot = sa.orm.aliased(RoleSlot)
    other_role = sa.orm.aliased(RoleType)
    theirs = other.status == AssignmentStatus.CONFIRMED
    others = (
        sa.select(
            sa.func.count(other.id),
            sa.func.sum(other.id),
            sa.func.sum(User.revision),
            sa.func.sum(other_role.revision),
        )
        .select_from(other)
        .join(other_slot, other_slot.id == other.slot_id)
        .join(other_role, other_role.id == other_slot.role_type_id)
        .join(User, User.id == other.user_id)
        .where(other_slot.session_id.in_(mine), theirs, other.user_id != member_id)
    )
    return own, others


def member_feed_version(db_session: Session, member: User, *, now: datetime) -> Version:
    """Two aggregate queries: the member's places in the feed (count, id sum, the sequences
    and revisions of their slots, sessions, roles and groups) and everyone else's places in
    those sessions (count, id sum, their people's and roles' revisions). A place taken or
    given up, a session leaving the feed, any edit of a session, role, group or person that
    the feed shows gives a new version."""
    params = {"member_id": member.id, "kept_after": _kept_after(now)}
    own_statement, others_statement = _member_version_statements()
    own = db_session.execute(own_statement, params).one()
    others = db_session.execute(others_statement, params).one()
    counted = (*own, *others, member.revision, member.timezone, member.locale)
    return Version(hashlib.sha256(repr(counted).encode()).hexdigest()[:32])


def member_feed_data(db_session: Session, member: User, *, now: datetime) -> MemberFeedData:
    """Two queries, whatever the number of places: the member's places, then everyone else
    confirmed in those sessions."""
    places = db_session.execute(
        _places_query(member.id)
        .where(_in_feeds(_kept_after(now)))
        .order_by(RoleSlot.starts_at, Assignment.id)
    ).all()
    if not places:
        return MemberFeedData(places=[])
    coworkers = _coworkers(db_session, member.id, _sessions_with_places_of(member.id))
    return MemberFeedData(places=places, coworkers=coworkers)


def _coworkers(db_session: Session, member_id: int, session_ids) -> dict[int, list[Coworker]]:
    """Everyone but the member confirmed in these sessions (ids, or a subquery of them)."""
    rows = db_session.execute(
        sa.select(
            RoleSlot.session_id,
            User.display_name,
            User.appear_by_name,
            RoleType.key,
            RoleType.name,
            Assignment.updated_at,
            User.shown_changed_at,  # their name as shown: not every edit of their account
            RoleType.updated_at,
        )
        .select_from(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(RoleType, RoleType.id == RoleSlot.role_type_id)
        .join(User, User.id == Assignment.user_id)
        .where(
            RoleSlot.session_id.in_(session_ids),
            Assignment.status == AssignmentStatus.CONFIRMED,
            Assignment.user_id != member_id,
        )
        .order_by(RoleSlot.session_id, RoleSlot.position, RoleSlot.id, Assignment.id)
    ).all()
    coworkers: dict[int, list[Coworker]] = defaultdict(list)
    for session_id, name, by_name, role_key, role_name, *changes in rows:
        # A feed is a link that can be passed on: only people who chose to appear by name
        # are named in it, whoever the member is.
        coworkers[session_id].append(
            Coworker(name if by_name else None, role_key, role_name, max(changes))
        )
    return dict(coworkers)


def member_feed(member: User, data: MemberFeedData, *, options: FeedOptions) -> bytes:
    """A member's places, each at its role's own time, as a private calendar."""
    with force_locale(options.locale):
        calendar = _calendar(
            name=_("My places on studygroup"),
            description=_("The roles %(name)s has signed up for", name=member.display_name),
            timezone=member.timezone,
        )
        build = _Build(options)
        events = [
            _place_event(place, data.coworkers.get(place.session_id, []), build)
            for place in data.places
        ]
        return _serialize(calendar, events, fallback_zone=member.timezone)


def place_rows(db_session: Session, place: Assignment) -> MemberFeedData:
    """One place with its co-workers, loaded like the member feed's."""
    rows = db_session.execute(_places_query(place.user_id).where(Assignment.id == place.id)).all()
    session_id = place.slot.session_id
    return MemberFeedData(
        places=rows, coworkers=_coworkers(db_session, place.user_id, [session_id])
    )


def place_file(data: MemberFeedData, *, options: FeedOptions) -> Feed:
    """One place as a file; the member feed's event, same UID."""
    place = data.places[0]
    with force_locale(options.locale):
        calendar = _calendar(name=None, description=None, timezone=place.timezone)
        event = _place_event(place, data.coworkers.get(place.session_id, []), _Build(options))
        return _file(calendar, event, fallback_zone=place.timezone)


def _place_event(place: sa.Row, coworkers: list[Coworker], build: "_Build") -> "Event":
    zone = place.timezone
    role = build.role(place.role_key, place.role_name)
    url = build.session_url(place.slug, place.session_id)
    window = i18n.format_time_range(place.slot_starts, place.slot_ends, zone)
    session_when = (
        f"{i18n.format_date(place.starts_at, zone)} "
        f"{i18n.format_time_range(place.starts_at, place.ends_at, zone)}"
    )
    lines = [
        f"{role} {window}",
        _("Session: %(title)s, %(when)s", title=place.title, when=session_when),
    ]
    if coworkers:
        people = _(", ").join(build.coworker(c) for c in coworkers)
        lines.append(_("Also working: %(people)s", people=people))
    lines += [place.group_name, url]
    return _event(
        uid=f"place-{place.place_id}@{build.options.uid_domain}",
        starts_at=place.slot_starts,
        ends_at=place.slot_ends,
        zone=zone,
        summary=build.marked(f"{role}: {place.title}", place.status),
        location=place.venue,
        description="\n".join(lines),
        url=url,
        # The session's counter moves on its time, venue and status; the slot's on its window.
        sequence=place.session_sequence + place.slot_sequence,
        status=place.status,
        changed=max(
            place.place_changed,
            place.session_changed,
            place.role_changed,
            place.group_changed,
            *(c.changed for c in coworkers),
        ),
        created=place.place_created,
    )


# --- shared -------------------------------------------------------------------------------


class _Build:
    """What one build reuses across its events: links to one site, texts in one language.
    Made inside the build's `force_locale`."""

    def __init__(self, options: FeedOptions) -> None:
        self.options = options
        self._links = url_builder(options.base_url)
        self._roles: dict[tuple[str | None, str], str] = {}

    def session_url(self, slug: str, session_id: int) -> str:
        return self._links("sessions.show", slug=slug, session_id=session_id)

    def role(self, key: str | None, name: str) -> str:
        label = self._roles.get((key, name))
        if label is None:
            label = self._roles[key, name] = role_label_of(key, name)
        return label

    def coworker(self, person: Coworker) -> str:
        """`Aoi (Setup)`; in Japanese `Aoiさん（設営）`: another person's name takes さん."""
        role = self.role(person.role_key, person.role_name)
        if person.name is None:
            return _("a member (%(role)s)", role=role)
        return _("%(name)s (%(role)s)", name=person.name, role=role)

    def marked(self, title: str, status: SessionStatus) -> str:
        if status == SessionStatus.CANCELLED:
            return _("[Cancelled] %(title)s", title=title)
        if status == SessionStatus.NOT_HELD:
            return _("[Not held] %(title)s", title=title)
        return title


def _calendar(*, name: str | None, description: str | None, timezone: str) -> "Calendar":
    """The VCALENDAR around the events. A subscription has a `name`; a download has none
    and no refresh interval either: with those, some clients offer to subscribe to a file
    that was meant to be imported."""
    from icalendar import Calendar, vText

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # vText: icalendar leaves these calendar-level names unescaped otherwise.
    if name is not None:
        calendar.add("name", vText(name))
        calendar.add("x-wr-calname", vText(name))  # Google reads only this one
    if description:
        calendar.add("description", vText(description))
        calendar.add("x-wr-caldesc", vText(description))
    calendar.add("x-wr-timezone", vText(timezone))
    if name is not None:
        calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vText("PT1H"))
    return calendar


def _event(
    *,
    uid: str,
    starts_at: datetime,
    ends_at: datetime,
    zone: str,
    summary: str,
    location: str,
    description: str,
    url: str,
    sequence: int,
    status: SessionStatus,
    changed: datetime,
    created: datetime,
) -> "Event":
    from icalendar import Event, vText, vUri

    tz = ZoneInfo(zone)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", changed.astimezone(UTC))
    event.add("created", created.astimezone(UTC))
    event.add("last-modified", changed.astimezone(UTC))
    event.add("dtstart", _local_or_utc(starts_at, tz))
    event.add("dtend", _local_or_utc(ends_at, tz))
    event.add("summary", vText(summary))
    if location:
        event.add("location", vText(location))
    event.add("description", vText(description))
    event.add("url", vUri(url))
    event.add("sequence", sequence)
    event.add("status", "CONFIRMED" if status == SessionStatus.SCHEDULED else "CANCELLED")
    return event


def _local_or_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """The group's wall-clock time with its TZID; but a time the clock shows twice (the hour
    that repeats when clocks go back) goes in UTC, whichever pass it is in. RFC 5545 says a
    TZID time there is the first pass, but readers differ: ical.js (Thunderbird) and
    node-ical take the second."""
    if i18n.shows_twice(value, tz):
        return value.astimezone(UTC)
    return value.astimezone(tz)


def _file(calendar: "Calendar", event: "Event", *, fallback_zone: str) -> Feed:
    """A one-event file, Last-Modified as the event's own."""
    body = _serialize(calendar, [event], fallback_zone=fallback_zone)
    return Feed.of(body, event.decoded("last-modified"))


def _serialize(calendar: "Calendar", events: "list[Event]", *, fallback_zone: str):
    """Add a VTIMEZONE for every zone the events use (covering their dates), then the events."""
    spans: dict[str, list[datetime]] = {}
    for event in events:
        for name in ("dtstart", "dtend"):
            value = event[name].dt
            zone = getattr(value.tzinfo, "key", None)
            if zone:  # UTC values need no VTIMEZONE
                spans.setdefault(zone, []).append(value)
    if not spans:
        # An empty calendar still needs one component; the zone will do. A fixed day, so an
        # empty feed's bytes never depend on when it is built.
        spans[fallback_zone] = [EPOCH + timedelta(days=1)]
    for zone in sorted(spans):
        first, last = min(spans[zone]), max(spans[zone])
        calendar.add_component(vtimezone(zone, first - timedelta(days=1), last + timedelta(days=1)))
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()
