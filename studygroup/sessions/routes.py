from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from studygroup.announcements.routes import session_panel
from studygroup.coworking.together import worked_together
from studygroup.coworking.visibility import visible_names
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.forms import options
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership, RoleType
from studygroup.groups.role_types import role_types_of
from studygroup.i18n import role_label
from studygroup.input import database_int
from studygroup.pagecache.cache import kept_page
from studygroup.participants.organize import change_participant_settings
from studygroup.participants.routes import participants_panel
from studygroup.participants.services import notify_participants_of_change
from studygroup.rules import RuleViolation
from studygroup.sessions import bp
from studygroup.sessions.forms import (
    WEEKDAY_NAMES,
    AddSlotForm,
    EditSessionForm,
    NewSessionForm,
    SeriesForm,
    SlotForm,
    headcount_fields,
    headcount_form,
    headcounts_from,
)
from studygroup.sessions.lookup import session_or_404
from studygroup.sessions.models import StudySession
from studygroup.sessions.page_facts import SessionPageFacts, session_page_facts
from studygroup.sessions.series import (
    NothingToPost,
    create_series,
    monthly_rule,
    plan_series,
    weekly_rule,
)
from studygroup.sessions.services import (
    SameStart,
    add_slot,
    cancel_session,
    create_session,
    mark_held,
    mark_not_held,
    reinstate_session,
    sessions_starting_at,
    to_utc,
    update_session,
)
from studygroup.sharing.pages import session_page_share
from studygroup.signups.availability_routes import availability_panel
from studygroup.signups.forms import SignUpForm
from studygroup.signups.offer_reads import offers_on_session
from studygroup.signups.reminders import notify_session_change
from studygroup.signups.services import blocking_place, change_slot, signup_window
from studygroup.thanks.services import is_over, reported_in_session, thankable_among
from studygroup.views import commit_and_send, moved_up_message, refused_back_to, show_violation


@bp.route("/g/<slug>/sessions/new", methods=["GET", "POST"])
@group_view(organizer=True)
def new(group: Group, membership: Membership):
    role_types = role_types_of(db.session, group)
    form = headcount_form(role_types, base=NewSessionForm)(venue=group.default_venue)
    same_start = None
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
                allow_same_start=form.post_anyway.data,
                **form.participant_settings(),
            )
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
            if isinstance(error, SameStart):
                same_start = error.session
        else:
            db.session.commit()
            flash(_("The session is posted."), "success")
            return redirect(url_for("sessions.show", slug=group.slug, session_id=session.id))
    return render_template(
        "sessions/form.html",
        group=group,
        form=form,
        session=None,
        same_start=same_start,
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
    taken = {}
    posted_nothing = False
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
            taken = sessions_starting_at(db.session, group, [p.starts_at for p in planned])
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
                    **form.participant_settings(),
                )
        except NothingToPost as nothing:
            db.session.rollback()  # the dates stay on the page, each marked as taken
            posted_nothing = True
            flash(str(nothing.message), "info")
        except RuleViolation as error:
            db.session.rollback()
            planned = None  # a rule that fails shows no dates
            # The monthly and weekly choices build the rule, so its errors belong to them.
            if error.field == "rule" and form.pattern.data != "custom":
                error.field = "first_day"
            show_violation(form, error)
        else:
            if not form.preview.data:
                db.session.commit()
                skipped = len(planned) - len(sessions)
                flash(
                    ngettext(
                        "%(num)d session is posted.", "%(num)d sessions are posted.", len(sessions)
                    ),
                    "success",
                )
                if skipped:
                    flash(
                        ngettext(
                            "%(num)d date is skipped because it already has a session.",
                            "%(num)d dates are skipped because they already have a session.",
                            skipped,
                        ),
                        "info",
                    )
                return redirect(url_for("groups.show", slug=group.slug))
    return render_template(
        "sessions/series_form.html",
        group=group,
        form=form,
        planned=planned,
        taken=taken,
        posted_nothing=posted_nothing,
        headcount_fields=headcount_fields(form),
        weekday_names=WEEKDAY_NAMES,
    )


@bp.get("/g/<slug>/sessions/<int:session_id>")
@group_view()
@kept_page
def show(group: Group, membership: Membership | None, session_id: int):
    return session_page(group, membership, session_or_404(group, session_id))


def session_page(
    group: Group,
    membership: Membership | None,
    session: StudySession,
    *,
    signup_form: SignUpForm | None = None,
    failed_slot_id: int | None = None,
    availability_form=None,
    status: int = 200,
):
    """The session page; after a refused request, again with the request form open at
    `failed_slot_id`, what was typed in it and the errors next to their fields."""
    opens, closes = signup_window(group, session)
    facts = session_page_facts(
        db.session,
        session,
        viewer=current_user if current_user.is_authenticated else None,
        organizer=membership is not None and membership.is_organizer,
    )
    staffing = facts.staffing
    participants = participants_panel(session, membership, known=facts.participants)
    is_member = membership is not None and membership.is_active
    page = render_template(
        "sessions/show.html",
        group=group,
        membership=membership,
        session=session,
        staffing=staffing,
        clashes=_clashes(staffing, session, current_user),
        worked_together=_worked_together(staffing, session, facts),
        thanks=_thanks(session, membership, facts),
        names=_visible_names(staffing, session, membership),
        is_member=is_member,
        offers=_offers(session, staffing, is_member, facts.open_offers),
        now=utcnow(),
        signup_opens=opens,
        signup_closes=closes,
        signup_form=signup_form,
        blank_signup_form=SignUpForm(formdata=None),
        failed_slot_id=failed_slot_id,
        availability=availability_panel(session, membership, form=availability_form),
        share=session_page_share(
            group, session, registered=participants["registered"] if participants else None
        ),
        announcements=_announcements(session, membership, facts.announcements_to_show),
        participants=participants,
    )
    return page, status


def _announcements(session, membership: Membership | None, any_to_show: bool) -> dict:
    """The copies of announcements the viewer was sent (announcements sit above sessions)."""
    return session_panel(session, membership, any_to_show=any_to_show)


def _offers(session, staffing, is_member: bool, open_offers: dict) -> dict:
    """Open offers of the session's places (swaps), with whether the viewer may take each."""
    if not is_member:  # offers are shown to the group's members only
        return {}
    return offers_on_session(
        db.session,
        session,
        staffing,
        viewer=current_user,
        is_member=is_member,
        now=utcnow(),
        open_offers=open_offers,
    )


def _visible_names(staffing, session, membership: Membership | None) -> dict[int, str | None]:
    """Names on the session page as the viewer may see them (None: "a member"). The viewer's
    membership says whether they organize the group: no query for it."""
    people = {p.user_id: p.user for s in session.slots for p in staffing[s.id].confirmed}
    viewer = current_user if current_user.is_authenticated else None
    return visible_names(
        db.session,
        viewer,
        people.values(),
        group_id=session.group_id,
        organizer=viewer is not None and membership is not None and membership.is_organizer,
    )


def _worked_together(staffing, session, facts: SessionPageFacts) -> list[tuple[str, list]]:
    """For a past session: each role with the people whose places count as worked."""
    roles = worked_together(
        db.session,
        session,
        staffing=staffing,
        worked=facts.worked,
        viewer=current_user if current_user.is_authenticated else None,
        now=utcnow(),
    )
    return [(role_label(slot.role_type), names) for slot, names in roles]


def _thanks(session, membership: Membership | None, facts: SessionPageFacts) -> dict:
    """After a session: whom the viewer may thank, and for organizers the notes reported
    (from the page's facts: a query only for reported notes, when there are some)."""
    if not current_user.is_authenticated or not is_over(session, utcnow()):
        return {"people": [], "reported": []}
    organizer = membership is not None and membership.is_organizer
    worked = {place.user_id: place.user for place in facts.worked}
    people = []
    if current_user.id in worked and len(worked) >= 2:  # as `thankable`
        others = [person for user_id, person in worked.items() if user_id != current_user.id]
        people = thankable_among(db.session, current_user, session, others, thanked=facts.thanked)
    return {
        "people": people,
        "reported": reported_in_session(db.session, session)
        if organizer and facts.reported_any
        else [],
    }


def _clashes(staffing, session, user) -> dict[int, str]:
    """Slot id -> the role of the user's place that blocks it, by the one overlap rule
    (`blocking_place`: confirmed places block; waitlist places and requests never)."""
    if not user.is_authenticated:
        return {}
    mine = [place for slot in session.slots if (place := staffing[slot.id].place_of(user.id))]
    result = {}
    for slot in session.slots:
        blocking = blocking_place(mine, slot)
        if blocking is not None:
            result[slot.id] = role_label(blocking.slot.role_type)
    return result


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
