"""The suggested team page for organizers: see it, swap someone, accept it all. Thin: forms,
`signups.forming`, commit."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from studygroup.auth.models import User
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.forms import Form, options
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import role_label
from studygroup.input import database_int
from studygroup.rules import RuleViolation
from studygroup.sessions.lookup import session_or_404
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups import bp
from studygroup.signups.forming import (
    Team,
    TeamChanged,
    accept_team,
    has_formed_roles,
    reset_choices,
    suggested_team,
    swap,
)
from studygroup.signups.forms import TeamAcceptForm, TeamSwapForm
from studygroup.signups.team_words import reasons_text, unsuggested_text
from studygroup.views import commit_and_send


def _expired() -> str:  # noqa: N802 (a message, named as one)
    return _("This form has expired. Please send it again.")


def _unknown_swap() -> str:
    return _("Choose the swap on the suggested team's page.")


def _team_url(group: Group, session: StudySession) -> str:
    return url_for("signups.session_team", slug=group.slug, session_id=session.id)


def _swap_form(team: Team, slot_id: int, user_id: int, *, formdata=None) -> TeamSwapForm:
    form = TeamSwapForm(formdata=formdata, prefix=f"swap-{slot_id}-{user_id}")
    form.slot_id.data = str(slot_id)
    form.out_user_id.data = str(user_id)
    form.user_id.choices = options((u.id, u.display_name) for u in team.swap_choices(slot_id))
    return form


def _team_page(
    group: Group,
    session: StudySession,
    *,
    failed: TeamSwapForm | None = None,
    message: str | None = None,
    status: int = 200,
):
    team = suggested_team(db.session, session, now=utcnow())
    users = team.context.users
    slots = []
    for slot in team.context.formed:
        role = role_label(slot.role_type)
        picks = []
        for pick in team.picks_for(slot.id):
            form = _swap_form(team, slot.id, pick.user_id)
            if (
                failed is not None
                and failed.slot_id.data == str(slot.id)
                and failed.out_user_id.data == str(pick.user_id)
            ):
                form.user_id.errors = failed.user_id.errors
            picks.append(
                {
                    "user": users[pick.user_id],
                    "reasons": reasons_text(pick.reasons, role=role, users=users),
                    "form": form,
                }
            )
        slots.append(
            {
                "slot": slot,
                "staffing": team.context.staffing[slot.id],
                "picks": picks,
                "unfilled": team.suggestion.unfilled.get(slot.id, 0),
            }
        )
    unsuggested = sorted(
        ((users[u], unsuggested_text(reason)) for u, reason in team.unsuggested.items()),
        key=lambda pair: (pair[0].display_name.casefold(), pair[0].id),
    )
    accept_form = TeamAcceptForm()
    accept_form.key.data = team.key
    page = render_template(
        "signups/team.html",
        group=group,
        session=team.context.session,
        slots=slots,
        unsuggested=unsuggested,
        notes={u: a.note for u, a in team.context.availability.items() if a.note},
        accept_form=accept_form,
        reset_form=Form(),
        picks=len(team.suggestion.picks),
        swapped=bool(team.data.pinned or team.data.excluded),
        started=team.context.session.starts_at <= utcnow(),
        message=message,
        accepted_by=(
            db.session.get(User, session.team_accepted_by_id)
            if session.team_accepted_by_id
            else None
        ),
    )
    return page, status


@bp.get("/g/<slug>/sessions/<int:session_id>/team")
@group_view(organizer=True)
def session_team(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    if not has_formed_roles(session):
        abort(404)
    return _team_page(group, session)


@bp.post("/g/<slug>/sessions/<int:session_id>/team/swap")
@group_view(organizer=True)
def swap_team_member(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    prefix = next(
        (
            k[: -len("-user_id")]
            for k in request.form
            if k.startswith("swap-") and k.endswith("-user_id")
        ),
        None,
    )
    if prefix is None:
        abort(400, _unknown_swap())
    form = TeamSwapForm(prefix=prefix)
    slot = _slot_of(session, form.slot_id.data)
    out_user_id = _number(form.out_user_id.data)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            return _team_page(group, session, message=_expired(), status=422)
        form.user_id.errors = [_("Choose who takes the place.")]
        return _team_page(group, session, failed=form, status=422)
    try:
        swap(
            db.session,
            organizer=current_user,
            session=session,
            slot=slot,
            out_user_id=out_user_id,
            in_user_id=form.user_id.data,
            now=utcnow(),
        )
    except RuleViolation as refused:
        db.session.rollback()
        form.user_id.errors = [refused.message]
        return _team_page(group, session_or_404(group, session_id), failed=form, status=422)
    db.session.commit()
    flash(_("Swapped. Every organizer sees the team with this change."), "success")
    return redirect(_team_url(group, session) + f"#slot-{slot.id}")


def _number(value) -> int:
    try:
        return database_int(value)
    except (TypeError, ValueError):
        abort(400, _unknown_swap())


def _slot_of(session: StudySession, value) -> RoleSlot:
    slot_id = _number(value)
    slot = next((s for s in session.slots if s.id == slot_id), None)
    if slot is None:
        abort(404)
    return slot


@bp.post("/g/<slug>/sessions/<int:session_id>/team/reset")
@group_view(organizer=True)
def reset_team(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    if not Form().validate_on_submit():
        return _team_page(group, session, message=_expired(), status=422)
    reset_choices(db.session, session=session, now=utcnow())
    db.session.commit()
    flash(_("The swaps are undone: this is the plain suggestion again."), "success")
    return redirect(_team_url(group, session))


@bp.post("/g/<slug>/sessions/<int:session_id>/team/accept")
@group_view(organizer=True)
def accept_session_team(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    form = TeamAcceptForm()
    if not form.validate_on_submit():
        return _team_page(group, session, message=_expired(), status=422)
    try:
        places = accept_team(
            db.session,
            organizer=current_user,
            session=session,
            key=form.key.data or "",
            now=utcnow(),
        )
    except TeamChanged as changed:
        db.session.rollback()
        return _team_page(
            group, session_or_404(group, session_id), message=str(changed.message), status=409
        )
    except RuleViolation as refused:
        db.session.rollback()
        return _team_page(
            group, session_or_404(group, session_id), message=str(refused.message), status=422
        )
    count = len(places)
    commit_and_send()
    flash(
        ngettext(
            "Team accepted: %(num)d member got a place.",
            "Team accepted: %(num)d members got a place.",
            count,
        ),
        "success",
    )
    return redirect(url_for("signups.session_staffing", slug=group.slug, session_id=session_id))
