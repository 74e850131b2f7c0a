"""Members' sign-up rules as plain functions: (db session, ...) -> data. Signing up (a
place, a waitlist place or a request, by the group's sign-up window and the role's rules),
giving a place up, the waitlist moving up (`fill_from_waitlist`, after organizers' changes
too: `organizing`), and a leaving member's coming places.

Every change takes the slot's lock first (`places.lock_slot`: why capacity holds under
concurrency). Functions flush; the caller commits, then sends the queued emails
(studygroup.mail). Nothing is deleted: places are cancelled, declined or marked.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session

from studygroup import events
from studygroup.auth.models import User
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.groups.services import tell_organizers
from studygroup.i18n import role_label
from studygroup.mail.models import OutboundEmail
from studygroup.mail.services import Link, queue_email
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.forming import refill_from_team
from studygroup.signups.models import (
    LIVE_STATUSES,
    Assignment,
    AssignmentStatus,
    StaffingChange,
)
from studygroup.signups.places import (
    _blocking_candidates,
    _confirmed_and_next_position,
    _confirmed_count,
    _lock_place,
    _places,
    blocking_place,
    lock_slot,
    places_in_session,
)
from studygroup.signups.records import _detail, _log, _parse_detail, no_show_count


def _active_membership(db_session: Session, user: User, group: Group) -> Membership | None:
    return db_session.scalar(
        sa.select(Membership).where(
            Membership.user_id == user.id,
            Membership.group_id == group.id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )


def signup_window(group: Group, session: StudySession) -> tuple[datetime, datetime]:
    """When members may sign up for this session: (opens, closes)."""
    opens = session.starts_at - timedelta(days=group.signup_opens_days_before)
    closes = session.starts_at - timedelta(hours=group.signup_closes_hours_before)
    return opens, closes


def self_cancel_deadline(group: Group, session: StudySession) -> datetime:
    return session.starts_at - timedelta(hours=group.self_cancel_hours_before)


def _check_takes_place(session: StudySession) -> None:
    if session.is_cancelled:
        raise RuleViolation(_l("This session is cancelled."))
    if session.is_not_held:
        raise RuleViolation(_l("This session is marked as not held."))


def _check_open_for_places(slot: RoleSlot, now: datetime) -> None:
    session = slot.session
    if session.is_cancelled:
        raise RuleViolation(_l("This session is cancelled."))
    if session.starts_at <= now:
        raise RuleViolation(_l("This session has already started or is over."))
    if slot.role_type.is_retired:
        raise RuleViolation(_l("This role is retired."))


def sign_up(
    db_session: Session,
    *,
    member: User,
    slot: RoleSlot,
    now: datetime,
    talk_title: str = "",
    talk_abstract: str = "",
    membership: Membership | None = None,
) -> Assignment:
    """Give `member` a place in `slot`: confirmed while there is room, else on the waitlist.

    A role that needs approval, or a member over the group's no-show limit, makes a request
    instead. Refuses (RuleViolation) a role the organizers form the team for
    (`RoleType.is_formed`: members say they can help instead, and it has no waitlist),
    outside the group's sign-up window, for a cancelled or
    past session, a retired role, a second place in the same role, and a role whose time
    window overlaps another role the member holds in the session (a collision).
    Locks the slot row first, after every check that needs no lock; the caller commits.
    `membership`: the member's in the group, when the caller has it (saves a query).

    Many members may sign up for one role at the same moment and the session's lock lets
    them through one at a time, so the part under it is kept to a few statements.
    """
    session = slot.session
    group = session.group
    # Held here: the lock below reloads the slot, and the role is needed after it (the email).
    role_type = slot.role_type
    if membership is None or membership.user_id != member.id or membership.group_id != group.id:
        membership = _active_membership(db_session, member, group)
    if membership is None or membership.status != MembershipStatus.ACTIVE:
        raise RuleViolation(_l("Join the group to sign up."))
    _check_open_for_places(slot, now)
    if slot.role_type.is_formed:
        # Organizers place members in it (assign, the suggested team), never first come.
        raise RuleViolation(_l("Organizers form the team for this role: say you can help instead."))
    opens, closes = signup_window(group, session)
    # Organizers are not bound by the group's sign-up window.
    if not membership.is_organizer and now < opens:
        raise RuleViolation(_l("Sign-up for this session has not opened yet."))
    if not membership.is_organizer and now > closes:
        raise RuleViolation(_l("Sign-up for this session has closed. Ask an organizer."))
    needs_approval = slot.role_type.requires_approval or (
        group.no_show_limit is not None
        and no_show_count(db_session, member, group) >= group.no_show_limit
    )
    if slot.role_type.requires_approval and not talk_title.strip():
        raise RuleViolation(_l("Give a title for what you will present."), "talk_title")

    slot = lock_slot(db_session, slot.id, session_id=session.id)
    # The member's places in the session answer both "already here" and the overlap rule.
    places = places_in_session(db_session, [member.id], session.id)[member.id]
    if any(p.slot_id == slot.id for p in places):
        raise RuleViolation(_l("You already have a place in this role."))
    clash = blocking_place(places, slot)
    if clash is not None:
        raise RuleViolation(
            _l(
                "This overlaps with your place as %(role)s at the same session. "
                "One person can hold several roles only when their times do not overlap.",
                role=_role_name(clash.slot),
            )
        )

    confirmed, next_position = _confirmed_and_next_position(db_session, slot.id)
    if needs_approval:
        status = AssignmentStatus.REQUESTED
    elif confirmed < slot.headcount:
        status = AssignmentStatus.CONFIRMED
    else:
        status = AssignmentStatus.WAITLISTED
    place = Assignment(
        slot_id=slot.id,
        user_id=member.id,
        status=status,
        waitlist_position=next_position if status == AssignmentStatus.WAITLISTED else None,
        talk_title=talk_title.strip()[:200],
        talk_abstract=talk_abstract.strip(),
        created_at=now,
        updated_at=now,
        confirmed_at=now if status == AssignmentStatus.CONFIRMED else None,
    )
    db_session.add(place)
    db_session.flush()
    _log(db_session, session.id, _ACTION_FOR[status], actor=member, assignment=place, now=now)
    queue_email(db_session, user=member, kind=_EMAIL_FOR[status], place=place, now=now)
    if status == AssignmentStatus.REQUESTED:
        tell_organizers(
            db_session,
            group,
            kind="talk_request" if role_type.requires_approval else "approval_request",
            about=member,
            place=place,
            answer_at=Link(
                "signups.session_staffing",
                {"slug": group.slug, "session_id": session.id},
                f"place-{place.id}",
            ),
            now=now,
        )
    return place


_ACTION_FOR = {
    AssignmentStatus.CONFIRMED: "signed_up",
    AssignmentStatus.WAITLISTED: "waitlisted",
    AssignmentStatus.REQUESTED: "requested",
}
_EMAIL_FOR = {
    AssignmentStatus.CONFIRMED: "signup_confirmed",
    AssignmentStatus.WAITLISTED: "waitlist_joined",
    AssignmentStatus.REQUESTED: "request_received",
}


def _role_name(slot: RoleSlot) -> str:
    return role_label(slot.role_type)


# What a member hears after giving up their own place, by what the place was.
_GIVEN_UP_EMAIL = {
    AssignmentStatus.CONFIRMED: "place_cancelled",
    AssignmentStatus.WAITLISTED: "waitlist_withdrawn",
    AssignmentStatus.REQUESTED: "request_withdrawn",
}


def cancel_place(
    db_session: Session, *, place: Assignment, actor: User, now: datetime, by_organizer: bool
) -> list[Assignment]:
    """Give up a place (or withdraw from the waitlist or a request).

    Members may give up a confirmed place until the group's self-cancel deadline; organizers
    any time. A freed place goes to the first on the waitlist, who is told by email; in a
    formed role of a session whose team was accepted, to the next suggestion
    (`forming.refill_from_team`).
    Returns the places promoted.
    """
    if not place.is_live:
        raise RuleViolation(_l("This place is already cancelled."))
    slot = _lock_place(db_session, place, *LIVE_STATUSES)
    session = slot.session
    if (
        not by_organizer
        and place.status == AssignmentStatus.CONFIRMED
        and now > self_cancel_deadline(session.group, session)
    ):
        raise RuleViolation(
            lazy_ngettext(
                "Cancelling yourself is possible until %(num)d hour before the start. "
                "Please tell an organizer.",
                "Cancelling yourself is possible until %(num)d hours before the start. "
                "Please tell an organizer.",
                session.group.self_cancel_hours_before,
            )
        )
    was = place.status
    was_confirmed = was == AssignmentStatus.CONFIRMED
    place.status = AssignmentStatus.CANCELLED
    place.cancelled_at = now
    place.updated_at = now
    action = "removed" if by_organizer and actor.id != place.user_id else "cancelled"
    _log(db_session, session.id, action, actor=actor, assignment=place, now=now)
    if place.user_id == actor.id:
        kind = _GIVEN_UP_EMAIL[was]
        queue_email(db_session, user=place.user, kind=kind, place=place, now=now)
    else:
        queue_email(db_session, user=place.user, kind="place_removed", place=place, now=now)
    db_session.flush()
    promoted = fill_from_waitlist(db_session, slot, now=now) if was_confirmed else []
    if was_confirmed and not promoted:
        # A formed role of a session whose team was accepted: the next suggestion fills it.
        refilled = refill_from_team(db_session, slot, given_up=place, now=now)
        if refilled is None and session.is_scheduled and session.starts_at > now:
            events.place_freed.send(place, now=now)
    return promoted


def fill_from_waitlist(
    db_session: Session, slot: RoleSlot, *, now: datetime, actor: User | None = None
) -> list[Assignment]:
    """Promote waitlisted members, first in line first, while the slot has room.

    A member whose confirmed place in another role of the session overlaps this one (see
    `blocking_place`) is passed by: they keep their number on the waitlist, and the next in
    line gets the place. That is logged and they are told by email once per place that blocks
    them, however often the waitlist moves meanwhile. Call with the slot locked (`lock_slot`:
    the session's row, then the slot's), so nobody's places in the session change meanwhile.
    Sessions that are cancelled, not held or over promote nobody. Reads in a fixed number of
    queries however long the waitlist.
    """
    if not slot.session.is_scheduled or slot.session.starts_at <= now:
        return []
    room = slot.headcount - _confirmed_count(db_session, slot.id)
    promoted: list[Assignment] = []
    if room <= 0:
        return promoted
    waiting = _places(db_session, slot.id, AssignmentStatus.WAITLISTED)
    blocking = _blocking_candidates(db_session, (p.user_id for p in waiting), slot.session_id)
    clashes = {p.id: blocking_place(blocking[p.user_id], slot) for p in waiting}
    told = _passed_over_before(
        db_session, [(p.id, clash.id) for p in waiting if (clash := clashes[p.id])]
    )
    for place in waiting:
        if len(promoted) >= room:
            break
        clash = clashes[place.id]
        if clash is not None:
            if (place.id, clash.id) not in told:
                _pass_by(db_session, place, clash, actor=actor, now=now)
            continue
        _confirm(place, now)
        _log(db_session, slot.session_id, "promoted", actor=actor, assignment=place, now=now)
        queue_email(db_session, user=place.user, kind="waitlist_promoted", place=place, now=now)
        promoted.append(place)
    db_session.flush()
    return promoted


def _passed_over_key(place_id: int, clash_id: int) -> str:
    return f"passed-over:{place_id}:{clash_id}"


def _passed_over_before(db_session: Session, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (waitlisted place, blocking place) pairs were passed over before: logged, or
    told by email (logs written before details were data name no place). Two queries, or
    none when nobody is blocked."""
    if not pairs:
        return set()
    logged = db_session.execute(
        sa.select(StaffingChange.assignment_id, StaffingChange.detail).where(
            StaffingChange.action == "passed_over",
            StaffingChange.assignment_id.in_({place_id for place_id, _ in pairs}),
        )
    )
    done = {
        (place_id, detail["place"])
        for place_id, text in logged
        if isinstance(detail := _parse_detail(text), dict) and "place" in detail
    }
    keys = {_passed_over_key(*pair): pair for pair in pairs}
    emailed = db_session.scalars(
        sa.select(OutboundEmail.dedupe_key).where(OutboundEmail.dedupe_key.in_(keys))
    )
    return done | {keys[key] for key in emailed}


def _pass_by(
    db_session: Session, place: Assignment, clash: Assignment, *, actor: User | None, now
) -> None:
    """Leave a waitlisted member where they are because `clash` overlaps; log and tell them."""
    _log(
        db_session,
        place.slot.session_id,
        "passed_over",
        actor=actor,
        assignment=place,
        detail=_detail(slot=clash.slot_id, place=clash.id),
        now=now,
    )
    queue_email(  # once per place that blocks them: the outbox keeps the key unique
        db_session,
        user=place.user,
        kind="waitlist_passed_over",
        place=place,
        other_place=clash,
        dedupe_key=_passed_over_key(place.id, clash.id),
        now=now,
    )


def _confirm(place: Assignment, now: datetime) -> None:
    place.status = AssignmentStatus.CONFIRMED
    place.confirmed_at = now
    place.updated_at = now


def cancel_future_places(
    db_session: Session, *, member: User, group: Group, actor: User, now: datetime
) -> int:
    """When a member leaves or is removed: their places in sessions still to come are
    cancelled (the waitlist moves up), so nobody counts on them. Past places stay."""
    places = db_session.scalars(
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .join(StudySession, StudySession.id == RoleSlot.session_id)
        .where(
            Assignment.user_id == member.id,
            Assignment.status.in_(LIVE_STATUSES),
            StudySession.group_id == group.id,
            StudySession.starts_at > now,
        )
    ).all()
    for place in places:
        cancel_place(db_session, place=place, actor=actor, now=now, by_organizer=True)
    return len(places)
