from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.forms import options
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership, RoleType
from studygroup.groups.services import role_types_of
from studygroup.rules import RuleViolation
from studygroup.sessions import bp
from studygroup.sessions.forms import (
    WEEKDAY_NAMES,
    AddSlotForm,
    SeriesForm,
    SessionForm,
    SlotForm,
    headcount_fields,
    headcount_form,
    headcounts_from,
)
from studygroup.sessions.models import StudySession
from studygroup.sessions.services import (
    add_slot,
    cancel_session,
    create_series,
    create_session,
    get_session,
    monthly_rule,
    plan_series,
    reinstate_session,
    to_utc,
    update_session,
    update_slot,
    weekly_rule,
)
from studygroup.signups.forms import SignUpForm
from studygroup.signups.services import (
    fill_from_waitlist,
    lock_slot,
    notify_session_change,
    signup_window,
    staffing_for,
)
from studygroup.templating import role_label
from studygroup.views import commit_and_send, show_violation


def _session_or_404(group: Group, session_id: int) -> StudySession:
    session = get_session(db.session, group, session_id)
    if session is None:
        abort(404)
    return session


@bp.route("/g/<slug>/sessions/new", methods=["GET", "POST"])
@group_view(organizer=True)
def new(group: Group, membership: Membership):
    role_types = role_types_of(db.session, group)
    form = headcount_form(role_types, base=SessionForm)(venue=group.default_venue)
    if form.validate_on_submit():
        try:
            session = create_session(
                db.session,
                group=group,
                title=form.title.data,
                starts_at=to_utc(form.day.data, form.start_time.data, group.timezone),
                ends_at=to_utc(form.day.data, form.end_time.data, group.timezone, field="end_time"),
                venue=form.venue.data or "",
                description=form.description.data or "",
                headcounts=headcounts_from(form),
                role_types=role_types,
                now=utcnow(),
            )
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
        else:
            db.session.commit()
            flash(_("The session is posted."), "success")
            return redirect(url_for("sessions.show", slug=group.slug, session_id=session.id))
    return render_template(
        "sessions/form.html",
        group=group,
        form=form,
        session=None,
        headcount_fields=headcount_fields(form),
    )


def _series_rule(form: SeriesForm) -> str:
    if form.pattern.data == "monthly":
        return monthly_rule([int(n) for n in form.ordinals.data], form.weekday.data)
    if form.pattern.data == "weekly":
        return weekly_rule(form.weekday.data, form.interval.data or 1)
    return (form.rule.data or "").strip()


@bp.route("/g/<slug>/series/new", methods=["GET", "POST"])
@group_view(organizer=True)
def new_series(group: Group, membership: Membership):
    role_types = role_types_of(db.session, group)
    form = headcount_form(role_types, base=SeriesForm)(venue=group.default_venue)
    planned = None
    if form.validate_on_submit():
        rule = _series_rule(form)
        try:
            planned = plan_series(
                rule=rule,
                first_day=form.first_day.data,
                months=form.months.data,
                start_time=form.start_time.data,
                end_time=form.end_time.data,
                tz=group.timezone,
                limit=current_app.config["SERIES_MAX_SESSIONS"],
            )
            if not form.preview.data:
                sessions = create_series(
                    db.session,
                    group=group,
                    creator=current_user,
                    title=form.title.data,
                    rule=rule,
                    planned=planned,
                    venue=form.venue.data or "",
                    description=form.description.data or "",
                    headcounts=headcounts_from(form),
                    now=utcnow(),
                )
        except RuleViolation as error:
            db.session.rollback()
            planned = None
            # The monthly and weekly choices build the rule, so its errors belong to them.
            if error.field == "rule" and form.pattern.data != "custom":
                error.field = "first_day"
            show_violation(form, error)
        else:
            if not form.preview.data:
                db.session.commit()
                flash(
                    _("%(n)d sessions are posted.", n=len(sessions)),
                    "success",
                )
                return redirect(url_for("groups.show", slug=group.slug))
    return render_template(
        "sessions/series_form.html",
        group=group,
        form=form,
        planned=planned,
        headcount_fields=headcount_fields(form),
        weekday_names=WEEKDAY_NAMES,
    )


@bp.get("/g/<slug>/sessions/<int:session_id>")
@group_view()
def show(group: Group, membership: Membership | None, session_id: int):
    session = _session_or_404(group, session_id)
    opens, closes = signup_window(group, session)
    staffing = staffing_for(db.session, [session])
    return render_template(
        "sessions/show.html",
        group=group,
        membership=membership,
        session=session,
        staffing=staffing,
        clashes=_clashes(staffing, session, current_user),
        worked_together=_worked_together(staffing, session),
        names=_visible_names(staffing, session),
        is_member=membership is not None and membership.is_active,
        now=utcnow(),
        signup_opens=opens,
        signup_closes=closes,
        signup_form=SignUpForm(),
    )


def _visible_names(staffing, session) -> dict[int, str | None]:
    """Names on the session page as the viewer may see them (None: "a member")."""
    from studygroup.coworking.services import visible_names

    people = {p.user_id: p.user for s in session.slots for p in staffing[s.id].confirmed}
    viewer = current_user if current_user.is_authenticated else None
    return visible_names(db.session, viewer, people.values(), group_id=session.group_id)


def _worked_together(staffing, session) -> list[tuple[str, list[str | None]]]:
    """For a past session: each role with the people whose places count as worked."""
    if session.starts_at > utcnow() or session.is_cancelled:
        return []
    from studygroup.coworking.services import visible_names
    from studygroup.signups.models import Attendance

    places = [
        place
        for slot in session.slots
        for place in staffing[slot.id].confirmed
        if place.attendance != Attendance.NO_SHOW
    ]
    viewer = current_user if current_user.is_authenticated else None
    people = {p.user_id: p.user for p in places}.values()
    names = visible_names(db.session, viewer, people, group_id=session.group_id)
    return [
        (
            role_label(slot.role_type),
            [
                names[p.user_id]
                for p in staffing[slot.id].confirmed
                if p.attendance != Attendance.NO_SHOW
            ],
        )
        for slot in session.slots
        if any(p.attendance != Attendance.NO_SHOW for p in staffing[slot.id].confirmed)
    ]


def _clashes(staffing, session, user) -> dict[int, str]:
    """Slots the user cannot take because a place of theirs overlaps: slot id -> that role."""
    if not user.is_authenticated:
        return {}
    mine = [slot for slot in session.slots if staffing[slot.id].place_of(user.id)]
    return {
        slot.id: role_label(other.role_type)
        for slot in session.slots
        for other in mine
        if other.id != slot.id and other.starts_at < slot.ends_at and other.ends_at > slot.starts_at
    }


@bp.route("/g/<slug>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@group_view(organizer=True)
def edit(group: Group, membership: Membership, session_id: int):
    session = _session_or_404(group, session_id)
    zone = ZoneInfo(group.timezone)
    local_start = session.starts_at.astimezone(zone)
    form = SessionForm(
        title=session.title,
        day=local_start.date(),
        start_time=local_start.time(),
        end_time=session.ends_at.astimezone(zone).time(),
        venue=session.venue,
        description=session.description,
    )
    if form.validate_on_submit():
        try:
            change = update_session(
                db.session,
                session,
                title=form.title.data,
                starts_at=to_utc(form.day.data, form.start_time.data, group.timezone),
                ends_at=to_utc(form.day.data, form.end_time.data, group.timezone, field="end_time"),
                venue=form.venue.data or "",
                description=form.description.data or "",
                now=utcnow(),
            )
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
        else:
            told = 0
            if change.time or change.venue:
                what = tuple(name for name in ("time", "venue") if getattr(change, name))
                told = notify_session_change(db.session, session, changes=what, now=utcnow())
            commit_and_send()
            flash(_("The session is saved.") if change.any else _("Nothing changed."), "success")
            if told:
                flash(_("%(n)d people on its roles are told by email.", n=told), "info")
            return redirect(url_for("sessions.show", slug=group.slug, session_id=session.id))
    used = {slot.role_type_id for slot in session.slots}
    add_form = AddSlotForm()
    add_form.role_type_id.choices = options(
        (rt.id, role_label(rt)) for rt in role_types_of(db.session, group) if rt.id not in used
    )
    slot_forms = [
        (
            slot,
            SlotForm(
                prefix=f"slot{slot.id}",
                headcount=slot.headcount,
                start_time=slot.starts_at.astimezone(zone).time(),
                end_time=slot.ends_at.astimezone(zone).time(),
            ),
        )
        for slot in session.slots
    ]
    return render_template(
        "sessions/edit.html",
        group=group,
        form=form,
        session=session,
        slot_forms=slot_forms,
        add_form=add_form,
    )


@bp.post("/g/<slug>/sessions/<int:session_id>/slots/<int:slot_id>")
@group_view(organizer=True)
def edit_slot(group: Group, membership: Membership, session_id: int, slot_id: int):
    session = _session_or_404(group, session_id)
    slot = next((s for s in session.slots if s.id == slot_id), None)
    if slot is None:
        abort(404)
    form = SlotForm(prefix=f"slot{slot.id}")
    back = url_for("sessions.edit", slug=group.slug, session_id=session.id)
    if not form.validate_on_submit():
        for field in form:
            for error in field.errors:
                flash(f"{field.label.text}: {error}", "error")
        return redirect(back)
    day = slot.starts_at.astimezone(ZoneInfo(group.timezone)).date()
    # A window that ends at or before its start time runs past midnight (cleanup at 00:15).
    end_day = day + timedelta(days=1) if form.end_time.data <= form.start_time.data else day
    try:
        update_slot(
            db.session,
            slot,
            headcount=form.headcount.data,
            starts_at=to_utc(day, form.start_time.data, group.timezone),
            ends_at=to_utc(end_day, form.end_time.data, group.timezone, field="end_time"),
            now=utcnow(),
        )
    except RuleViolation as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(back)
    # More places needed now: the waitlist moves up at once.
    promoted = fill_from_waitlist(
        db.session, lock_slot(db.session, slot.id), now=utcnow(), actor=current_user
    )
    commit_and_send()
    flash(_("The role is saved."), "success")
    if promoted:
        flash(
            _(
                "From the waitlist: %(names)s.",
                names=", ".join(p.user.display_name for p in promoted),
            ),
            "info",
        )
    return redirect(back)


@bp.post("/g/<slug>/sessions/<int:session_id>/slots")
@group_view(organizer=True)
def add_role(group: Group, membership: Membership, session_id: int):
    session = _session_or_404(group, session_id)
    form = AddSlotForm()
    form.role_type_id.choices = options((rt.id, rt.id) for rt in role_types_of(db.session, group))
    back = url_for("sessions.edit", slug=group.slug, session_id=session.id)
    if not form.validate_on_submit():
        flash(_("Choose a role."), "error")
        return redirect(back)
    role_type = db.session.get(RoleType, form.role_type_id.data)
    try:
        add_slot(db.session, session, role_type, now=utcnow())
    except RuleViolation as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(back)
    db.session.commit()
    flash(_("The role is added to this session."), "success")
    return redirect(back)


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


def _set_status(group: Group, session_id: int, change, message: str, notify: bool = False):
    session = _session_or_404(group, session_id)
    try:
        change(session, now=utcnow())
    except RuleViolation as error:
        flash(str(error.message), "error")
    else:
        if notify:
            changes = () if session.is_cancelled else ("status",)
            notify_session_change(db.session, session, changes=changes, now=utcnow())
        commit_and_send()
        flash(message, "success")
    return redirect(url_for("sessions.show", slug=group.slug, session_id=session.id))
