"""Organizers editing a session: its details and participant settings, its roles (edit a
slot, add one), cancelling, reinstating, marking it held or not held, and telling the
people concerned. Thin: forms, services, commit."""

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.forms import options
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership, RoleType
from studygroup.groups.role_types import role_types_of
from studygroup.i18n import role_label
from studygroup.input import database_int
from studygroup.participants.organize import change_participant_settings
from studygroup.participants.services import notify_participants_of_change
from studygroup.rules import RuleViolation
from studygroup.sessions import bp
from studygroup.sessions.forms import (
    AddSlotForm,
    EditSessionForm,
    SlotForm,
)
from studygroup.sessions.lookup import session_or_404
from studygroup.sessions.models import StudySession
from studygroup.sessions.services import (
    SameStart,
    add_slot,
    cancel_session,
    mark_held,
    mark_not_held,
    reinstate_session,
    to_utc,
    update_session,
)
from studygroup.signups.organizing import change_slot
from studygroup.signups.reminders import notify_session_change
from studygroup.views import commit_and_send, moved_up_message, refused_back_to, show_violation


@bp.route("/g/<slug>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@group_view(organizer=True)
def edit(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    form = _session_form(
        group, session, formdata=request.form if request.method == "POST" else None
    )
    same_start = None
    if form.validate_on_submit():
        try:
            participant_change = _participant_settings(session, form)
            change = update_session(
                db.session,
                session,
                title=form.title.data,
                starts_at=to_utc(form.day.data, form.start_time.data, group.timezone),
                ends_at=to_utc(form.day.data, form.end_time.data, group.timezone, field="end_time"),
                venue=form.venue.data or "",
                description=form.description.data or "",
                now=utcnow(),
                allow_same_start=form.save_anyway.data,
            )
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
            if isinstance(error, SameStart):
                same_start = error.session
        else:
            told, participants_told = 0, 0
            if change.time or change.venue:
                what = tuple(name for name in ("time", "venue") if getattr(change, name))
                told, participants_told = _tell_change(session, what)
            commit_and_send()
            saved = change.any or participant_change.changed
            flash(_("The session is saved.") if saved else _("Nothing changed."), "success")
            if participant_change.promoted:
                names = [p.user.display_name for p in participant_change.promoted]
                flash(
                    _("Moved up from the waitlist: %(names)s.", names=_(", ").join(names)),
                    "info",
                )
            if told:
                flash(
                    ngettext(
                        "%(num)d person on its roles is told by email.",
                        "%(num)d people on its roles are told by email.",
                        told,
                    ),
                    "info",
                )
            if participants_told:
                flash(
                    ngettext(
                        "%(num)d participant is told by email.",
                        "%(num)d participants are told by email.",
                        participants_told,
                    ),
                    "info",
                )
            return redirect(url_for("sessions.show", slug=group.slug, session_id=session.id))
    status = 422 if form.errors else 200
    return _edit_page(group, session, form=form, same_start=same_start, status=status)


@dataclass
class ParticipantChange:
    changed: bool
    promoted: list


def _participant_settings(session: StudySession, form: EditSessionForm) -> ParticipantChange:
    """The form's participants fieldset, applied (studygroup.participants.organize)."""
    before = (session.participant_capacity, session.participant_cancel_hours_before)
    takes = form.takes_participants.data
    cancel_hours = form.participant_cancel_hours_before.data
    if cancel_hours is None:
        cancel_hours = session.participant_cancel_hours_before
    promoted = change_participant_settings(
        db.session,
        session,
        takes=takes,
        capacity=form.participant_capacity.data if takes else None,
        cancel_hours_before=cancel_hours,
        now=utcnow(),
    )
    after = (session.participant_capacity, session.participant_cancel_hours_before)
    return ParticipantChange(changed=before != after, promoted=promoted)


def _session_form(group: Group, session: StudySession, *, formdata=None) -> EditSessionForm:
    zone = ZoneInfo(group.timezone)
    local_start = session.starts_at.astimezone(zone)
    return EditSessionForm(
        formdata=formdata,
        title=session.title,
        day=local_start.date(),
        start_time=local_start.time(),
        end_time=session.ends_at.astimezone(zone).time(),
        venue=session.venue,
        description=session.description,
        takes_participants=session.takes_participants,
        participant_capacity=session.participant_capacity,
        participant_cancel_hours_before=session.participant_cancel_hours_before,
    )


def _slot_form(group: Group, slot, *, formdata=None) -> SlotForm:
    zone = ZoneInfo(group.timezone)
    return SlotForm(
        formdata=formdata,
        prefix=f"slot{slot.id}",
        headcount=slot.headcount,
        start_time=slot.starts_at.astimezone(zone).time(),
        end_time=slot.ends_at.astimezone(zone).time(),
    )


def _add_form(group: Group, session: StudySession, *, formdata=None) -> AddSlotForm:
    used = {slot.role_type_id for slot in session.slots}
    add_form = AddSlotForm(formdata=formdata)
    add_form.role_type_id.choices = options(
        (rt.id, role_label(rt)) for rt in role_types_of(db.session, group) if rt.id not in used
    )
    return add_form


def _edit_page(
    group: Group,
    session: StudySession,
    *,
    form: EditSessionForm | None = None,
    same_start: StudySession | None = None,
    posted_slot: tuple[int, SlotForm] | None = None,
    over: list | None = None,
    add_form: AddSlotForm | None = None,
    status: int = 200,
):
    """The edit page. A form that was posted and refused comes back as it was typed, with its
    errors next to its fields (`posted_slot`: one role's form; `over`: the people a lower
    head-count would leave over it, to confirm); every other form shows what is saved."""
    slot_forms = [
        (
            slot,
            posted_slot[1]
            if posted_slot is not None and posted_slot[0] == slot.id
            else _slot_form(group, slot),
        )
        for slot in session.slots
    ]
    page = render_template(
        "sessions/edit.html",
        group=group,
        form=form or _session_form(group, session),
        same_start=same_start,
        session=session,
        slot_forms=slot_forms,
        over_slot_id=posted_slot[0] if posted_slot is not None and over else None,
        over=over or [],
        add_form=add_form or _add_form(group, session),
        now=utcnow(),
    )
    return page, status


@bp.post("/g/<slug>/sessions/<int:session_id>/slots/<int:slot_id>")
@group_view(organizer=True)
def edit_slot(group: Group, membership: Membership, session_id: int, slot_id: int):
    session = session_or_404(group, session_id)
    slot = next((s for s in session.slots if s.id == slot_id), None)
    if slot is None:
        abort(404)
    form = SlotForm(prefix=f"slot{slot.id}")
    if not form.validate_on_submit():
        return _edit_page(group, session, posted_slot=(slot.id, form), status=422)
    day = slot.starts_at.astimezone(ZoneInfo(group.timezone)).date()
    # A window that ends at or before its start time runs past midnight (cleanup at 00:15).
    end_day = day + timedelta(days=1) if form.end_time.data <= form.start_time.data else day
    try:
        edited = change_slot(
            db.session,
            organizer=current_user,
            slot=slot,
            headcount=form.headcount.data,
            starts_at=to_utc(day, form.start_time.data, group.timezone),
            ends_at=to_utc(end_day, form.end_time.data, group.timezone, field="end_time"),
            now=utcnow(),
            confirmed_over=_ids(form.confirm_over.data),
        )
    except RuleViolation as error:
        db.session.rollback()
        show_violation(form, error)
        return _edit_page(group, session, posted_slot=(slot.id, form), status=422)
    if not edited.saved:
        # Lower than the people confirmed: say who would be over it, and ask.
        db.session.rollback()
        form.confirm_over.data = ",".join(str(p.id) for p in edited.over)
        return _edit_page(group, session, posted_slot=(slot.id, form), over=edited.over)
    promoted = [moved_up_message(p) for p in edited.promoted]
    over = [p.user.display_name for p in edited.over]
    commit_and_send()
    flash(_("The role is saved."), "success")
    if over:
        flash(
            _(
                "Over the head-count, keeping their places: %(names)s.",
                names=_(", ").join(over),
            ),
            "warning",
        )
    for message in promoted:
        flash(message, "info")
    return redirect(url_for("sessions.edit", slug=group.slug, session_id=session.id))


def _ids(text: str | None) -> list[int] | None:
    """The place ids an organizer confirmed ("12,15"), or None when nothing was confirmed.
    Anything else confirms nothing (`[]`): the page asks again."""
    if not text:
        return None
    try:
        return [database_int(part) for part in text.split(",")]
    except ValueError:
        return []


@bp.post("/g/<slug>/sessions/<int:session_id>/slots")
@group_view(organizer=True)
def add_role(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    form = _add_form(group, session, formdata=request.form)
    if not form.validate_on_submit():
        return _edit_page(group, session, add_form=form, status=422)
    role_type = db.session.get(RoleType, form.role_type_id.data)
    try:
        add_slot(db.session, session, role_type, now=utcnow())
    except RuleViolation as error:
        db.session.rollback()
        form.role_type_id.errors = [error.message]
        return _edit_page(group, session, add_form=form, status=422)
    db.session.commit()
    flash(_("The role is added to this session."), "success")
    return redirect(url_for("sessions.edit", slug=group.slug, session_id=session.id))


@bp.post("/g/<slug>/sessions/<int:session_id>/cancel")
@group_view(organizer=True)
def cancel(group: Group, membership: Membership, session_id: int):
    return _set_status(
        group, session_id, cancel_session, _("The session is cancelled."), notify=True
    )


@bp.post("/g/<slug>/sessions/<int:session_id>/reinstate")
@group_view(organizer=True)
def reinstate(group: Group, membership: Membership, session_id: int):
    return _set_status(
        group, session_id, reinstate_session, _("The session is back on."), notify=True
    )


@bp.post("/g/<slug>/sessions/<int:session_id>/not-held")
@group_view(organizer=True)
def not_held(group: Group, membership: Membership, session_id: int):
    return _set_status(
        group,
        session_id,
        mark_not_held,
        _("The session is marked as not held: it no longer counts in co-working or records."),
    )


@bp.post("/g/<slug>/sessions/<int:session_id>/held")
@group_view(organizer=True)
def held(group: Group, membership: Membership, session_id: int):
    return _set_status(group, session_id, mark_held, _("The session counts as held again."))


def _tell_change(session: StudySession, changes: tuple[str, ...]) -> tuple[int, int]:
    """Email the session's staff, then its participants who are not staff, about a change;
    how many of each were told."""
    now = utcnow()
    staff = notify_session_change(db.session, session, changes=changes, now=now)
    participants = notify_participants_of_change(
        db.session, session, changes=changes, now=now, already_told=staff
    )
    return len(staff), participants


def _set_status(group: Group, session_id: int, change, message: str, notify: bool = False):
    session = session_or_404(group, session_id)
    back = url_for("sessions.show", slug=group.slug, session_id=session.id)
    with refused_back_to(back):
        change(session, now=utcnow())
    if notify:
        _tell_change(session, () if session.is_cancelled else ("status",))
    commit_and_send()
    flash(message, "success")
    return redirect(back)
