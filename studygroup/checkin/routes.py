"""The check-in page (works without JavaScript: each button is a form post), the HTML fragment
of search results the script swaps in, and the JSON API the script posts check-ins to."""

from functools import partial, wraps

from flask import abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from studygroup.auth.models import User
from studygroup.auth.services import HashCost
from studygroup.checkin import bp
from studygroup.checkin.access import Access, access_for, check_in_access, checkin_window
from studygroup.checkin.forms import CodeForm, WalkInForm
from studygroup.checkin.search import checkin_counts, search
from studygroup.checkin.services import (
    CheckInResult,
    NotRegistered,
    admit_waitlisted,
    check_in,
    check_in_staff,
    staff_place,
    walk_in,
)
from studygroup.db import utcnow
from studygroup.extensions import db, login_manager
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership, MembershipStatus
from studygroup.i18n import format_date, format_time, role_label, select_locale
from studygroup.input import database_int
from studygroup.rules import RuleViolation
from studygroup.security import CAMERA_ALLOWED
from studygroup.sessions.lookup import session_or_404
from studygroup.sessions.models import StudySession
from studygroup.views import commit_and_send


def checkin_view(*, api: bool = False):
    """The group (group_view), the session, and the check-in rule: outsiders 404, members
    without a reception place 403, the wrong day 403 with when it opens. The API answers in
    JSON."""

    def decorator(view):
        @group_view()
        @wraps(view)
        def wrapped(group: Group, membership: Membership | None, session_id: int):
            session = session_or_404(group, session_id)
            if not current_user.is_authenticated:
                if api:
                    return jsonify(error=_("Please log in again.")), 401
                return login_manager.unauthorized()
            access = check_in_access(
                db.session, current_user, session, utcnow(), membership=membership
            )
            if access == Access.NOT_FOUND:
                abort(404)
            if access == Access.FORBIDDEN:
                abort(403)
            if access != Access.OPEN:
                message = _closed_message(group, session, membership, access)
                if api:
                    return jsonify(error=message), 403
                page = render_template(
                    "checkin/closed.html", group=group, session=session, message=message
                )
                return page, 403
            return view(group=group, membership=membership, session=session)

        return wrapped

    return decorator


def _closed_message(group, session, membership, access: Access) -> str:
    if access == Access.NOT_HELD:
        return _("This session does not take place: there is nobody to check in.")
    opens, _closes = checkin_window(session, group.timezone, organizer=membership.is_organizer)
    if utcnow() < opens:
        return _("Check-in opens on %(date)s.", date=format_date(opens, group.timezone))
    return _("Check-in for this session has closed.")


# --- the page -------------------------------------------------------------------------------


def _page(
    group,
    membership,
    session,
    *,
    result=None,
    problem=None,
    code_form=None,
    walk_in_form=None,
    status=200,
):
    q = (request.args.get("q") or "").strip()[:80]
    return render_template(
        "checkin/page.html",
        group=group,
        membership=membership,
        session=session,
        counts=checkin_counts(db.session, session),
        results=search(db.session, session, q) if q else None,
        q=q,
        result=result,
        problem=problem,
        code_form=code_form or CodeForm(formdata=None),
        walk_in_form=walk_in_form or WalkInForm(formdata=None),
    ), status


@bp.get("/g/<slug>/sessions/<int:session_id>/checkin")
@checkin_view()
def page(group: Group, membership: Membership, session: StudySession):
    return _page(group, membership, session)


@bp.after_request
def _camera_for_scanning(response):
    # The scanner asks for the camera (getUserMedia); every other page has it switched off.
    if response.mimetype == "text/html":
        response.headers["Permissions-Policy"] = CAMERA_ALLOWED
    return response


@bp.get("/g/<slug>/sessions/<int:session_id>/checkin/results")
@checkin_view()
def results(group: Group, membership: Membership, session: StudySession):
    """The search results alone, for the script to swap in as reception types."""
    q = (request.args.get("q") or "").strip()[:80]
    return render_template(
        "checkin/_results.html",
        group=group,
        session=session,
        results=search(db.session, session, q) if q else None,
        q=q,
    )


def _id_field(name: str) -> int | None:
    try:
        return database_int(request.form.get(name, ""))
    except (TypeError, ValueError):
        return None


@bp.post("/g/<slug>/sessions/<int:session_id>/checkin")
@checkin_view()
def post(group: Group, membership: Membership, session: StudySession):
    action = request.form.get("action", "")
    code_form = walk_in_form = None
    if action == "code":
        code_form = CodeForm()
        if not code_form.validate():
            return _page(group, membership, session, code_form=code_form, status=422)
    elif action == "walk_in":
        walk_in_form = WalkInForm()
        if not walk_in_form.validate():
            return _page(group, membership, session, walk_in_form=walk_in_form, status=422)
    elif action not in ("participant", "admit", "staff", "member"):
        abort(400)
    try:
        result = _do(action, group, membership, session, code_form, walk_in_form)
    except NotRegistered as refused:
        db.session.rollback()
        return _page(group, membership, session, problem=refused, status=409)
    except RuleViolation as refused:
        db.session.rollback()
        form = code_form if action == "code" else walk_in_form
        field = getattr(form, refused.field or "", None) if form else None
        if field is not None:
            field.errors = [*field.errors, refused.message]
        problem = None if field is not None else refused
        return _page(
            group,
            membership,
            session,
            problem=problem,
            code_form=code_form,
            walk_in_form=walk_in_form,
            status=422,
        )
    commit_and_send()  # a new account's welcome email goes at once
    return _page(group, membership, session, result=result)


def _do(action, group, membership, session, code_form, walk_in_form) -> CheckInResult:
    now = utcnow()
    if action == "code":
        return check_in(
            db.session, session=session, code=code_form.code.data, by=current_user, now=now
        )
    at_the_door = partial(
        walk_in,
        db.session,
        session=session,
        by=current_user,
        by_organizer=membership.is_organizer,
        now=now,
        cost=HashCost.from_config(current_app.config),
    )
    if action == "walk_in":
        return at_the_door(
            email=walk_in_form.email.data,
            display_name=walk_in_form.display_name.data,
            locale=select_locale(),
        )
    target = _id_field("id")
    if target is None:
        abort(400)
    if action in BY_ID:
        return _check_in_by_id(action, session, target, now)
    # "member": an active member of the group found by search, registered at the door.
    member = db.session.scalar(
        db.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            User.id == target,
            Membership.group_id == group.id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if member is None:
        raise RuleViolation(_("This person is not a member of this group."))
    return at_the_door(user=member)


# The check-ins that name a participant or a staff place by id (the page's buttons, the API).
BY_ID = ("participant", "admit", "staff")


def _check_in_by_id(action: str, session: StudySession, target: int, now) -> CheckInResult:
    if action == "participant":
        return check_in(
            db.session, session=session, participant_id=target, by=current_user, now=now
        )
    if action == "admit":
        return admit_waitlisted(
            db.session, session=session, participant_id=target, by=current_user, now=now
        )
    place = staff_place(db.session, session, target)
    return check_in_staff(db.session, place=place, by=current_user, now=now)


# --- JSON -----------------------------------------------------------------------------------


def result_message(result: CheckInResult, tz: str) -> str:
    if result.now:
        return _("Checked in: %(name)s", name=result.name)
    at = format_time(result.checked_in_at, tz)
    if result.checked_in_by:
        return _(
            "%(name)s was already checked in at %(time)s by %(by)s.",
            name=result.name,
            time=at,
            by=result.checked_in_by,
        )
    return _("%(name)s was already checked in at %(time)s.", name=result.name, time=at)


def counts_text(counts) -> str:
    return _(
        "Checked in %(checked)d / %(registered)d",
        checked=counts.checked_in,
        registered=counts.registered,
    )


def staff_counts_text(counts) -> str:
    return _("Staff %(checked)d / %(staff)d", checked=counts.staff_checked_in, staff=counts.staff)


@bp.post("/g/<slug>/sessions/<int:session_id>/checkin/api")
@checkin_view(api=True)
def api(group: Group, membership: Membership, session: StudySession):
    """{"action": "code", "code": "ACD3EF"} or {"action": "participant" | "admit" | "staff",
    "id": 12}: 200 with the result and the counts, or 4xx {"error": "..."} (409 with
    "admit": id for a waitlisted participant). Idempotent: a retry answers "already"."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error=_("Send the check-in as JSON.")), 400
    action = body.get("action")
    now = utcnow()
    try:
        if action == "code":
            code = body.get("code")
            if not isinstance(code, str) or not code.strip() or len(code) > 20:
                return jsonify(error=_("Type the six-character code."), field="code"), 422
            result = check_in(db.session, session=session, code=code, by=current_user, now=now)
        elif action in BY_ID:
            raw = body.get("id")
            try:
                target = database_int(raw) if not isinstance(raw, bool) else None
            except (TypeError, ValueError):
                target = None
            if target is None:
                return jsonify(error=_("This check-in names nobody."), field="id"), 422
            result = _check_in_by_id(action, session, target, now)
        else:
            return jsonify(error=_("Unknown kind of check-in."), field="action"), 422
    except NotRegistered as refused:
        db.session.rollback()
        extra = {"admit": refused.participant.id} if refused.waitlisted else {}
        return jsonify(error=str(refused.message), **extra), 409
    except RuleViolation as refused:
        db.session.rollback()
        return jsonify(error=str(refused.message), field=refused.field), 422
    db.session.commit()
    counts = checkin_counts(db.session, session)
    return jsonify(
        outcome=result.outcome.value,
        kind=result.kind,
        id=result.id,
        name=result.name,
        role=role_label(result.role) if result.role else None,
        checked_in_at=result.checked_in_at.isoformat(),
        checked_in_by=result.checked_in_by,
        # A retry (the script's queue) that finds its own earlier try: shown as a check-in.
        by_you_just_now=result.by_just_now(current_user, now),
        message=result_message(result, group.timezone),
        counts=counts.as_dict(),
        counts_text=counts_text(counts),
        staff_counts_text=staff_counts_text(counts),
    )


# --- links from other pages -----------------------------------------------------------------


@bp.app_template_global()
def checkin_link_shown(session, group, membership, staffing=None) -> bool:
    """Whether the session page (with its staffing) or My schedule shows the link to the
    check-in page: the same rule as the page, on data those pages have loaded already."""
    if membership is None or not current_user.is_authenticated:
        return False
    holds = False
    if staffing is not None:
        holds = any(
            slot.role_type.key == "reception"
            and any(p.user_id == current_user.id for p in staffing[slot.id].confirmed)
            for slot in session.slots
        )
    return (
        access_for(
            session=session,
            group=group,
            membership=membership,
            holds_reception=holds,
            now=utcnow(),
        )
        == Access.OPEN
    )


@bp.app_template_global()
def checkin_link_for_place(place) -> bool:
    """My schedule: a confirmed reception place shows the link on the session's day."""
    session = place.slot.session
    if place.status.value != "confirmed" or place.slot.role_type.key != "reception":
        return False
    if not session.is_scheduled:
        return False
    opens, closes = checkin_window(session, session.group.timezone, organizer=False)
    return opens <= utcnow() < closes
