"""Member pages of participants: register, the confirmation page, cancel. Thin: forms,
services, commit."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from studygroup.db import utcnow
from studygroup.extensions import db, login_manager
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.participants import bp
from studygroup.participants.codes import qr_svg
from studygroup.participants.forms import CancelForm, answers_from, registration_form
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.participants.services import (
    answers_of,
    cancel_deadline,
    cancel_registration,
    may_register,
    my_registration,
    participant_counts,
    questions_of,
    register,
    waitlist_numbers,
)
from studygroup.rules import RuleViolation
from studygroup.sessions.lookup import session_or_404
from studygroup.sessions.models import StudySession
from studygroup.signups.services import signup_window
from studygroup.views import commit_and_send, refused_back_to, show_violation


def participants_panel(
    session: StudySession, membership: Membership | None, *, known: tuple | None = None
) -> dict | None:
    """What the session page's Participants box shows: the count, the viewer's registration
    and whether they may register now. None for a session that takes no participants.
    `known`: (registered, waitlisted, the viewer's registration) when the page read them
    already (`sessions.page_facts`); else two queries."""
    if not session.takes_participants:
        return None
    now = utcnow()
    if known is None:
        registered, _capacity, waitlisted = participant_counts(db.session, [session])[session.id]
        mine = my_registration(db.session, current_user, session)
    else:
        registered, waitlisted, mine = known
    capacity = session.participant_capacity
    opens, closes = signup_window(session.group, session)
    organizer = membership is not None and membership.is_organizer
    return {
        "registered": registered,
        "capacity": capacity,
        "waitlisted": waitlisted,
        "mine": mine,
        "may_register": may_register(session.group, membership),
        "open": session.is_scheduled
        and session.starts_at > now
        and (organizer or opens <= now <= closes),
        "opens": opens,
        "closes": closes,
        "now": now,
    }


@bp.route("/g/<slug>/sessions/<int:session_id>/register", methods=["GET", "POST"])
@group_view()
def register_for(group: Group, membership: Membership | None, session_id: int):
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    session = session_or_404(group, session_id, taking_participants=True)
    mine = my_registration(db.session, current_user, session)
    if mine is not None and mine.is_live:
        return redirect(url_for("participants.show", slug=group.slug, session_id=session.id))
    questions = questions_of(db.session, session)
    form = registration_form(questions, formdata=request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                participant = register(
                    db.session,
                    member=current_user,
                    session=session,
                    answers=answers_from(form),
                    now=utcnow(),
                )
            except RuleViolation as refused:
                db.session.rollback()
                show_violation(form, refused)
            else:
                registered = participant.status == ParticipantStatus.REGISTERED
                commit_and_send()
                flash(
                    _("You are registered. See you there!")
                    if registered
                    else _(
                        "The session is full: you are on the waitlist. "
                        "We will email you if a seat frees up."
                    ),
                    "success",
                )
                return redirect(
                    url_for("participants.show", slug=group.slug, session_id=session.id)
                )
        if "csrf_token" in form.errors:
            flash(_("This form has expired. Please send it again."), "error")
        status = 422
    page = render_template(
        "participants/register.html",
        group=group,
        membership=membership,
        session=session,
        form=form,
        panel=participants_panel(session, membership),
    )
    return page, status


@bp.get("/g/<slug>/sessions/<int:session_id>/participation")
@group_view()
def show(group: Group, membership: Membership | None, session_id: int):
    """The member's own confirmation: status, waitlist number, answers, code and QR code."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    session = session_or_404(group, session_id, taking_participants=True)
    participant = my_registration(db.session, current_user, session)
    if participant is None:
        return redirect(
            url_for("participants.register_for", slug=group.slug, session_id=session.id)
        )
    now = utcnow()
    return render_template(
        "participants/show.html",
        group=group,
        membership=membership,
        session=session,
        participant=participant,
        answers=answers_of(db.session, participant),
        number=waitlist_numbers(db.session, [participant]).get(participant.id),
        qr=qr_svg(participant.code) if participant.status == ParticipantStatus.REGISTERED else None,
        cancel_until=cancel_deadline(session),
        can_cancel=participant.is_live
        and session.starts_at > now
        and (
            participant.status == ParticipantStatus.WAITLISTED
            or now <= cancel_deadline(session)
            or (membership is not None and membership.is_organizer)
        ),
        cancel_form=CancelForm(),
        now=now,
    )


@bp.post("/g/<slug>/participants/<int:participant_id>/cancel")
@group_view()
def cancel(group: Group, membership: Membership | None, participant_id: int):
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    participant = db.session.get(Participant, participant_id)
    if participant is None:
        abort(404)
    session = session_or_404(group, participant.session_id)  # 404: another group's registration
    organizer = membership is not None and membership.is_organizer
    if participant.user_id != current_user.id and not organizer:
        abort(403)
    back = url_for("participants.show", slug=group.slug, session_id=session.id)
    if participant.user_id != current_user.id:
        back = url_for("sessions.show", slug=group.slug, session_id=session.id)
    if not CancelForm().validate_on_submit():
        flash(_("This form has expired. Please send it again."), "error")
        return redirect(back)
    with refused_back_to(back):
        cancel_registration(db.session, participant=participant, actor=current_user, now=utcnow())
    commit_and_send()
    flash(
        _("Your registration is cancelled.")
        if participant.user_id == current_user.id
        else _("The registration is cancelled."),
        "success",
    )
    return redirect(back)
