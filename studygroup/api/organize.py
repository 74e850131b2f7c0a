"""Organizers' writes: post a session, cancel one. Need the organize scope and organizing
the group; the same services as the organizer pages, which keep the rules."""

from flask_babel import gettext as _

from studygroup.api import bp, spec
from studygroup.api.auth import caller, require_scope
from studygroup.api.errors import ApiError
from studygroup.api.operations import BEARER, write
from studygroup.api.places import member_of, refused
from studygroup.api.present import session_out
from studygroup.api.reads import one_session
from studygroup.api.schemas import NewSessionBody, SessionOut
from studygroup.apitokens.models import Scope
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Group, Membership
from studygroup.rules import RuleViolation
from studygroup.sessions.services import SameStart, cancel_session, create_session
from studygroup.signups.services import notify_session_change
from studygroup.views import commit_and_send

# The form's field names in the services' refusals, as the API's fields.
FIELD_NAMES = {"end_time": "ends_at", "start_time": "starts_at", "day": "starts_at"}


def organizer_of(slug: str) -> tuple[Group, Membership]:
    """The group, if the caller's token may organize and they organize it (403 otherwise;
    404 when they may not even see it)."""
    require_scope(Scope.ORGANIZE)
    group, membership = member_of(slug)
    if not membership.is_organizer:
        raise ApiError(403, "not_an_organizer", _("Only the group's organizers can do this."))
    return group, membership


def _session_answer(group: Group, session_id: int) -> SessionOut:
    me = caller().user
    details = one_session(db.session, group, session_id, viewer=me, is_member=True)
    return session_out(details.sessions[0], details, viewer_id=me.id, is_member=True)


@bp.post("/groups/<slug>/sessions")
@spec.validate(
    resp=write(SessionOut, status=201),
    tags=["organize"],
    operation_id="postSession",
    security=BEARER,
)
def post_session(slug: str, json: NewSessionBody):
    """Post a session

    With a place for each of the group's roles, at its usual head-count. A second session
    starting at the same moment is refused (409 same_start) unless `allow_same_start`.
    """
    group, _membership = organizer_of(slug)
    try:
        session = create_session(
            db.session,
            group=group,
            title=json.title,
            starts_at=json.starts_at,
            ends_at=json.ends_at,
            venue=group.default_venue if json.venue is None else json.venue,
            description=json.description,
            now=utcnow(),
            allow_same_start=json.allow_same_start,
        )
    except SameStart as same:
        db.session.rollback()
        raise ApiError(409, "same_start", str(same.message)) from None
    except RuleViolation as violation:
        db.session.rollback()
        message = str(violation.message)
        field = FIELD_NAMES.get(violation.field or "", violation.field)
        raise ApiError(422, fields={field or "body": message}, message=message) from None
    db.session.commit()
    return _session_answer(group, session.id), 201


@bp.post("/groups/<slug>/sessions/<int:session_id>/cancel")
@spec.validate(
    resp=write(SessionOut), tags=["organize"], operation_id="cancelSession", security=BEARER
)
def cancel_a_session(slug: str, session_id: int):
    """Cancel a session

    Before it starts. Everyone on its roles and its participants get an email, each once and
    in their language. The session, its roles and places stay, marked cancelled.
    """
    group, _membership = organizer_of(slug)
    details = one_session(db.session, group, session_id, viewer=None, is_member=False)
    if details is None:
        raise ApiError(404, message=_("This group has no such session."))
    session = details.sessions[0]
    try:
        cancel_session(session, now=utcnow())
    except RuleViolation as violation:
        raise refused(violation) from None
    _tell(session)
    commit_and_send()
    return _session_answer(group, session.id)


def _tell(session) -> None:
    """As the session page's cancel button: the staff, then participants not on staff."""
    from studygroup.participants.services import notify_participants_of_change

    now = utcnow()
    staff = notify_session_change(db.session, session, changes=(), now=now)
    notify_participants_of_change(db.session, session, changes=(), now=now, already_told=staff)
