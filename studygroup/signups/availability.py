"""A member's "I can help" (availability), read: (db session, ...) -> data. Changing it:
`signups.availability_changes`.

An availability is never a promise and never a place: nothing here touches places or the
staffing history. A member answers for one session, or "usually available" for a series
(its sessions that start after the answer was given, until they change it); a session
answer wins over the series one, and a session answer with `can_help` False says "not this
time". Changing an answer ends the current row (`ended_at`) and starts a new one, so the
past offers stay for the fairness rule (`offers_without_place`).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from studygroup.auth.models import User
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus, Availability

# How far back `offers_without_place` looks: the group's latest scheduled sessions.
OFFERS_LOOKBACK = 24


def applies(row: Availability, session: StudySession) -> bool:
    """A series answer applies to the series' sessions that start after it was given."""
    return row.series_id == session.series_id and session.starts_at > row.created_at


def current_availability(
    db_session: Session,
    sessions: Iterable[StudySession],
    *,
    user_ids: Iterable[int] | None = None,
) -> dict[int, dict[int, Availability]]:
    """Each active member's effective "I can help" for each session: by session id, then by
    user id, only those who can help (a session answer "not this time" hides the series one).

    Every session id is a key (an empty dict when nobody can help). With `user_ids`, only
    those members. The rows come with their member (`user`) and their roles loaded: two
    queries however many sessions, none when there are no sessions.
    """
    sessions = list(sessions)
    result: dict[int, dict[int, Availability]] = {s.id: {} for s in sessions}
    if not sessions:
        return result
    session_ids = [s.id for s in sessions]
    series_ids = sorted({s.series_id for s in sessions if s.series_id is not None})
    group_ids = sorted({s.group_id for s in sessions})
    which = Availability.session_id.in_(session_ids)
    if series_ids:
        which = sa.or_(which, Availability.series_id.in_(series_ids))
    query = (
        sa.select(Availability, Membership.group_id)
        .join(
            Membership,
            sa.and_(
                Membership.user_id == Availability.user_id,
                Membership.group_id.in_(group_ids),
                Membership.status == MembershipStatus.ACTIVE,
            ),
        )
        .where(Availability.ended_at.is_(None), which)
        .options(joinedload(Availability.user))
        .order_by(Availability.id)
    )
    if user_ids is not None:
        user_ids = list(set(user_ids))
        if not user_ids:
            return result
        query = query.where(Availability.user_id.in_(user_ids))
    # (group id, user id): the member's memberships in the sessions' groups that are active.
    active: set[tuple[int, int]] = set()
    by_session: dict[int, dict[int, Availability]] = defaultdict(dict)
    by_series: dict[int, dict[int, Availability]] = defaultdict(dict)
    for row, group_id in db_session.execute(query).all():
        active.add((group_id, row.user_id))
        if row.session_id is not None:
            by_session[row.session_id][row.user_id] = row
        else:
            by_series[row.series_id][row.user_id] = row
    for session in sessions:
        answers = result[session.id]
        if session.series_id is not None:
            for user_id, row in by_series.get(session.series_id, {}).items():
                if applies(row, session):
                    answers[user_id] = row
        for user_id, row in by_session.get(session.id, {}).items():
            answers[user_id] = row  # the session answer wins, "not this time" included
        for user_id in [u for u, row in answers.items() if not row.can_help]:
            del answers[user_id]
        for user_id in [u for u in answers if (session.group_id, u) not in active]:
            del answers[user_id]
    return result


def helper_counts(db_session: Session, sessions: Iterable[StudySession]) -> dict[int, int]:
    """How many active members can help with each session ("5 people can help"), by session
    id; two queries however many sessions."""
    found = current_availability(db_session, sessions)
    return {session_id: len(answers) for session_id, answers in found.items()}


def sessions_member_can_help(
    db_session: Session, member: User, sessions: Iterable[StudySession]
) -> set[int]:
    """Which of these sessions the member said they can help with (two queries)."""
    found = current_availability(db_session, sessions, user_ids=[member.id])
    return {session_id for session_id, answers in found.items() if answers}


def offered_sessions(
    db_session: Session, member: User, *, now: datetime, limit: int = 20
) -> list[tuple[StudySession, Availability]]:
    """The sessions to come that the member said they can help with (for the session or
    usually for its series), soonest first, with their answer; groups loaded. Three queries.
    """
    sessions = list(
        db_session.scalars(
            offered_sessions_query(member.id, now=now)
            .options(joinedload(StudySession.group))
            .order_by(StudySession.starts_at, StudySession.id)
            .limit(limit)
        )
    )
    found = current_availability(db_session, sessions, user_ids=[member.id])
    return [(s, found[s.id][member.id]) for s in sessions if member.id in found[s.id]]


def offered_sessions_query(member_id, *, now) -> sa.Select:
    """SQL: the sessions to come, in the member's active groups, they have an answer "can
    help" for, or a series answer (`offered_sessions` drops those whose answer does not
    hold: `own_answer`). `member_id` and `now` may be values or bound parameters."""
    mine = sa.and_(Availability.user_id == member_id, Availability.ended_at.is_(None))
    active_groups = sa.select(Membership.group_id).where(
        Membership.user_id == member_id, Membership.status == MembershipStatus.ACTIVE
    )
    return sa.select(StudySession).where(
        StudySession.group_id.in_(active_groups),
        StudySession.status == SessionStatus.SCHEDULED,
        StudySession.starts_at > now,
        sa.or_(
            StudySession.id.in_(
                sa.select(Availability.session_id).where(mine, Availability.can_help)
            ),
            StudySession.series_id.in_(
                sa.select(Availability.series_id).where(mine, Availability.series_id.is_not(None))
            ),
        ),
    )


def own_answer(session: StudySession, rows: Iterable[Availability]) -> Availability | None:
    """One member's answer that counts for `session`, from their current rows for it or its
    series (the rule of `current_availability`, for a member in the session's group): the
    session answer wins, a series one applies to sessions after it; None unless it says
    "can help"."""
    answer = None
    for row in rows:
        if row.session_id == session.id:
            answer = row
            break
        if row.session_id is None and applies(row, session):
            answer = row
    return answer if answer is not None and answer.can_help else None


@dataclass
class MemberAnswers:
    """A member's own current answers about one session: what the session page shows."""

    session_row: Availability | None  # for this session ("not this time" when can_help False)
    series_row: Availability | None  # "usually available" for the session's series

    @property
    def series_applies(self) -> bool:
        return self.series_row is not None

    @property
    def effective(self) -> Availability | None:
        """The answer that counts, if the member can help; else None."""
        if self.session_row is not None:
            return self.session_row if self.session_row.can_help else None
        return self.series_row

    @property
    def not_this_time(self) -> bool:
        return self.session_row is not None and not self.session_row.can_help


def answers_of(db_session: Session, member: User, session: StudySession) -> MemberAnswers:
    """The member's current session answer and the series answer that applies to the session
    (given before it starts), in one query (plus their roles)."""
    which = Availability.session_id == session.id
    if session.series_id is not None:
        which = sa.or_(which, Availability.series_id == session.series_id)
    rows = db_session.scalars(
        sa.select(Availability).where(
            Availability.user_id == member.id, Availability.ended_at.is_(None), which
        )
    ).all()
    session_row = next((r for r in rows if r.session_id == session.id), None)
    series_row = next(
        (r for r in rows if r.series_id is not None and applies(r, session) and r.can_help),
        None,
    )
    return MemberAnswers(session_row, series_row)


def series_answer(db_session: Session, member: User, series_id: int) -> Availability | None:
    """The member's current "usually available" for the series, if any."""
    return db_session.scalar(
        sa.select(Availability).where(
            Availability.user_id == member.id,
            Availability.series_id == series_id,
            Availability.ended_at.is_(None),
        )
    )


def offers_without_place(
    db_session: Session, group: Group, user_ids: Iterable[int], *, before: datetime
) -> dict[int, int]:
    """For each member, how many times in a row they offered help and got no place: walking
    back over the group's latest scheduled sessions that start before `before` (at most
    OFFERS_LOOKBACK), each session they could help with (their answer as it stood when it
    started) and hold no confirmed place in counts one; the latest session in which they
    held a confirmed place ends the count; sessions they neither offered nor worked for are
    passed over (an occasional helper's offers count in a row all the same).

    Three queries however many members and sessions (none without members).
    """
    user_ids = sorted(set(user_ids))
    result = dict.fromkeys(user_ids, 0)
    if not user_ids:
        return result
    sessions = db_session.execute(
        sa.select(StudySession.id, StudySession.series_id, StudySession.starts_at)
        .where(
            StudySession.group_id == group.id,
            StudySession.status == SessionStatus.SCHEDULED,
            StudySession.starts_at < before,
        )
        .order_by(StudySession.starts_at.desc(), StudySession.id.desc())
        .limit(OFFERS_LOOKBACK)
    ).all()
    if not sessions:
        return result
    session_ids = [s.id for s in sessions]
    series_ids = sorted({s.series_id for s in sessions if s.series_id is not None})
    which = Availability.session_id.in_(session_ids)
    if series_ids:
        which = sa.or_(which, Availability.series_id.in_(series_ids))
    rows = db_session.execute(
        sa.select(
            Availability.user_id,
            Availability.session_id,
            Availability.series_id,
            Availability.can_help,
            Availability.created_at,
            Availability.ended_at,
        ).where(
            Availability.user_id.in_(user_ids),
            which,
            Availability.created_at < sessions[0].starts_at,
        )
    ).all()
    placed = set(
        db_session.execute(
            sa.select(Assignment.user_id, RoleSlot.session_id)
            .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
            .where(
                Assignment.user_id.in_(user_ids),
                Assignment.status == AssignmentStatus.CONFIRMED,
                RoleSlot.session_id.in_(session_ids),
            )
            .distinct()
        ).all()
    )
    by_user = defaultdict(list)
    for row in rows:
        by_user[row.user_id].append(row)

    def stood(row, at: datetime) -> bool:
        return row.created_at <= at and (row.ended_at is None or row.ended_at > at)

    for user_id in user_ids:
        mine = by_user.get(user_id, [])
        count = 0
        for s in sessions:
            if (user_id, s.id) in placed:
                break
            session_rows = [r for r in mine if r.session_id == s.id and stood(r, s.starts_at)]
            if session_rows:
                offered = session_rows[-1].can_help
            else:
                offered = any(
                    r.series_id is not None
                    and r.series_id == s.series_id
                    and r.created_at < s.starts_at
                    and stood(r, s.starts_at)
                    and r.can_help
                    for r in mine
                )
            if offered:
                count += 1
        result[user_id] = count
    return result
