"""A member's places: sign up (a place, the waitlist when the role is full, or a request for
roles that need approval) and cancel. The same services as the session page's buttons."""

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from studygroup.api.auth import caller, require_scope
from studygroup.api.errors import ApiError
from studygroup.api.groups import visible_group
from studygroup.api.openapi import spec
from studygroup.api.operations import BEARER, write
from studygroup.api.present import place_out
from studygroup.api.schemas import CanHelpBody, CanHelpOut, PlaceOut, SignUpBody
from studygroup.apitokens.models import Scope
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Group, Membership
from studygroup.i18n import role_label
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.availability_changes import say_can_help
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.signups.places import waitlist_numbers
from studygroup.signups.services import cancel_place, sign_up
from studygroup.views import commit_and_send, signed_up_message


def member_of(slug: str) -> tuple[Group, Membership]:
    """The group, if the caller is an active member (404 if they may not see it, 403 if they
    may see it but are not a member)."""
    group, membership = visible_group(slug)
    if membership is None or not membership.is_active:
        raise ApiError(403, "not_a_member", _("Only the group's members can do this."))
    return group, membership


def slot_in_group(group: Group, slot_id: int) -> RoleSlot:
    """The role slot if it is in one of `group`'s sessions (404 otherwise), with its session
    and role type: one statement."""
    slot = db.session.scalar(
        sa.select(RoleSlot)
        .where(RoleSlot.id == slot_id)
        .options(joinedload(RoleSlot.session), joinedload(RoleSlot.role_type))
    )
    if slot is None or slot.session.group_id != group.id:
        raise ApiError(404, message=_("This group has no such role in a session."))
    return slot


def refused(violation: RuleViolation) -> ApiError:
    """A rule said no: 409, with the rule's own sentence (next to its field, if it has one)."""
    db.session.rollback()
    message = str(violation.message)
    return ApiError(
        409, "refused", message, fields={violation.field: message} if violation.field else {}
    )


@spec.validate(
    resp=write(PlaceOut, status=201), tags=["places"], operation_id="signUp", security=BEARER
)
def sign_up_for(slug: str, slot_id: int, json: SignUpBody):
    """Sign up for a role (or join its waitlist)

    A place while the role has room; when it is full, a place on its waitlist (`status`
    waitlisted, with your number); for roles that need approval, a request (give the talk's
    title and abstract). Needs the write scope and membership of the group.
    """
    member = require_scope(Scope.WRITE)
    group, membership = member_of(slug)
    slot = slot_in_group(group, slot_id)
    try:
        place = sign_up(
            db.session,
            member=member,
            slot=slot,
            now=utcnow(),
            talk_title=json.talk_title,
            talk_abstract=json.talk_abstract,
            membership=membership,
        )
    except RuleViolation as violation:
        raise refused(violation) from None
    message = signed_up_message(place, slot.role_type)
    number = waitlist_numbers(db.session, [place]).get(place.id)
    answer = place_out(place, group=group, waitlist_number=number, message=message)
    commit_and_send()
    return answer, 201


@spec.validate(resp=write(PlaceOut), tags=["places"], operation_id="cancelPlace", security=BEARER)
def cancel_a_place(slug: str, place_id: int):
    """Cancel a place (or leave a waitlist, or withdraw a request)

    Your own place, until the group's cancel deadline. An organizer's token with the
    organize scope may cancel anyone's place in their group, at any time.
    """
    actor = require_scope(Scope.WRITE)
    group, membership = member_of(slug)
    place = db.session.get(Assignment, place_id)
    if place is None or place.slot.session.group_id != group.id:
        raise ApiError(404, message=_("This group has no such place."))
    as_organizer = membership.is_organizer and Scope.ORGANIZE in caller().scopes
    if place.user_id != actor.id and not as_organizer:
        raise ApiError(403, message=_("Only its holder or an organizer can cancel this place."))
    was, role = place.status, role_label(place.slot.role_type)
    try:
        cancel_place(db.session, place=place, actor=actor, now=utcnow(), by_organizer=as_organizer)
    except RuleViolation as violation:
        raise refused(violation) from None
    if place.user_id != actor.id:
        message = _("The place is cancelled.")
    elif was == AssignmentStatus.WAITLISTED:
        message = _("You left the waitlist for %(role)s.", role=role)
    elif was == AssignmentStatus.REQUESTED:
        message = _("Your request for %(role)s is withdrawn.", role=role)
    else:
        message = _("You gave up your place as %(role)s.", role=role)
    answer = place_out(place, group=group, waitlist_number=None, message=message)
    commit_and_send()
    return answer


@spec.validate(resp=write(CanHelpOut), tags=["places"], operation_id="sayICanHelp", security=BEARER)
def say_i_can_help(slug: str, session_id: int, json: CanHelpBody):
    """Say "I can help" with a session

    For roles the organizers form the team for: any role, or the roles given, with an
    optional note. Replaces your earlier answer for the session. Needs the write scope.
    """
    member = require_scope(Scope.WRITE)
    group, _membership = member_of(slug)
    session = db.session.scalar(
        sa.select(StudySession).where(
            StudySession.id == session_id, StudySession.group_id == group.id
        )
    )
    if session is None:
        raise ApiError(404, message=_("This group has no such session."))
    try:
        say_can_help(
            db.session,
            member=member,
            session=session,
            any_role=not json.role_type_ids,
            role_type_ids=json.role_type_ids,
            note=json.note,
            usually=json.usually,
            now=utcnow(),
        )
    except RuleViolation as violation:
        raise refused(violation) from None
    db.session.commit()
    return CanHelpOut(
        session_id=session_id,
        can_help=True,
        message=_("Thank you: the organizers see that you can help."),
    )
