"""Keeping the tie tables (`studygroup.coworking.models`) equal to the history.

What the tables hold: every session that started at or before the watermark
(`TieWatermark.upto`) and counts (scheduled, both places counted as worked). Time passing is
not a transaction, so the tables do not follow the clock: `advance_ties` (each `send-reminders`
run, and `rebuild-ties`) moves the watermark up to now, adding the sessions started since,
and readers add the few sessions between the watermark and their `now` live with the existing
join (`coworking.services.coworkers_of`), so a page is exact at every moment.

What changes them: anything that changes what counts as worked in a session (a place's status,
attendance or slot; a session's status, start or attendance confirmation; a slot's window, which
decides side by side). A flush hook notes the sessions touched; just before the commit,
`recount_pending` recounts the ties of those sessions: for the members with a place there, it
deletes their pairs' rows in the group and computes them again from the history (exact, where
increments could drift). Any service path, present or future, is covered, including bulk
UPDATEs that also change the session row (`confirm_attendance`).

Locks (PostgreSQL, advisory, held to the end of the transaction): a recount takes the ties lock
shared, then each group's lock in group id order; `advance_ties` and `rebuild_ties` take the ties
lock exclusively. The recount runs last in its transaction (at commit), after every row lock
the transaction holds, and takes no row locks itself (the tables have no foreign keys), so no
cycle can form. A change to a session that starts more than an hour from now, the bulk of
sign-ups, takes no lock at all: no watermark can reach it before the transaction ends.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from sqlalchemy import event
from sqlalchemy.orm import Session, aliased, attributes

from studygroup.coworking.models import Tie, TieRole, TieWatermark
from studygroup.db import UTCDateTime, utcnow
from studygroup.extensions import db
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment
from studygroup.signups.records import counts_as_worked

_PENDING = "ties_pending"
# Advisory lock keys (two int4): (_LOCK_SPACE, 0) is the ties lock, (_LOCK_SPACE + 1, group id)
# a group's.
_LOCK_SPACE = 29801
# Beyond this, a change cannot be reached by a watermark before its transaction ends.
_HORIZON = timedelta(hours=1)
# An advance with more new sessions than this rebuilds instead (a long pause of the cron).
_ADVANCE_LIMIT = 500
EARLY = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass
class _Pending:
    slots: set[int] = field(default_factory=set)
    sessions: dict[int, datetime | None] = field(default_factory=dict)  # id -> an earlier start
    users: set[int] = field(default_factory=set)


def _changed(obj, *names: str) -> bool:
    return any(attributes.get_history(obj, name).has_changes() for name in names)


def _old(obj, name: str) -> list:
    return [v for v in attributes.get_history(obj, name).deleted if v is not None]


@event.listens_for(Session, "after_flush")
def _note_changes(db_session: Session, _flush_context) -> None:
    pending = None

    def note() -> _Pending:
        nonlocal pending
        if pending is None:
            pending = db_session.info.setdefault(_PENDING, _Pending())
        return pending

    for obj in db_session.new:
        if isinstance(obj, Assignment):
            note().slots.add(obj.slot_id)
            note().users.add(obj.user_id)
    for obj in db_session.dirty | db_session.deleted:
        if isinstance(obj, Assignment):
            deleted = obj in db_session.deleted
            if deleted or _changed(obj, "status", "attendance", "slot_id", "user_id"):
                note().slots.update([obj.slot_id, *_old(obj, "slot_id")])
                note().users.update([obj.user_id, *_old(obj, "user_id")])
        elif isinstance(obj, StudySession):
            fields = ("status", "starts_at", "attendance_confirmed_at", "group_id")
            if obj in db_session.deleted or _changed(obj, *fields):
                earlier = min(_old(obj, "starts_at"), default=None)
                known = note().sessions.get(obj.id)
                note().sessions[obj.id] = min(filter(None, (earlier, known)), default=None)
        elif isinstance(obj, RoleSlot) and (
            obj in db_session.deleted or _changed(obj, "starts_at", "ends_at", "session_id")
        ):
            for session_id in (obj.session_id, *_old(obj, "session_id")):
                note().sessions.setdefault(session_id, None)


@event.listens_for(Session, "before_commit")
def _recount_before_commit(db_session: Session) -> None:
    if db_session.info.get(_PENDING) or db_session.new or db_session.dirty or db_session.deleted:
        settle(db_session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(db_session: Session) -> None:
    db_session.info.pop(_PENDING, None)


def settle(db_session: Session) -> None:
    """Flush, then recount the ties of the sessions this transaction changed (see the module
    docstring for the locks). Runs at commit; readers call it to see their own changes."""
    db_session.flush()
    pending = db_session.info.pop(_PENDING, None)
    if pending is not None:
        recount_ties(db_session, pending.sessions, slot_ids=pending.slots, users=pending.users)


def watermark(db_session: Session) -> datetime | None:
    return db_session.scalar(sa.select(TieWatermark.upto).where(TieWatermark.id == 1))


def recount_ties(
    db_session: Session,
    session_ids,
    *,
    slot_ids=(),
    users=(),
) -> int:
    """Recount the ties of these sessions (and of the sessions of these slots): every pair of
    members with a place there (or in `users`: places moved away) gets its rows in the
    session's group computed again from the history up to the watermark. `session_ids` may map
    a session to a start it had earlier in this transaction. Returns how many groups were
    recounted."""
    earlier = session_ids if isinstance(session_ids, dict) else dict.fromkeys(session_ids)
    if not earlier and not slot_ids:
        return 0
    # One query (it runs at every commit that touched a place): the sessions, those of the
    # slots, and the watermark.
    rows = db_session.execute(
        _touched_statement(bool(earlier), bool(slot_ids)),
        {"session_ids": sorted(earlier), "slot_ids": sorted(slot_ids)},
    ).all()
    if not rows:
        return 0
    horizon = max(utcnow() + _HORIZON, rows[0][3] or EARLY)
    groups: dict[int, list[int]] = {}
    for session_id, group_id, starts_at, _upto in rows:
        start = min(filter(None, (starts_at, earlier.get(session_id))))
        if start <= horizon:
            groups.setdefault(group_id, []).append(session_id)
    if not groups:
        return 0
    _lock(db_session, 0, shared=True)
    for group_id in sorted(groups):
        _lock(db_session, group_id)
    upto = watermark(db_session)  # read again under the locks
    if upto is None:
        return 0
    for group_id, ids in sorted(groups.items()):
        people = set(users) | set(
            db_session.scalars(
                sa.select(Assignment.user_id)
                .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
                .where(RoleSlot.session_id.in_(ids))
                .distinct()
            )
        )
        _recount_pairs(db_session, group_id, people, upto)
    return len(groups)


@cache
def _touched_statement(sessions: bool, slots: bool) -> sa.Select:
    """`recount_ties`' first statement, built once per process (every sign-up sends it:
    building it cost more than sending it), the ids as parameters."""
    touched = sa.false()
    if sessions:
        touched = StudySession.id.in_(sa.bindparam("session_ids", expanding=True))
    if slots:
        of_slots = sa.select(RoleSlot.session_id).where(
            RoleSlot.id.in_(sa.bindparam("slot_ids", expanding=True))
        )
        touched = sa.or_(touched, StudySession.id.in_(of_slots))
    upto = sa.select(TieWatermark.upto).where(TieWatermark.id == 1).scalar_subquery()
    return sa.select(StudySession.id, StudySession.group_id, StudySession.starts_at, upto).where(
        touched
    )


def _lock(db_session: Session, group_id: int, *, shared: bool = False) -> None:
    """An advisory lock until the transaction ends: the ties lock (0) or a group's. SQLite
    has one writer at a time and needs none."""
    if db_session.get_bind().dialect.name != "postgresql":
        return
    space = _LOCK_SPACE if group_id == 0 else _LOCK_SPACE + 1
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    db_session.execute(
        sa.text(f"SELECT {function}(:space, :key)"), {"space": space, "key": group_id}
    )


def _recount_pairs(db_session: Session, group_id: int, people: set[int], upto: datetime) -> None:
    if len(people) < 2:
        return
    people_list = sorted(people)
    for model in (Tie, TieRole):
        db_session.execute(
            sa.delete(model).where(
                model.group_id == group_id,
                model.user_id.in_(people_list),
                model.other_id.in_(people_list),
            )
        )
    _insert_ties(db_session, upto, group_id=group_id, people=people_list)


@cache
def pair_join():
    """FROM one member's place JOIN another member's place in the same session, both counted
    as worked (`counts_as_worked`), the session scheduled: (select_from, a, b, slot_a, slot_b,
    side_by_side). Side by side: the same slot, or slots whose windows overlap. Callers add
    whose places and up to when.

    Made once per process: an alias adapts its columns on first use, which cost each page
    more than running its query. A statement uses it once per SELECT (sibling SELECTs of a
    UNION may share it)."""
    a, b = aliased(Assignment), aliased(Assignment)
    slot_a, slot_b = aliased(RoleSlot), aliased(RoleSlot)
    session = StudySession
    side_by_side = sa.or_(
        slot_a.id == slot_b.id,
        sa.and_(slot_a.starts_at < slot_b.ends_at, slot_a.ends_at > slot_b.starts_at),
    )
    joins = (
        (slot_a, slot_a.id == a.slot_id),
        (session, session.id == slot_a.session_id),
        (slot_b, slot_b.session_id == session.id),
        (b, sa.and_(b.slot_id == slot_b.id, b.user_id != a.user_id)),
    )
    worked = (
        session.status == SessionStatus.SCHEDULED,
        counts_as_worked(a, session),
        counts_as_worked(b, session),
    )

    def select_from(*columns):
        query = sa.select(*columns).select_from(a)
        for target, on in joins:
            query = query.join(target, on)
        return query.where(*worked)

    return select_from, a, b, slot_a, slot_b, side_by_side


def tie_rows(
    *,
    users,
    now: datetime,
    others=None,
    group_id: int | None = None,
    groups=None,
    since: datetime | None = None,
    until: datetime | None = None,
    roles: bool = False,
) -> sa.Subquery:
    """Subquery: the ties of `users` with `others` (ids or SQL; None: anyone) as the tables
    hold them up to the watermark, and the sessions started since counted live, so a reader is
    exact at `now`. Columns: user_id, other_id, group_id, sessions, side, first_at, last_at
    (one row per stored tie: user, other, group), session_id and live_side (one row per pair
    of places in a session since the watermark: `session_id` set, `live_side` the session
    when side by side, `sessions` and `side` null). Only the group `group_id` and the groups
    in `groups` (SQL) when given. With `roles`, also role_type_id and role_sessions: stored
    ties repeat once per role both held, a live row has the role when both held the same slot.
    With `since` or `until` (a year is no stored tie's span), every session in
    [since, until) is counted live and nothing comes from the tables.
    Aggregate the sessions as sum(sessions) + count(distinct session_id)."""
    upto = (
        sa.select(TieWatermark.upto)
        .where(TieWatermark.id == 1, TieWatermark.upto <= now)
        .scalar_subquery()
    )
    stored_columns = [
        Tie.user_id.label("user_id"),
        Tie.other_id.label("other_id"),
        Tie.group_id.label("group_id"),
        Tie.sessions.label("sessions"),
        Tie.side_by_side.label("side"),
        Tie.first_at.label("first_at"),
        Tie.last_at.label("last_at"),
        sa.null().label("session_id"),
        sa.null().label("live_side"),
    ]
    if roles:
        stored_columns += [
            TieRole.role_type_id.label("role_type_id"),
            TieRole.sessions.label("role_sessions"),
        ]
    stored = sa.select(*stored_columns).select_from(Tie).where(upto.is_not(None))
    if roles:
        stored = stored.outerjoin(
            TieRole,
            sa.and_(
                TieRole.user_id == Tie.user_id,
                TieRole.other_id == Tie.other_id,
                TieRole.group_id == Tie.group_id,
            ),
        )
    pairs, me, they, my_slot, their_slot, side_by_side = pair_join()
    session = StudySession
    live_columns = [
        me.user_id,
        they.user_id,
        session.group_id,
        sa.null(),
        sa.null(),
        session.starts_at,
        session.starts_at,
        session.id,
        sa.case((side_by_side, session.id)),
    ]
    if roles:
        live_columns += [sa.case((my_slot.id == their_slot.id, my_slot.role_type_id)), sa.null()]
    live = pairs(*live_columns).where(session.starts_at <= now)
    if users is not None:
        stored = stored.where(Tie.user_id.in_(users))
        live = live.where(me.user_id.in_(users))
    if since is not None or until is not None:
        stored = stored.where(sa.false())
        if since is not None:
            live = live.where(session.starts_at >= since)
        if until is not None:
            live = live.where(session.starts_at < until)
    else:
        live = live.where(
            session.starts_at > sa.func.coalesce(upto, sa.literal(EARLY, UTCDateTime))
        )
    if others is not None:
        stored = stored.where(Tie.other_id.in_(others))
        live = live.where(they.user_id.in_(others))
    if group_id is not None:
        stored = stored.where(Tie.group_id == group_id)
        live = live.where(session.group_id == group_id)
    if groups is not None:
        stored = stored.where(Tie.group_id.in_(groups))
        live = live.where(session.group_id.in_(groups))
    return sa.union_all(stored, live).subquery()


def _insert_ties(db_session: Session, upto: datetime, *, group_id=None, people=None) -> None:
    """INSERT ... SELECT both tables' rows from the history up to `upto` (both directions)."""
    pairs, a, b, slot_a, slot_b, side_by_side = pair_join()
    session = StudySession
    conditions = [session.starts_at <= upto]
    if group_id is not None:
        conditions.append(session.group_id == group_id)
    if people is not None:
        conditions += [a.user_id.in_(people), b.user_id.in_(people)]

    def select_from(*columns):
        return pairs(*columns).where(*conditions)

    ties = select_from(
        a.user_id,
        b.user_id,
        session.group_id,
        sa.func.count(sa.distinct(session.id)),
        sa.func.count(sa.distinct(sa.case((side_by_side, session.id)))),
        sa.func.min(session.starts_at),
        sa.func.max(session.starts_at),
    ).group_by(a.user_id, b.user_id, session.group_id)
    db_session.execute(
        sa.insert(Tie).from_select(
            ["user_id", "other_id", "group_id", "sessions", "side_by_side", "first_at", "last_at"],
            ties,
        )
    )
    # A role type appears once per session, so "both held the role" is "the same slot".
    roles = (
        select_from(
            a.user_id,
            b.user_id,
            slot_a.role_type_id,
            session.group_id,
            sa.func.count(sa.distinct(session.id)),
        )
        .where(slot_b.id == slot_a.id)
        .group_by(a.user_id, b.user_id, slot_a.role_type_id, session.group_id)
    )
    db_session.execute(
        sa.insert(TieRole).from_select(
            ["user_id", "other_id", "role_type_id", "group_id", "sessions"], roles
        )
    )


def _set_watermark(db_session: Session, upto: datetime) -> None:
    db_session.execute(sa.delete(TieWatermark))
    db_session.execute(sa.insert(TieWatermark).values(id=1, upto=upto))


@dataclass
class TieCounts:
    ties: int
    roles: int
    sessions: int  # added (advance) or counted (rebuild)
    upto: datetime


def rebuild_ties(db_session: Session, *, now: datetime) -> TieCounts:
    """Empty the tables and fill them from the whole history up to `now` (the new watermark).
    Takes the ties lock exclusively: no recount runs meanwhile. The caller commits."""
    _lock(db_session, 0)
    db_session.flush()
    db_session.info.pop(_PENDING, None)  # what this rebuild reads includes them
    db_session.execute(sa.delete(Tie))
    db_session.execute(sa.delete(TieRole))
    _insert_ties(db_session, now)
    _set_watermark(db_session, now)
    return _counts(db_session, now, _started(db_session, None, now))


def advance_ties(db_session: Session, *, now: datetime) -> TieCounts:
    """Move the watermark up to `now`, adding the sessions that started since (their members'
    pairs are recounted per group). Never moves it back. Without a watermark yet, or after a
    long pause, a rebuild. Takes the ties lock exclusively; the caller commits."""
    _lock(db_session, 0)
    upto = watermark(db_session)
    if upto is None:
        return rebuild_ties(db_session, now=now)
    if now <= upto:
        return _counts(db_session, upto, 0)
    started = db_session.execute(
        sa.select(StudySession.id, StudySession.group_id).where(
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at > upto,
            StudySession.starts_at <= now,
        )
    ).all()
    if len(started) > _ADVANCE_LIMIT:
        return rebuild_ties(db_session, now=now)
    groups: dict[int, list[int]] = {}
    for session_id, group_id in started:
        groups.setdefault(group_id, []).append(session_id)
    for group_id, ids in sorted(groups.items()):
        people = set(
            db_session.scalars(
                sa.select(Assignment.user_id)
                .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
                .join(StudySession, StudySession.id == RoleSlot.session_id)
                .where(RoleSlot.session_id.in_(ids), counts_as_worked(Assignment, StudySession))
                .distinct()
            )
        )
        _recount_pairs(db_session, group_id, people, now)
    _set_watermark(db_session, now)
    return _counts(db_session, now, len(started))


def _started(db_session: Session, after: datetime | None, upto: datetime) -> int:
    query = sa.select(sa.func.count()).where(
        StudySession.status == SessionStatus.SCHEDULED, StudySession.starts_at <= upto
    )
    if after is not None:
        query = query.where(StudySession.starts_at > after)
    return db_session.scalar(query)


def _counts(db_session: Session, upto: datetime, sessions: int) -> TieCounts:
    ties = db_session.scalar(sa.select(sa.func.count()).select_from(Tie))
    roles = db_session.scalar(sa.select(sa.func.count()).select_from(TieRole))
    return TieCounts(ties, roles, sessions, upto)


@click.command("rebuild-ties")
@with_appcontext
def rebuild_ties_command() -> None:
    """Rebuild the co-working ties from the whole history (up to now)."""
    counts = rebuild_ties(db.session, now=utcnow())
    db.session.commit()
    click.echo(
        f"ties: {counts.ties} rows ({counts.ties // 2} pairs per group), "
        f"roles: {counts.roles} rows, sessions counted: {counts.sessions}, "
        f"up to {counts.upto.isoformat(timespec='seconds')}"
    )
