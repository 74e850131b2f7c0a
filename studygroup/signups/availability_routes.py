"""The member's "I can help" on the session page, and what the pages around it show of it.
Thin: forms, the services of studygroup.signups.availability, commit."""

from dataclasses import dataclass

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import role_label
from studygroup.rules import RuleViolation
from studygroup.sessions.lookup import session_or_404
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups import bp
from studygroup.signups.availability import MemberAnswers, answers_of, helper_counts
from studygroup.signups.availability_changes import (
    end_series_availability,
    say_can_help,
    withdraw_availability,
)
from studygroup.signups.forms import AvailabilityForm
from studygroup.signups.models import Availability
from studygroup.views import refused_back_to


def formed_slots(session: StudySession) -> list[RoleSlot]:
    """The session's roles the organizers form the team for (slots and role types loaded)."""
    return [
        slot for slot in session.slots if slot.role_type.is_formed and not slot.role_type.is_retired
    ]


def role_names(answer: Availability, slots: list[RoleSlot]) -> list[str]:
    """The roles an answer prefers, named, in the session's order ([] for any role)."""
    wanted = answer.role_type_ids
    if wanted is None:
        return []
    return [role_label(slot.role_type) for slot in slots if slot.role_type_id in wanted]


@dataclass
class AvailabilityPanel:
    """What the session page shows a member about "I can help"."""

    slots: list[RoleSlot]
    answers: MemberAnswers
    helpers: int
    form: AvailabilityForm
    failed: bool  # the form came back with errors: show it open

    @property
    def answer(self) -> Availability | None:
        return self.answers.effective

    @property
    def roles(self) -> list[str]:
        return role_names(self.answer, self.slots) if self.answer is not None else []


def _form(session: StudySession, slots, answers: MemberAnswers, **kwargs) -> AvailabilityForm:
    choices = [(slot.role_type_id, role_label(slot.role_type)) for slot in slots]
    form = AvailabilityForm(role_choices=choices, **kwargs)
    answer = answers.effective
    if "formdata" in kwargs and answer is not None:
        # A blank form shows the current answer, ready to change.
        form.any_role.data = "any" if answer.any_role else "roles"
        form.roles.data = sorted(answer.role_type_ids or ())
        form.note.data = answer.note
    if "formdata" in kwargs:
        form.usually.data = answers.series_row is not None
    return form


def availability_panel(
    session: StudySession,
    membership: Membership | None,
    *,
    form: AvailabilityForm | None = None,
) -> AvailabilityPanel | None:
    """The panel for an active member, on a session to come with formed roles; else None."""
    if membership is None or not membership.is_active or not current_user.is_authenticated:
        return None
    if not session.is_scheduled or session.starts_at <= utcnow():
        return None
    slots = formed_slots(session)
    if not slots:
        return None
    answers = answers_of(db.session, current_user, session)
    return AvailabilityPanel(
        slots=slots,
        answers=answers,
        helpers=helper_counts(db.session, [session])[session.id],
        form=form if form is not None else _form(session, slots, answers, formdata=None),
        failed=form is not None,
    )


def _back(group: Group, session: StudySession):
    return redirect(url_for("sessions.show", slug=group.slug, session_id=session.id) + "#can-help")


@bp.post("/g/<slug>/sessions/<int:session_id>/availability")
@group_view(member=True)
def say_can_help_for(group: Group, membership: Membership, session_id: int):
    # Here: sessions.routes imports this module (its page shows the availability panel).
    from studygroup.sessions.routes import session_page

    session = session_or_404(group, session_id)
    slots = formed_slots(session)
    answers = answers_of(db.session, current_user, session)
    form = _form(session, slots, answers)
    if form.validate_on_submit():
        try:
            say_can_help(
                db.session,
                member=current_user,
                session=session,
                any_role=form.any_role.data != "roles",
                role_type_ids=form.roles.data or [],
                note=form.note.data or "",
                usually=bool(form.usually.data) and session.series_id is not None,
                now=utcnow(),
            )
        except RuleViolation as refused:
            db.session.rollback()
            field = getattr(form, refused.field or "", None)
            (field.errors if field is not None else form.form_errors).append(refused.message)
        else:
            db.session.commit()
            flash(_("Thank you: the organizers see that you can help."), "success")
            return _back(group, session)
    if "csrf_token" in form.errors:
        form.form_errors.append(_("This form has expired. Please send it again."))
    return session_page(group, membership, session, availability_form=form, status=422)


@bp.post("/g/<slug>/sessions/<int:session_id>/availability/withdraw")
@group_view(member=True)
def withdraw_can_help(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    with refused_back_to(_back(group, session)):
        not_this_time = withdraw_availability(
            db.session, member=current_user, session=session, now=utcnow()
        )
    db.session.commit()
    if not_this_time is not None:
        flash(_("Noted: not this time. You stay usually available for the series."), "info")
    else:
        flash(_("You no longer say you can help with this session."), "info")
    return _back(group, session)


@bp.post("/g/<slug>/sessions/<int:session_id>/availability/series/end")
@group_view(member=True)
def end_usually_available(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    if session.series_id is None:
        abort(404)
    with refused_back_to(_back(group, session)):
        end_series_availability(
            db.session, member=current_user, series=session.series, now=utcnow()
        )
    db.session.commit()
    flash(_("You are no longer usually available for this series."), "info")
    return _back(group, session)
