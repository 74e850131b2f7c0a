"""Organizers' writes: post a session or a series, edit (move) or cancel a session, assign,
move a member to another role, answer requests, mark attendance. Need
the organize scope and organizing the group; the same services as the organizer pages,
which keep the rules."""

from flask import current_app
from flask_babel import gettext as _

from studygroup.api.auth import caller, require_scope
from studygroup.api.errors import ApiError
from studygroup.api.openapi import spec
from studygroup.api.operations import BEARER, write
from studygroup.api.places import member_of, refused, slot_in_group
from studygroup.api.present import place_out, session_out
from studygroup.api.reads import one_session, sessions_by_id
from studygroup.api.schemas import (
    AnswerBody,
    AssignBody,
    AttendanceBody,
    EditSessionBody,
    MoveBody,
    NewSeriesBody,
    NewSessionBody,
    PlaceOut,
    SeriesOut,
    SeriesPattern,
    SessionOut,
)
from studygroup.apitokens.models import Scope
from studygroup.auth.models import User
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Group, Membership
from studygroup.i18n import role_label
from studygroup.rules import RuleViolation
from studygroup.sessions.series import (
    NothingToPost,
    create_series,
    monthly_rule,
    plan_series,
    weekly_rule,
)
from studygroup.sessions.services import SameStart, cancel_session, create_session, update_session
from studygroup.signups.models import Assignment, Attendance
from studygroup.signups.organizing import (
    AskFirst,
    add_helper,
    answer_request,
    assign,
    move_place,
    set_attendance,
)
from studygroup.signups.reminders import notify_session_change
from studygroup.views import commit_and_send, moved_up_message

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
    return session_out(
        details.sessions[0], details, viewer_id=me.id, is_member=True, is_organizer=True
    )


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
    except RuleViolation as refusal:  # SameStart included
        db.session.rollback()
        raise _session_refused(refusal) from None
    db.session.commit()
    return _session_answer(group, session.id), 201


def _session_refused(refusal: RuleViolation) -> ApiError:
    """A session's times or fields refused (posting or editing): another session starting then
    is a 409 to confirm; a rule is a 422 on the field it names."""
    if isinstance(refusal, SameStart):
        return ApiError(409, "same_start", str(refusal.message))
    message = str(refusal.message)
    field = FIELD_NAMES.get(refusal.field or "", refusal.field)
    return ApiError(422, fields={field or "body": message}, message=message)


def _series_rule(json: NewSeriesBody) -> str:
    """The rule the series form builds from the same choices."""
    if json.pattern is SeriesPattern.MONTHLY:
        return monthly_rule(set(json.ordinals), json.weekday.value)
    if json.pattern is SeriesPattern.WEEKLY:
        return weekly_rule(json.weekday.value, json.interval)
    if not (json.rule or "").strip():
        message = _("Write the rule, e.g. FREQ=MONTHLY;BYDAY=-1FR")
        raise ApiError(422, fields={"rule": message}, message=message)
    return json.rule.strip()


@spec.validate(
    resp=write(SeriesOut, status=201), tags=["organize"], operation_id="postSeries", security=BEARER
)
def post_series(slug: str, json: NewSeriesBody):
    """Post a series

    As the series form does: one session per date the rule gives from `first_day` for
    `months` months, each with a place for each of the group's roles and editable on its own.
    Dates on which the group already has a session are skipped (`skipped`); when every date
    has one, 409 nothing_to_post. More dates than the form allows is a 422 on `months`.
    """
    group, _membership = organizer_of(slug)
    rule = _series_rule(json)
    try:
        planned = plan_series(
            rule=rule,
            first_day=json.first_day,
            months=json.months,
            start_time=json.start_time,
            end_time=json.end_time,
            tz=group.timezone,
            limit=current_app.config["SERIES_MAX_SESSIONS"],
        )
        sessions = create_series(
            db.session,
            group=group,
            creator=caller().user,
            title=json.title,
            rule=rule,
            planned=planned,
            venue=group.default_venue if json.venue is None else json.venue,
            description=json.description,
            now=utcnow(),
        )
    except NothingToPost as nothing:
        db.session.rollback()
        raise ApiError(409, "nothing_to_post", str(nothing.message)) from None
    except RuleViolation as violation:
        db.session.rollback()
        message = str(violation.message)
        field = violation.field or "body"
        # The monthly and weekly choices build the rule, so its errors belong to the dates.
        if field == "rule" and json.pattern is not SeriesPattern.CUSTOM:
            field = "first_day"
        raise ApiError(422, fields={field: message}, message=message) from None
    series_id, ids = sessions[0].series_id, [s.id for s in sessions]
    db.session.commit()
    me = caller().user
    details = sessions_by_id(db.session, group, ids, viewer=me, is_member=True)
    answer = [
        session_out(s, details, viewer_id=me.id, is_member=True, is_organizer=True)
        for s in details.sessions
    ]
    return SeriesOut(id=series_id, skipped=len(planned) - len(ids), sessions=answer), 201


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
    _tell(session, ())
    commit_and_send()
    return _session_answer(group, session.id)


def _tell(session, changes: tuple[str, ...]) -> None:
    """As the session pages do: email the staff, then participants not on staff."""
    from studygroup.participants.services import notify_participants_of_change

    now = utcnow()
    staff = notify_session_change(db.session, session, changes=changes, now=now)
    notify_participants_of_change(db.session, session, changes=changes, now=now, already_told=staff)


@spec.validate(
    resp=write(SessionOut), tags=["organize"], operation_id="editSession", security=BEARER
)
def edit_session(slug: str, session_id: int, json: EditSessionBody):
    """Edit or move a session

    Only the fields given change. Moving it moves its roles' times with it; a move or a new
    venue emails everyone on its roles and its participants, as the edit page does.
    """
    group, _membership = organizer_of(slug)
    details = one_session(db.session, group, session_id, viewer=None, is_member=False)
    if details is None:
        raise ApiError(404, message=_("This group has no such session."))
    session = details.sessions[0]
    try:
        change = update_session(
            db.session,
            session,
            title=session.title if json.title is None else json.title,
            starts_at=json.starts_at or session.starts_at,
            ends_at=json.ends_at or session.ends_at,
            venue=session.venue if json.venue is None else json.venue,
            description=session.description if json.description is None else json.description,
            now=utcnow(),
            allow_same_start=json.allow_same_start,
        )
    except RuleViolation as refusal:  # SameStart included
        db.session.rollback()
        raise _session_refused(refusal) from None
    if change.time or change.venue:
        _tell(session, tuple(name for name in ("time", "venue") if getattr(change, name)))
    commit_and_send()
    return _session_answer(group, session_id)


@spec.validate(
    resp=write(PlaceOut, status=201), tags=["organize"], operation_id="assign", security=BEARER
)
def assign_member(slug: str, slot_id: int, json: AssignBody):
    """Assign a member to a role

    Before the session: a confirmed place, asking first (409 ask_first) when the role is
    full, people wait on its waitlist or the member holds an overlapping role; repeat with
    `confirm` set to the error's `fields.confirm` to assign anyway. Once it has started: a
    member who helped without signing up, marked as worked.
    """
    organizer = caller().user
    group, _membership = organizer_of(slug)
    slot = slot_in_group(group, slot_id)
    member = db.session.get(User, json.user_id)
    if member is None:
        raise ApiError(422, fields={"user_id": _("Only members of the group can be assigned.")})
    now = utcnow()
    helper = slot.session.starts_at <= now
    try:
        if helper:
            outcome = add_helper(db.session, organizer=organizer, member=member, slot=slot, now=now)
        else:
            outcome = assign(
                db.session,
                organizer=organizer,
                member=member,
                slot=slot,
                now=now,
                confirmed=json.confirm,
            )
    except AskFirst as asked:
        db.session.rollback()
        raise ApiError(
            409,
            "ask_first",
            _(
                "Assign %(name)s to %(role)s? The role is full, people wait for it or the "
                "member holds a role at the same time: send again with confirm to assign anyway.",
                name=member.display_name,
                role=role_label(slot.role_type),
            ),
            fields={"confirm": asked.concerns.key},
        ) from None
    except RuleViolation as violation:
        raise refused(violation) from None
    answer = place_out(
        outcome.place,
        group=group,
        waitlist_number=None,
        message=_("%(name)s is assigned.", name=member.display_name),
    )
    commit_and_send()
    return answer, 201


@spec.validate(
    resp=write(PlaceOut), tags=["organize"], operation_id="markAttendance", security=BEARER
)
def mark_attendance(slug: str, place_id: int, json: AttendanceBody):
    """Mark attendance of a place

    worked, no_show or unknown, for a confirmed place once the session has started.
    """
    organizer = caller().user
    group, _membership = organizer_of(slug)
    place = db.session.get(Assignment, place_id)
    if place is None or place.slot.session.group_id != group.id:
        raise ApiError(404, message=_("This group has no such place."))
    try:
        set_attendance(
            db.session,
            organizer=organizer,
            place=place,
            attendance=Attendance(json.attendance.value),
            now=utcnow(),
        )
    except RuleViolation as violation:
        raise refused(violation) from None
    answer = place_out(place, group=group, waitlist_number=None, message=_("Attendance is saved."))
    db.session.commit()
    return answer


def _place_of(group: Group, place_id: int, session_id: int | None = None) -> Assignment:
    place = db.session.get(Assignment, place_id)
    if (
        place is None
        or place.slot.session.group_id != group.id
        or (session_id is not None and place.slot.session_id != session_id)
    ):
        raise ApiError(404, message=_("This group has no such place."))
    return place


def _ask_first(asked: AskFirst, question: str) -> ApiError:
    db.session.rollback()
    return ApiError(
        409,
        "ask_first",
        _("%(question)s Send again with confirm to go ahead anyway.", question=question),
        fields={"confirm": asked.concerns.key},
    )


@spec.validate(resp=write(PlaceOut), tags=["organize"], operation_id="movePlace", security=BEARER)
def move_a_place(slug: str, session_id: int, place_id: int, json: MoveBody):
    """Move a member to another role

    Of the same session, confirmed there, as the staffing page's move: asks first (409
    ask_first) as assigning does; the place they leave goes to the first on its waitlist.
    The answer is the member's new place.
    """
    organizer = caller().user
    group, _membership = organizer_of(slug)
    place = _place_of(group, place_id, session_id)
    to_slot = slot_in_group(group, json.to_slot_id)
    name, old = place.user.display_name, role_label(place.slot.role_type)
    new = role_label(to_slot.role_type)
    try:
        outcome = move_place(
            db.session,
            organizer=organizer,
            place=place,
            to_slot=to_slot,
            now=utcnow(),
            confirmed=json.confirm,
        )
    except AskFirst as asked:
        question = _("Move %(name)s from %(old)s to %(new)s?", name=name, old=old, new=new)
        raise _ask_first(asked, question) from None
    except RuleViolation as violation:
        raise refused(violation) from None
    message = " ".join(
        [
            _("%(name)s is moved from %(old)s to %(new)s.", name=name, old=old, new=new),
            *(moved_up_message(p) for p in outcome.promoted),
        ]
    )
    answer = place_out(outcome.place, group=group, waitlist_number=None, message=message)
    commit_and_send()
    return answer


def _answer(slug: str, place_id: int, json: AnswerBody, *, approve: bool) -> PlaceOut:
    organizer = caller().user
    group, _membership = organizer_of(slug)
    place = _place_of(group, place_id)
    name, role, talk = place.user.display_name, role_label(place.slot.role_type), place.talk_title
    try:
        outcome = answer_request(
            db.session,
            organizer=organizer,
            place=place,
            approve=approve,
            now=utcnow(),
            confirmed=json.confirm,
        )
    except AskFirst as asked:
        question = _("Approve %(name)s's request for %(role)s?", name=name, role=role)
        raise _ask_first(asked, question) from None
    except RuleViolation as violation:
        raise refused(violation) from None
    if approve:
        message = (
            _("%(name)s's talk “%(title)s” is approved.", name=name, title=talk)
            if talk
            else _("%(name)s's request for %(role)s is approved.", name=name, role=role)
        )
    else:
        message = (
            _("%(name)s's talk “%(title)s” is declined.", name=name, title=talk)
            if talk
            else _("%(name)s's request for %(role)s is declined.", name=name, role=role)
        )
    answer = place_out(outcome.place, group=group, waitlist_number=None, message=message)
    commit_and_send()
    return answer


@spec.validate(
    resp=write(PlaceOut), tags=["organize"], operation_id="approveRequest", security=BEARER
)
def approve_request(slug: str, place_id: int, json: AnswerBody):
    """Approve a request

    A talk, or a member over the no-show limit, as the staffing page's approve: the place is
    confirmed. Asks first (409 ask_first) when the role is full, people wait for it or the
    member holds an overlapping role.
    """
    return _answer(slug, place_id, json, approve=True)


@spec.validate(
    resp=write(PlaceOut), tags=["organize"], operation_id="declineRequest", security=BEARER
)
def decline_request(slug: str, place_id: int, json: AnswerBody):
    """Decline a request

    As the staffing page's decline; the member hears of it by email.
    """
    return _answer(slug, place_id, json, approve=False)
