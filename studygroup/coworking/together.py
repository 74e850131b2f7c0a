"""Sessions worked together: the names on a held session's page (`worked_together`), whom a
member worked with at each of their sessions (`worked_with_by_session`), and the sessions two
members shared (`sessions_together`). Names as the viewer may see them (`coworking.visibility`).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from studygroup.auth.models import User
from studygroup.coworking.services import member_pairs
from studygroup.coworking.visibility import (
    history_groups,
    organized_by,
    shown_by_name,
    visible_names,
)
from studygroup.groups.models import RoleType
from studygroup.i18n import role_label
from studygroup.names import name_order
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import Assignment


def worked_together(
    db_session: Session,
    session: StudySession,
    *,
    staffing: dict,
    worked: list[Assignment],
    viewer: User | None,
    now: datetime,
) -> list[tuple[RoleSlot, list[str | None]]]:
    """For a session that has started and was held: each role with the names (as `viewer`
    may see them, None for "a member") of the people whose place there counts as worked.

    `worked` is the places that `counts_as_worked` chose (the one definition), as the
    session page reads them with its `staffing` (`SlotStaffing` by slot id), whose order the
    names keep. At most one query (`visible_names`). The session's slots must be loaded."""
    if not session.is_scheduled or session.starts_at > now:
        return []
    counted = {place.id for place in worked}
    roles = [
        (slot, [p for p in staffing[slot.id].confirmed if p.id in counted])
        for slot in session.slots
    ]
    roles = [(slot, places) for slot, places in roles if places]
    people = {p.user_id: p.user for _slot, places in roles for p in places}.values()
    names = visible_names(db_session, viewer, people, group_id=session.group_id)
    return [(slot, [names[p.user_id] for p in places]) for slot, places in roles]


def worked_with_by_session(
    db_session: Session,
    member: User,
    session_ids: list[int],
    *,
    viewer: User | None,
    now: datetime,
) -> dict[int, list[str | None]]:
    """For each of these sessions, the people `member` co-worked with there (names as the
    viewer may see them in that session's group), in one query: the people and whether the
    viewer organizes each session's group come with the pairs."""
    if not session_ids:
        return {}
    select_from, they, *_ = member_pairs(member.id, now=now, groups=history_groups(member, viewer))
    pairs = (
        select_from(
            StudySession.id.label("session_id"),
            StudySession.group_id.label("group_id"),
            they.user_id.label("user_id"),
        )
        .where(StudySession.id.in_(session_ids))
        .distinct()
        .subquery()
    )
    organizes = pairs.c.group_id.in_(organized_by(viewer)) if viewer is not None else sa.false()
    rows = db_session.execute(
        sa.select(pairs.c.session_id, pairs.c.group_id, User, organizes).join(
            User, User.id == pairs.c.user_id
        )
    ).all()
    shown: dict[int, list[User | None]] = defaultdict(list)
    for session_id, _group_id, person, viewer_organizes in rows:
        named = viewer_organizes or shown_by_name(person.id, person.appear_by_name, viewer)
        shown[session_id].append(person if named else None)
    return {
        # By reading, then name, as the member lists; "a member" last.
        session_id: [p.display_name if p else None for p in sorted(persons, key=_by_name)]
        for session_id, persons in shown.items()
    }


def _by_name(person: User | None) -> tuple:
    return (True,) if person is None else (False, *name_order(person))


@dataclass
class SessionTogether:
    session: StudySession
    my_roles: list[str]
    their_roles: list[str]
    side_by_side: bool


def sessions_together(
    db_session: Session,
    member: User,
    other_id: int,
    *,
    viewer: User | None,
    now: datetime,
    group_id=None,
) -> list[SessionTogether]:
    """The sessions two members co-worked in, newest first, with each one's roles."""
    select_from, they, my_slot, their_slot, side_by_side = member_pairs(
        member.id, now=now, group_id=group_id, groups=history_groups(member, viewer)
    )
    my_type, their_type = aliased(RoleType), aliased(RoleType)
    rows = db_session.execute(
        select_from(StudySession, my_type, their_type, side_by_side)
        .join(my_type, my_type.id == my_slot.role_type_id)
        .join(their_type, their_type.id == their_slot.role_type_id)
        .where(they.user_id == other_id)
        .order_by(StudySession.starts_at.desc())
    ).all()
    together: dict[int, SessionTogether] = {}
    for session, mine, theirs, side in rows:
        entry = together.setdefault(session.id, SessionTogether(session, [], [], False))
        for names, role in ((entry.my_roles, mine), (entry.their_roles, theirs)):
            if role_label(role) not in names:
                names.append(role_label(role))
        entry.side_by_side = entry.side_by_side or bool(side)
    return list(together.values())
