"""Changing a member's "I can help" (availability): for one session, "not this time", or
"usually available" for a series; withdrawing it. Reading the answers: `signups.availability`.

Changes take the member's membership row lock first, so two requests by one member (a double
click, two tabs) change their answers one after another. A change ends the current row
(`ended_at`) and starts a new one, so the past offers stay for the fairness rule
(`offers_without_place`). Functions flush; the caller commits.
"""

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.db import lock_row
from studygroup.groups.models import Membership, MembershipStatus, RoleType
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, SessionSeries, SessionStatus, StudySession
from studygroup.signups.availability import applies, series_answer
from studygroup.signups.models import Availability, AvailabilityRole

NOTE_MAX = 200


def _lock_membership(db_session: Session, member: User, group_id: int) -> Membership:
    membership = db_session.scalar(
        sa.select(Membership).where(
            Membership.user_id == member.id,
            Membership.group_id == group_id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if membership is None:
        raise RuleViolation(_l("Join the group to say you can help."))
    return lock_row(db_session, Membership, membership.id)


def _check_open(session: StudySession, now: datetime) -> None:
    if session.status == SessionStatus.CANCELLED:
        raise RuleViolation(_l("This session is cancelled."))
    if session.status == SessionStatus.NOT_HELD:
        raise RuleViolation(_l("This session is marked as not held."))
    if session.starts_at <= now:
        raise RuleViolation(_l("This session has already started or is over."))


def _checked_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise RuleViolation(_l("Use at most %(n)d characters.", n=NOTE_MAX), "note")
    return note


def _checked_roles(
    db_session: Session,
    group_id: int,
    any_role: bool,
    role_type_ids: Iterable[int],
    *,
    session: StudySession | None = None,
) -> frozenset[int]:
    """The roles of a preference: active roles of the group (and of the session, for a
    session answer); at least one unless any role will do."""
    if any_role:
        return frozenset()
    wanted = frozenset(int(r) for r in role_type_ids)
    if not wanted:
        raise RuleViolation(_l("Choose at least one role, or any role."), "roles")
    roles = db_session.scalars(
        sa.select(RoleType).where(RoleType.id.in_(wanted), RoleType.group_id == group_id)
    ).all()
    if len(roles) != len(wanted):
        raise RuleViolation(_l("Choose roles of this group."), "roles")
    if any(r.is_retired for r in roles):
        raise RuleViolation(_l("This role is retired."), "roles")
    if session is not None:
        in_session = set(
            db_session.scalars(
                sa.select(RoleSlot.role_type_id).where(RoleSlot.session_id == session.id)
            )
        )
        if not wanted <= in_session:
            raise RuleViolation(_l("Choose roles of this session."), "roles")
    return wanted


def _same(row: Availability, can_help: bool, any_role: bool, roles: frozenset[int], note: str):
    return (
        row.can_help == can_help
        and row.any_role == any_role
        and (any_role or row.role_type_ids == roles)
        and row.note == note
    )


def _replace(
    db_session: Session,
    current: Availability | None,
    *,
    member: User,
    now: datetime,
    session_id: int | None = None,
    series_id: int | None = None,
    can_help: bool = True,
    any_role: bool = True,
    roles: frozenset[int] = frozenset(),
    note: str = "",
) -> Availability:
    """End the current answer and start a new one; an unchanged answer stays as it is."""
    if current is not None:
        if _same(current, can_help, any_role, roles, note):
            return current
        current.ended_at = now
        db_session.flush()  # the unique index on current answers sees it ended first
    row = Availability(
        user_id=member.id,
        session_id=session_id,
        series_id=series_id,
        can_help=can_help,
        any_role=any_role,
        note=note,
        created_at=now,
    )
    row.roles = [AvailabilityRole(role_type_id=r) for r in sorted(roles)]
    db_session.add(row)
    db_session.flush()
    return row


def _current_session_row(db_session: Session, member: User, session: StudySession):
    return db_session.scalar(
        sa.select(Availability).where(
            Availability.user_id == member.id,
            Availability.session_id == session.id,
            Availability.ended_at.is_(None),
        )
    )


def set_availability(
    db_session: Session,
    *,
    member: User,
    session: StudySession,
    any_role: bool,
    role_type_ids: Iterable[int] = (),
    note: str = "",
    now: datetime,
) -> Availability:
    """Say "I can help" with this session: any role, or the roles given (of the session, not
    retired), with an optional note (NOTE_MAX characters). Replaces the member's current
    answer for the session (history kept); an unchanged answer writes nothing.

    Refuses (RuleViolation) a non-member, a cancelled, not held or started session, roles not
    of the group or session or retired, and a note too long.
    """
    note = _checked_note(note)
    _check_open(session, now)
    _lock_membership(db_session, member, session.group_id)
    roles = _checked_roles(db_session, session.group_id, any_role, role_type_ids, session=session)
    return _replace(
        db_session,
        _current_session_row(db_session, member, session),
        member=member,
        now=now,
        session_id=session.id,
        any_role=any_role,
        roles=roles,
        note=note,
    )


def withdraw_availability(
    db_session: Session, *, member: User, session: StudySession, now: datetime
) -> Availability | None:
    """Take back "I can help" for this session. When the member is usually available for
    its series, that writes "not this time" (a session answer with can_help False), returned;
    else the session answer just ends (None returned). Nothing to take back is no error.
    """
    _check_open(session, now)
    _lock_membership(db_session, member, session.group_id)
    current = _current_session_row(db_session, member, session)
    series_row = (
        series_answer(db_session, member, session.series_id)
        if session.series_id is not None
        else None
    )
    if series_row is not None and applies(series_row, session):
        return _replace(
            db_session, current, member=member, now=now, session_id=session.id, can_help=False
        )
    if current is not None:
        current.ended_at = now
        db_session.flush()
    return None


def _check_series(db_session: Session, series: SessionSeries, now: datetime) -> None:
    has_future = db_session.scalar(
        sa.select(
            sa.exists().where(
                StudySession.series_id == series.id,
                StudySession.status == SessionStatus.SCHEDULED,
                StudySession.starts_at > now,
            )
        )
    )
    if not has_future:
        raise RuleViolation(_l("This series has no sessions to come."))


def set_series_availability(
    db_session: Session,
    *,
    member: User,
    series: SessionSeries,
    any_role: bool = True,
    role_type_ids: Iterable[int] = (),
    note: str = "",
    now: datetime,
) -> Availability:
    """Say "usually available" for a series: it applies to the series' sessions that start
    from now on, until the member changes it (a session answer wins for its session).
    Replaces the current series answer (history kept). Refuses a non-member, a series with no
    sessions to come, roles not of the group or retired, and a note too long.
    """
    note = _checked_note(note)
    _lock_membership(db_session, member, series.group_id)
    _check_series(db_session, series, now)
    roles = _checked_roles(db_session, series.group_id, any_role, role_type_ids)
    return _replace(
        db_session,
        series_answer(db_session, member, series.id),
        member=member,
        now=now,
        series_id=series.id,
        any_role=any_role,
        roles=roles,
        note=note,
    )


def end_series_availability(
    db_session: Session, *, member: User, series: SessionSeries, now: datetime
) -> None:
    """Stop being usually available for the series (answers for single sessions stay)."""
    _lock_membership(db_session, member, series.group_id)
    current = series_answer(db_session, member, series.id)
    if current is not None:
        current.ended_at = now
        db_session.flush()


def say_can_help(
    db_session: Session,
    *,
    member: User,
    session: StudySession,
    any_role: bool,
    role_type_ids: Iterable[int] = (),
    note: str = "",
    usually: bool = False,
    now: datetime,
) -> Availability:
    """The session page's "I can help" form. `usually` (for a session of a series) is the
    state of the member's "usually available" for the series: ticked, the answer becomes
    the series answer and the session follows it (a session answer of its own ends); not
    ticked, the series answer ends and the answer is for this session only.
    Returns the answer that now counts for the session. Refuses as `set_availability`.
    """
    series = session.series if session.series_id is not None else None
    if series is None or not usually:
        if series is not None and series_answer(db_session, member, series.id) is not None:
            _check_open(session, now)
            end_series_availability(db_session, member=member, series=series, now=now)
        return set_availability(
            db_session,
            member=member,
            session=session,
            any_role=any_role,
            role_type_ids=role_type_ids,
            note=note,
            now=now,
        )
    _check_open(session, now)
    # The roles are checked against the session too: the form offers the session's.
    _checked_roles(db_session, session.group_id, any_role, role_type_ids, session=session)
    row = set_series_availability(
        db_session,
        member=member,
        series=series,
        any_role=any_role,
        role_type_ids=role_type_ids,
        note=note,
        now=now,
    )
    current = _current_session_row(db_session, member, session)
    if current is not None:
        current.ended_at = now
        db_session.flush()
    return row
