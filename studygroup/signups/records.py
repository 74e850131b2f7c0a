"""What members did, as kept: each session's staffing log (who signed up, was moved,
promoted, passed over...; written by every change to places, read back in the reader's
language) and what counts as worked (the one definition behind member records, co-working,
thanks and the suggested teams).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from studygroup.auth.models import User
from studygroup.groups.models import Group
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus, Attendance, StaffingChange

# --- the staffing log ---------------------------------------------------------------------


def _detail(**data) -> str:
    """A staffing change's detail as data (ids and numbers, JSON), never as text in the
    language of whoever acted: pages name the roles in their reader's language."""
    return json.dumps(data, separators=(",", ":"))


# The people a detail names at most (the column holds 500 characters).
HISTORY_PEOPLE = 30


def _parse_detail(text: str):
    """The data `_detail` wrote, or None for a plain text (older rows, "up", a count)."""
    if not text.startswith("{"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _log(db_session, session_id, action, *, actor=None, assignment=None, detail="", now):
    db_session.add(
        StaffingChange(
            session_id=session_id,
            assignment_id=assignment.id if assignment is not None else None,
            actor_id=actor.id if actor is not None else None,
            action=action,
            detail=detail[:500],
            created_at=now,
        )
    )


def staffing_history(db_session: Session, session: StudySession) -> list[StaffingChange]:
    return list(
        db_session.scalars(
            sa.select(StaffingChange)
            .where(StaffingChange.session_id == session.id)
            .options(
                joinedload(StaffingChange.actor),
                joinedload(StaffingChange.assignment).joinedload(Assignment.user),
                joinedload(StaffingChange.assignment)
                .joinedload(Assignment.slot)
                .joinedload(RoleSlot.role_type),
            )
            .order_by(StaffingChange.created_at.desc(), StaffingChange.id.desc())
        )
    )


@dataclass
class ChangeDetail:
    """A history line's detail, ready to show in the reader's language: the roles it names
    (moved: from, to; passed over: the role that holds the member; head-count lowered: the
    role), its numbers (head-count: before, after) and the people (over the head-count; the
    other member of a hand-over)."""

    slots: list[RoleSlot] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    people: list[User] = field(default_factory=list)
    text: str = ""  # written as text before details were data: shown as it is


_DETAILED = (
    "moved",
    "passed_over",
    "headcount_lowered",
    # Offers: the other member of a hand-over (`user`), named in the reader's page.
    "handed_over",
    "took_offer",
    "requested_offer",
)


def _people_of(d: dict) -> list:
    """The members a detail names: those over a lowered head-count, or a hand-over's other
    member."""
    return [*d.get("over", []), *([d["user"]] if "user" in d else [])]


def history_details(
    db_session: Session,
    session: StudySession,
    history: list[StaffingChange],
    *,
    known: Mapping[int, Any] | None = None,
) -> dict[int, ChangeDetail]:
    """The details of `history` (see `staffing_history`) by change id. The session's slots
    must be loaded; one query for the people named, none when nobody is or when `known`
    (people the caller has read, by user id, anything with a `display_name`) has them all."""
    slots = {slot.id: slot for slot in session.slots}
    data = {}
    for change in history:
        if change.action in _DETAILED and change.detail:
            data[change.id] = _parse_detail(change.detail)
    people_ids = {
        user_id
        for d in data.values()
        if isinstance(d, dict)
        for user_id in _people_of(d)
        if isinstance(user_id, int)
    }
    people = {u: known[u] for u in people_ids if u in (known or {})}
    if missing := people_ids - people.keys():
        people.update(
            (u.id, u) for u in db_session.scalars(sa.select(User).where(User.id.in_(missing)))
        )
    details = {}
    for change in history:
        if change.id not in data:
            continue
        d = data[change.id]
        if not isinstance(d, dict):
            details[change.id] = ChangeDetail(text=change.detail)
            continue
        names = ("from", "to") if change.action == "moved" else ("slot",)
        details[change.id] = ChangeDetail(
            slots=[slots[d[n]] for n in names if isinstance(d.get(n), int) and d[n] in slots],
            numbers=[d[n] for n in ("before", "after") if isinstance(d.get(n), int)],
            people=[people[u] for u in _people_of(d) if isinstance(u, int) and u in people],
        )
    return details


# --- attendance: what counts as worked, no-shows ------------------------------------------


def no_show_count(db_session: Session, user: User, group: Group) -> int:
    return db_session.scalar(
        sa.select(sa.func.count())
        .select_from(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            Assignment.user_id == user.id,
            StudySession.group_id == group.id,
            StudySession.status == SessionStatus.SCHEDULED,
            Assignment.attendance == Attendance.NO_SHOW,
        )
    )


def counts_as_worked(place=Assignment, session=StudySession):
    """SQL: this place counts as worked (the one definition, used by records and co-working).

    A confirmed place marked worked by an organizer, or, for a session whose attendance is not
    confirmed yet, one not marked no-show. Callers also require the session to have started
    and to be scheduled (a cancelled or not-held session counts for no one).
    """
    return sa.and_(
        place.status == AssignmentStatus.CONFIRMED,
        sa.or_(
            place.attendance == Attendance.WORKED,
            sa.and_(
                place.attendance == Attendance.UNKNOWN,
                session.attendance_confirmed_at.is_(None),
            ),
        ),
    )


def has_done_role(db_session: Session, group: Group, *, now: datetime) -> set[tuple[int, int]]:
    """(user id, role type id) pairs of members who have worked each role before."""
    rows = db_session.execute(
        sa.select(Assignment.user_id, RoleSlot.role_type_id)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            StudySession.group_id == group.id,
            StudySession.status == SessionStatus.SCHEDULED,
            Assignment.status == AssignmentStatus.CONFIRMED,
            StudySession.starts_at <= now,
            counts_as_worked(),
        )
        .distinct()
    )
    return {(u, r) for u, r in rows}
