"""Sessions and role slots as plain functions: (db session, ...) -> data (series:
`sessions.series`; the upcoming and past lists: `sessions.lists`).

Times come in as aware datetimes and are stored in UTC; series rules are evaluated in the
group's zone so "10:00 every 3rd Saturday" stays 10:00 across daylight-saving changes.
Functions flush; the caller commits. Sessions are cancelled, never deleted.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload

from studygroup import events
from studygroup.db import lock_row
from studygroup.groups.models import Anchor, Group, RoleType
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, SessionSeries, SessionStatus, StudySession
from studygroup.zones import zone_name

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def to_utc(day: date, at: time, tz: str, *, field: str = "start_time") -> datetime:
    """A wall-clock time in the group's zone, as UTC.

    All time arithmetic happens in UTC afterwards (Python subtracts two times of one zone by
    their wall clocks, which is wrong across a daylight-saving change). A time skipped by the
    clocks going forward is refused; a repeated one means its first occurrence.
    """
    zone = ZoneInfo(tz)
    local = datetime.combine(day, at, tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise RuleViolation(
            _l(
                "This time does not exist on that day in %(tz)s: the clocks change.",
                tz=zone_name(tz),
            ),
            field,
        )
    return utc


def slot_window(role_type: RoleType, starts_at: datetime, ends_at: datetime):
    """The role's default window for a session; falls back to the session when it is empty."""

    def point(anchor: Anchor, offset: int) -> datetime:
        base = starts_at if anchor == Anchor.START else ends_at
        return base + timedelta(minutes=offset)

    start = point(role_type.start_anchor, role_type.start_offset_minutes)
    end = point(role_type.end_anchor, role_type.end_offset_minutes)
    if end <= start:
        return starts_at, ends_at
    return start, end


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise RuleViolation(_l("The end must be after the start."), "end_time")
    if ends_at - starts_at > timedelta(hours=24):
        raise RuleViolation(_l("A session can last at most 24 hours."), "end_time")


def active_role_types(db_session: Session, group: Group) -> list[RoleType]:
    return list(
        db_session.scalars(
            sa.select(RoleType)
            .where(RoleType.group_id == group.id, RoleType.retired_at.is_(None))
            .order_by(RoleType.position, RoleType.id)
        )
    )


class SameStart(RuleViolation):
    """The group already has a session starting at that moment (`session`)."""

    def __init__(self, session: StudySession):
        super().__init__(
            _l(
                "Another session of this group starts at this time: %(title)s.",
                title=session.title,
            ),
            "start_time",
        )
        self.session = session


def sessions_starting_at(
    db_session: Session, group: Group, starts: Iterable[datetime]
) -> dict[datetime, StudySession]:
    """The group's sessions that start at these moments, by start, in one query.

    Whatever their status: a cancelled or not-held date is a decision about that date, so a
    series posted again leaves it as it is (it can be held after all from its own page).
    """
    starts = list(starts)
    if not starts:
        return {}
    found: dict[datetime, StudySession] = {}
    for session in db_session.scalars(
        sa.select(StudySession)
        .where(StudySession.group_id == group.id, StudySession.starts_at.in_(starts))
        .order_by(StudySession.id)
    ):
        found.setdefault(session.starts_at, session)
    return found


def create_session(
    db_session: Session,
    *,
    group: Group,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    venue: str = "",
    description: str = "",
    headcounts: dict[int, int] | None = None,
    series: SessionSeries | None = None,
    role_types: list[RoleType] | None = None,
    allow_same_start: bool = True,
    participant_capacity: int | None = None,
    participant_cancel_hours_before: int = 0,
) -> StudySession:
    """Create one session with a slot for each active role type, taking participants when
    `participant_capacity` is given.

    `headcounts` maps role type id to head-count; missing ones take the role's default and a
    head-count of 0 leaves that role out of this session. With `allow_same_start=False` it
    refuses (SameStart) when the group has a session starting at the same moment; the
    group's row is locked first, so two requests cannot both find the moment free.
    """
    _check_times(starts_at, ends_at)
    if not allow_same_start:
        lock_row(db_session, Group, group.id)
        existing = sessions_starting_at(db_session, group, [starts_at]).get(starts_at)
        if existing is not None:
            raise SameStart(existing)
    session = StudySession(
        group_id=group.id,
        series=series,
        title=title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        venue=venue.strip(),
        description=description,
        status=SessionStatus.SCHEDULED,
        sequence=0,
        participant_capacity=participant_capacity,
        participant_cancel_hours_before=participant_cancel_hours_before,
        created_at=now,
        updated_at=now,
    )
    db_session.add(session)
    db_session.flush()
    headcounts = headcounts or {}
    for role_type in role_types if role_types is not None else active_role_types(db_session, group):
        headcount = headcounts.get(role_type.id, role_type.default_headcount)
        if headcount <= 0:
            continue
        slot_start, slot_end = slot_window(role_type, starts_at, ends_at)
        db_session.add(
            RoleSlot(
                session_id=session.id,
                role_type_id=role_type.id,
                headcount=headcount,
                starts_at=slot_start,
                ends_at=slot_end,
                position=role_type.position,
            )
        )
    db_session.flush()
    if series is None:  # a series says so once (create_series)
        events.session_posted.send(session, now=now)
    return session


@dataclass(frozen=True)
class SessionChange:
    """What an edit changed: the staffing emails of a later feature tell members this."""

    time: bool = False
    venue: bool = False
    details: bool = False

    @property
    def any(self) -> bool:
        return self.time or self.venue or self.details


def update_session(
    db_session: Session,
    session: StudySession,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    venue: str,
    description: str,
    now: datetime,
    allow_same_start: bool = True,
) -> SessionChange:
    """Edit one session only (the rest of its series stays as it is).

    Moving the session moves its role windows by the same amount and keeps the start it
    had in `previous_starts_at` (shared as rescheduled). Raises `sequence` when the
    time or place changes, and `updated_at` on any change. With `allow_same_start=False`, a
    move onto the start of another of the group's sessions is refused (SameStart), as when
    posting one.
    """
    _check_times(starts_at, ends_at)
    change = SessionChange(
        time=(starts_at, ends_at) != (session.starts_at, session.ends_at),
        venue=venue.strip() != session.venue,
        details=(title.strip(), description) != (session.title, session.description),
    )
    if not change.any:
        return change
    if starts_at != session.starts_at and not allow_same_start:
        lock_row(db_session, Group, session.group_id)
        existing = sessions_starting_at(db_session, session.group, [starts_at]).get(starts_at)
        if existing is not None:
            raise SameStart(existing)
    previous = (session.starts_at, session.ends_at)
    if change.time:
        shift = starts_at - session.starts_at
        for slot in _slots(db_session, session):
            default = slot_window(slot.role_type, session.starts_at, session.ends_at)
            if (slot.starts_at, slot.ends_at) == default:
                # Still the role's default: follow the session (end-anchored roles too).
                slot.starts_at, slot.ends_at = slot_window(slot.role_type, starts_at, ends_at)
            else:
                # Edited by hand for this session: keep its length, move with the start.
                slot.starts_at, slot.ends_at = slot.starts_at + shift, slot.ends_at + shift
    if starts_at != session.starts_at:
        # Shared pages and search engines say it was rescheduled, and from when.
        session.previous_starts_at = session.starts_at
    session.title = title.strip()
    session.starts_at = starts_at
    session.ends_at = ends_at
    session.venue = venue.strip()
    session.description = description
    if change.time or change.venue:
        session.sequence += 1
    session.updated_at = now
    db_session.flush()
    if change.time:
        events.session_moved.send(
            session, now=now, previous_starts_at=previous[0], previous_ends_at=previous[1]
        )
    return change


def _slots(db_session: Session, session: StudySession) -> list[RoleSlot]:
    return list(db_session.scalars(sa.select(RoleSlot).where(RoleSlot.session_id == session.id)))


def cancel_session(session: StudySession, *, now: datetime) -> None:
    """Cancel, keeping the session, its slots and everyone's places for the history.

    Only before it starts: a session whose time has come is marked not held instead
    (`mark_not_held`), which says what happened rather than what was decided beforehand.
    """
    if session.is_cancelled:
        raise RuleViolation(_l("This session is already cancelled."))
    if session.is_not_held:
        raise RuleViolation(_l("This session is already marked as not held."))
    if session.starts_at <= now:
        raise RuleViolation(
            _l(
                "A session that has started cannot be cancelled. If it did not take place, "
                "mark it as not held."
            )
        )
    _set_status(session, SessionStatus.CANCELLED, now)
    session.cancelled_at = now
    events.session_cancelled.send(session, now=now)


def reinstate_session(session: StudySession, *, now: datetime) -> None:
    """Hold a cancelled session after all (everyone on its roles is told). Only before it
    starts: a cancelled session whose time has passed and that took place after all is
    marked held (`mark_held`), which tells nobody about a session that is over."""
    if not session.is_cancelled:
        raise RuleViolation(_l("This session is not cancelled."))
    if session.starts_at <= now:
        raise RuleViolation(
            _l(
                "This session's time has passed, so it cannot be put back on. If it took "
                "place after all, mark it as held."
            )
        )
    _set_status(session, SessionStatus.SCHEDULED, now)
    session.cancelled_at = None


def _set_status(session: StudySession, status: SessionStatus, now: datetime) -> None:
    """Calendars re-read an event whose status changes: its SEQUENCE moves, and its time."""
    session.status = status
    session.sequence += 1
    session.updated_at = now


def mark_not_held(session: StudySession, *, now: datetime) -> None:
    """Record that a session whose time has come did not take place.

    It then counts for no one: records, co-working and "has done this role" read scheduled
    sessions only, and calendars show it as cancelled. Places and attendance marks are kept,
    so `mark_held` ("it was held after all") brings everything back as it was.
    """
    if session.is_not_held:
        raise RuleViolation(_l("This session is already marked as not held."))
    if session.is_cancelled:
        raise RuleViolation(_l("This session is cancelled."))
    if session.starts_at > now:
        raise RuleViolation(
            _l("A session can be marked as not held once it has started. Cancel it instead.")
        )
    _set_status(session, SessionStatus.NOT_HELD, now)


def mark_held(session: StudySession, *, now: datetime) -> None:
    """The session took place after all: undo `mark_not_held`, or a cancellation once the
    session's time has come (before then, `reinstate_session` puts it back on). It counts
    again in records and co-working; nobody is emailed about a session that is over."""
    if session.is_cancelled and session.starts_at <= now:
        session.cancelled_at = None
    elif not session.is_not_held:
        raise RuleViolation(_l("This session is not marked as not held."))
    _set_status(session, SessionStatus.SCHEDULED, now)


def update_slot(
    db_session: Session,
    slot: RoleSlot,
    *,
    headcount: int,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> None:
    if headcount < 0:
        raise RuleViolation(_l("The head-count cannot be negative."), "headcount")
    if ends_at <= starts_at:
        raise RuleViolation(_l("The end must be after the start."), "end_time")
    if (slot.headcount, slot.starts_at, slot.ends_at) == (headcount, starts_at, ends_at):
        return
    if (slot.starts_at, slot.ends_at) != (starts_at, ends_at):
        slot.sequence += 1  # the places' calendar events moved
    slot.headcount = headcount
    slot.starts_at = starts_at
    slot.ends_at = ends_at
    slot.session.updated_at = now
    db_session.flush()


def add_slot(
    db_session: Session, session: StudySession, role_type: RoleType, *, now: datetime
) -> RoleSlot:
    """Add a role to one session with the role's defaults."""
    if role_type.group_id != session.group_id:
        raise RuleViolation(_l("This role belongs to another group."))
    if role_type.is_retired:
        raise RuleViolation(_l("This role is retired."))
    exists = db_session.scalar(
        sa.select(RoleSlot.id).where(
            RoleSlot.session_id == session.id, RoleSlot.role_type_id == role_type.id
        )
    )
    if exists:
        raise RuleViolation(_l("This session already has this role."))
    start, end = slot_window(role_type, session.starts_at, session.ends_at)
    slot = RoleSlot(
        session_id=session.id,
        role_type_id=role_type.id,
        headcount=max(role_type.default_headcount, 1),
        starts_at=start,
        ends_at=end,
        position=role_type.position,
    )
    db_session.add(slot)
    session.updated_at = now
    db_session.flush()
    return slot


# --- reading ------------------------------------------------------------------------------


def get_session(
    db_session: Session, group: Group, session_id: int, *, slots: bool = True
) -> StudySession | None:
    """The session if it belongs to `group` (another group's id gives None, hence 404), with
    its role slots and their role types loaded unless `slots=False`: one statement either way.

    `session.group` costs nothing: `group` is already in the db session's identity map."""
    parameters = {"session_id": session_id, "group_id": group.id}
    return db_session.execute(_session_statement(slots), parameters).unique().scalar_one_or_none()


@cache
def _session_statement(slots: bool) -> sa.Select:
    """`get_session`'s statement, built once per process (most pages of a session send it),
    the session and the group as parameters."""
    query = sa.select(StudySession).where(
        StudySession.id == sa.bindparam("session_id"),
        StudySession.group_id == sa.bindparam("group_id"),
    )
    if slots:
        # Joined, not select-in: one session's few slots ride along in the same statement.
        query = query.options(joinedload(StudySession.slots).joinedload(RoleSlot.role_type))
    return query
