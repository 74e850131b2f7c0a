"""What reception finds and counts on the check-in page: participants, staff and members by
name or code (`search`), and how many are checked in (`checkin_counts`). Read-only.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from studygroup.auth.models import User
from studygroup.checkin.services import looks_like_code, normalize_code
from studygroup.groups.models import Membership, MembershipStatus, RoleType
from studygroup.names import name_matches, search_term
from studygroup.participants.models import LIVE_PARTICIPANT_STATUSES, Participant, ParticipantStatus
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus

# A search shows this many people of each kind; reception types more to narrow it down.
SEARCH_LIMIT = 20


@dataclass(frozen=True)
class Hit:
    kind: str  # "participant", "staff" or "member" (neither: may be registered at the door)
    id: int  # participant id, place id, or user id
    name: str
    code: str | None = None
    status: str | None = None  # participant: registered / waitlisted
    role: RoleType | None = None
    checked_in_at: datetime | None = None
    checked_in_by: str | None = None

    @property
    def checked_in(self) -> bool:
        return self.checked_in_at is not None


@dataclass(frozen=True)
class SearchResults:
    query: str
    hits: list[Hit]
    more: bool  # a kind had more than SEARCH_LIMIT matches


def search(db_session: Session, session: StudySession, q: str) -> SearchResults:
    """Participants (registered or waitlisted) and confirmed staff of the session whose name
    or reading contains `q` (width, case and kana aside), or the participant with code `q`;
    then active members of the group who are neither, for a walk-in. Four queries whatever
    the numbers; at most SEARCH_LIMIT of each kind, in name order."""
    q = (q or "").strip()[:80]
    if not search_term(q):
        return SearchResults(q, [], False)
    by_user = aliased(User)
    person = aliased(User)
    term = search_term(q)
    participant_match = person.name_search_key.contains(term, autoescape=True)
    if looks_like_code(q):
        participant_match = sa.or_(participant_match, Participant.code == normalize_code(q))
    participants = db_session.execute(
        sa.select(Participant, person.display_name, by_user.display_name)
        .join(person, person.id == Participant.user_id)
        .outerjoin(by_user, by_user.id == Participant.checked_in_by_id)
        .where(
            Participant.session_id == session.id,
            Participant.status.in_(LIVE_PARTICIPANT_STATUSES),
            participant_match,
        )
        .order_by(person.name_sort_key, person.display_name, Participant.id)
        .limit(SEARCH_LIMIT + 1)
    ).all()
    staff = db_session.execute(
        sa.select(Assignment, RoleType, person.display_name, by_user.display_name)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(RoleType, RoleType.id == RoleSlot.role_type_id)
        .join(person, person.id == Assignment.user_id)
        .outerjoin(by_user, by_user.id == Assignment.checked_in_by_id)
        .where(
            RoleSlot.session_id == session.id,
            Assignment.status == AssignmentStatus.CONFIRMED,
            person.name_search_key.contains(term, autoescape=True),
        )
        .order_by(person.name_sort_key, person.display_name, RoleSlot.position, Assignment.id)
        .limit(SEARCH_LIMIT + 1)
    ).all()
    taken = sa.select(Participant.user_id).where(
        Participant.session_id == session.id, Participant.status.in_(LIVE_PARTICIPANT_STATUSES)
    )
    members = db_session.execute(
        sa.select(User.id, User.display_name)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.group_id == session.group_id,
            Membership.status == MembershipStatus.ACTIVE,
            name_matches(q),
            User.id.not_in(taken),
        )
        .order_by(User.name_sort_key, User.display_name, User.id)
        .limit(SEARCH_LIMIT + 1)
    ).all()
    hits = [
        Hit(
            "participant",
            p.id,
            name,
            code=p.code,
            status=p.status.value,
            checked_in_at=p.checked_in_at,
            checked_in_by=by_name,
        )
        for p, name, by_name in participants[:SEARCH_LIMIT]
    ]
    hits += [
        Hit(
            "staff",
            place.id,
            name,
            role=role,
            checked_in_at=place.checked_in_at,
            checked_in_by=by_name,
        )
        for place, role, name, by_name in staff[:SEARCH_LIMIT]
    ]
    hits += [Hit("member", user_id, name) for user_id, name in members[:SEARCH_LIMIT]]
    more = any(len(rows) > SEARCH_LIMIT for rows in (participants, staff, members))
    return SearchResults(q, hits, more)


@dataclass(frozen=True)
class Counts:
    checked_in: int
    registered: int
    staff_checked_in: int
    staff: int

    def as_dict(self) -> dict:
        return {
            "checked_in": self.checked_in,
            "registered": self.registered,
            "staff_checked_in": self.staff_checked_in,
            "staff": self.staff,
        }


def checkin_counts(db_session: Session, session: StudySession) -> Counts:
    """Participants checked in / registered, and staff places checked in / confirmed: two
    queries."""
    checked, registered = db_session.execute(
        sa.select(sa.func.count(Participant.checked_in_at), sa.func.count(Participant.id)).where(
            Participant.session_id == session.id,
            Participant.status == ParticipantStatus.REGISTERED,
        )
    ).one()
    staff_checked, staff = db_session.execute(
        sa.select(sa.func.count(Assignment.checked_in_at), sa.func.count(Assignment.id))
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(RoleSlot.session_id == session.id, Assignment.status == AssignmentStatus.CONFIRMED)
    ).one()
    return Counts(checked, registered, staff_checked, staff)
