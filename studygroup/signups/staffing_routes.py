"""The organizers' staffing pages: the overview, a session's staffing, assigning, a place's
actions, attendance, records and their CSV exports. Thin: forms, services, commit."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from studygroup.auth.models import User
from studygroup.csvexport import counted, csv_date, csv_response
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.forms import options
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import format_time, role_label
from studygroup.pagecache.cache import kept_page
from studygroup.paging import (
    PEOPLE_PER_PAGE,
    SESSIONS_PER_PAGE,
    page_number,
    search_text,
)
from studygroup.rules import RuleViolation
from studygroup.sessions.lookup import session_or_404
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups import bp
from studygroup.signups.availability_routes import role_names
from studygroup.signups.forms import AssignForm, PlaceActionForm
from studygroup.signups.lists import (
    member_records,
    records_page,
)
from studygroup.signups.lists import staffing_overview as staffing_overview_of
from studygroup.signups.models import Assignment, Attendance
from studygroup.signups.organizing import (
    AskFirst,
    Concerns,
    add_helper,
    answer_request,
    assign,
    confirm_attendance,
    move_in_waitlist,
    move_place,
    promote_by_hand,
    set_attendance,
)
from studygroup.signups.places import staffing_for, waitlist_numbers
from studygroup.signups.records import history_details, staffing_history
from studygroup.signups.routes import place_in_group, slot_in_group
from studygroup.signups.services import cancel_place
from studygroup.signups.session_staffing import (
    GroupForSession,
    MemberChoice,
    members_for_session,
)
from studygroup.signups.session_staffing import session_staffing as session_staffing_of
from studygroup.templating import attendance_label, place_status_label
from studygroup.views import (
    commit_and_send,
    moved_up_message,
    refused_back_to,
    told_by_email,
)


@bp.get("/g/<slug>/staffing")
@group_view(organizer=True)
@kept_page
def staffing_overview(group: Group, membership: Membership):
    gaps_only = request.args.get("show") == "gaps"
    overview = staffing_overview_of(
        db.session,
        group,
        now=utcnow(),
        gaps_only=gaps_only,
        page=page_number(request.args.get("page")),
        size=SESSIONS_PER_PAGE,
    )
    return render_template(
        "signups/overview.html",
        group=group,
        overview=overview,
        sessions=overview.sessions,
        gaps_only=gaps_only,
        staffing=staffing_for(db.session, overview.sessions.items),
    )


@bp.get("/g/<slug>/sessions/<int:session_id>/staffing")
@group_view(organizer=True)
@kept_page
def session_staffing(group: Group, membership: Membership, session_id: int):
    return _staffing_page(group, session_id)


def _assign_form(
    session: StudySession, members: list[MemberChoice], *, formdata=None
) -> AssignForm:
    form = AssignForm(formdata=formdata)
    form.slot_id.choices = options((s.id, role_label(s.role_type)) for s in session.slots)
    form.user_id.choices = options((m.id, m.display_name) for m in members)
    return form


@dataclass
class Asking:
    """A staffing action held back until the organizer confirms it (`AskFirst`): the question,
    what they should know (`concerns`), and the form that repeats the action confirmed."""

    question: str
    confirm: str
    concerns: Concerns
    post_to: str
    fields: dict[str, str | int]
    cancel_url: str


def _staffing_page(
    group: Group,
    session_id: int,
    *,
    members: GroupForSession | None = None,
    assign_form: AssignForm | None = None,
    asking: Asking | None = None,
    status: int = 200,
):
    """The staffing page; after a refused assignment, with the choices made and the error;
    when an action needs confirming first, with the question on top. Three statements
    (and the login's) however large the group: the session with its places, the group's
    members with what the page says of them, the history."""
    now = utcnow()
    found = session_staffing_of(db.session, group, session_id)
    if found is None:
        abort(404)
    session, staffing = found.session, found.staffing
    if members is None:
        members = members_for_session(db.session, group, session, now=now)
    history = staffing_history(db.session, session)
    started = session.starts_at <= now
    known = {m.id: m for m in members.members}
    page = render_template(
        "signups/staffing.html",
        group=group,
        session=session,
        staffing=staffing,
        unrecorded=sum(
            p.attendance == Attendance.UNKNOWN for s in staffing.values() for p in s.confirmed
        ),
        history=history,
        details=history_details(db.session, session, history, known=known),
        offers={} if started else found.offers,
        offer_requests={} if started else found.offer_requests,
        asking=asking,
        members=members.members,
        assign_form=assign_form or _assign_form(session, members.members),
        started=started,
        zone=ZoneInfo(group.timezone),
        can_help=[(answer, role_names(answer, session.slots)) for answer in members.can_help],
    )
    return page, status


@bp.post("/g/<slug>/sessions/<int:session_id>/staffing/assign")
@group_view(organizer=True)
def assign_member(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    members = members_for_session(db.session, group, session, now=utcnow())
    form = _assign_form(session, members.members, formdata=request.form)
    if not form.validate_on_submit():
        return _staffing_page(group, session.id, members=members, assign_form=form, status=422)
    slot = slot_in_group(group, form.slot_id.data)
    member = db.session.get(User, form.user_id.data)
    now = utcnow()
    helper = session.starts_at <= now  # after the start: someone who helped without signing up
    try:
        if helper:
            outcome = add_helper(
                db.session, organizer=current_user, member=member, slot=slot, now=now
            )
        else:
            outcome = assign(
                db.session,
                organizer=current_user,
                member=member,
                slot=slot,
                now=now,
                confirmed=form.confirmed.data or None,
            )
    except AskFirst as asked:
        db.session.rollback()
        asking = Asking(
            question=_(
                "Assign %(name)s to %(role)s?",
                name=member.display_name,
                role=role_label(slot.role_type),
            ),
            confirm=_("Assign anyway"),
            concerns=asked.concerns,
            post_to=url_for("signups.assign_member", slug=group.slug, session_id=session.id),
            fields={"slot_id": slot.id, "user_id": member.id},
            cancel_url=url_for("signups.session_staffing", slug=group.slug, session_id=session.id),
        )
        return _staffing_page(group, session.id, members=members, assign_form=form, asking=asking)
    except RuleViolation as refused:
        db.session.rollback()
        form.form_errors.append(refused.message)
        return _staffing_page(group, session.id, members=members, assign_form=form, status=422)
    warnings = [str(w) for w in outcome.warnings]
    done = _what_happened(
        "add_helper" if helper else "assign",
        outcome.place,
        name=member.display_name,
        role=role_label(slot.role_type),
        actor=current_user,
        new_role="",
    )
    commit_and_send()
    flash(done, "success")
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("signups.session_staffing", slug=group.slug, session_id=session.id))


@bp.post("/g/<slug>/places/<int:place_id>")
@group_view(organizer=True)
def place_action(group: Group, membership: Membership, place_id: int):
    place = place_in_group(group, place_id)
    session = place.slot.session
    form = PlaceActionForm(member_name=place.user.display_name)
    form.to_slot_id.choices = options((s.id, s.id) for s in session_or_404(group, session.id).slots)
    from_organize = request.form.get("back") == "organize"
    back_url = (
        url_for("main.organize", _anchor="needs")
        if from_organize
        else url_for("signups.session_staffing", slug=group.slug, session_id=session.id)
    )
    back = redirect(back_url)
    if not form.validate_on_submit():
        if form.errors.keys() != {"to_slot_id"}:
            abort(400, _("Choose one of the actions and roles the staffing page offers."))
        flash(str(form.to_slot_id.errors[0]), "error")
        return back
    now = utcnow()
    action = form.action.data
    confirmed = form.confirmed.data or None
    me = current_user
    name, role = place.user.display_name, role_label(place.slot.role_type)
    to_slot = slot_in_group(group, form.to_slot_id.data) if action == "move" else None
    promoted: list[Assignment] = []
    # AskFirst is a refusal too, but one that asks: it is answered here, the rest go back.
    with refused_back_to(back):
        try:
            if action == "remove":
                promoted = cancel_place(
                    db.session, place=place, actor=me, now=now, by_organizer=True
                )
                outcome = None
            elif action == "promote":
                outcome = promote_by_hand(
                    db.session, organizer=me, place=place, now=now, confirmed=confirmed
                )
            elif action in ("up", "down"):
                move_in_waitlist(db.session, organizer=me, place=place, up=action == "up", now=now)
                outcome = None
            elif action in ("approve", "decline"):
                outcome = answer_request(
                    db.session,
                    organizer=me,
                    place=place,
                    approve=action == "approve",
                    now=now,
                    confirmed=confirmed,
                )
            elif action in ("worked", "no_show"):
                set_attendance(
                    db.session, organizer=me, place=place, attendance=Attendance(action), now=now
                )
                outcome = None
            else:  # move
                outcome = move_place(
                    db.session,
                    organizer=me,
                    place=place,
                    to_slot=to_slot,
                    now=now,
                    confirmed=confirmed,
                )
                promoted = outcome.promoted
        except AskFirst as asked:
            db.session.rollback()
            fields = {"action": action, "back": "organize" if from_organize else "staffing"}
            if to_slot is not None:
                fields["to_slot_id"] = to_slot.id
            asking = Asking(
                question=_asked(action, name=name, role=role, to_slot=to_slot),
                confirm={
                    "approve": _("Approve anyway"),
                    "promote": _("Promote anyway"),
                    "move": _("Move anyway"),
                }[action],
                concerns=asked.concerns,
                post_to=url_for("signups.place_action", slug=group.slug, place_id=place.id),
                fields=fields,
                cancel_url=back_url,
            )
            return _staffing_page(group, session.id, asking=asking)
    warnings = [str(w) for w in outcome.warnings] if outcome else []
    done = _what_happened(
        action,
        place,
        name=name,
        role=role,
        actor=me,
        new_role=role_label(to_slot.role_type) if action == "move" else "",
    )
    moved_up = [moved_up_message(p) for p in promoted]
    commit_and_send()
    flash(done, "success")
    for message in moved_up:
        flash(message, "info")
    for warning in warnings:
        flash(warning, "warning")
    return back


def _asked(action: str, *, name: str, role: str, to_slot: RoleSlot | None) -> str:
    """The question an organizer is asked before an action that `AskFirst` held back."""
    if action == "approve":
        return _("Approve %(name)s's request for %(role)s?", name=name, role=role)
    if action == "promote":
        return _("Promote %(name)s from the waitlist to %(role)s?", name=name, role=role)
    return _(
        "Move %(name)s from %(old)s to %(new)s?",
        name=name,
        old=role,
        new=role_label(to_slot.role_type),
    )


# The email each staffing action sends the member (see signups.organizing, and
# signups.services.cancel_place for removing), if any.
_EMAIL_OF_ACTION = {
    "assign": "assigned",
    "approve": "request_approved",
    "decline": "request_declined",
    "promote": "waitlist_promoted",
    "remove": "place_removed",
    "move": "assigned",
}


def _what_happened(
    action: str, place: Assignment, *, name: str, role: str, actor: User, new_role: str
) -> str:
    """What an organizer's staffing action did, with the member's name and the role, and
    whether the member hears of it by email (they may have turned such emails off)."""
    talk = place.talk_title
    if action == "approve":
        done = (
            _("%(name)s's talk “%(title)s” is approved.", name=name, title=talk)
            if talk
            else _("%(name)s's request for %(role)s is approved.", name=name, role=role)
        )
    elif action == "decline":
        done = (
            _("%(name)s's talk “%(title)s” is declined.", name=name, title=talk)
            if talk
            else _("%(name)s's request for %(role)s is declined.", name=name, role=role)
        )
    elif action == "assign":
        done = _("%(name)s is assigned to %(role)s.", name=name, role=role)
    elif action == "add_helper":
        done = _("%(name)s is added to %(role)s as having worked.", name=name, role=role)
    elif action == "promote":
        done = _("%(name)s has the place as %(role)s now.", name=name, role=role)
    elif action == "remove":
        done = _("%(name)s is removed from %(role)s.", name=name, role=role)
    elif action in ("up", "down"):
        number = waitlist_numbers(db.session, [place]).get(place.id)
        done = _(
            "%(name)s is number %(n)d on the waitlist for %(role)s now.",
            name=name,
            n=number or 0,
            role=role,
        )
    elif action == "worked":
        done = _("%(name)s is marked as worked (%(role)s).", name=name, role=role)
    elif action == "no_show":
        done = _("%(name)s is marked as a no-show (%(role)s).", name=name, role=role)
    else:  # move
        done = _("%(name)s is moved from %(old)s to %(new)s.", name=name, old=role, new=new_role)
    kind = _EMAIL_OF_ACTION.get(action)
    if action == "remove" and place.user_id == actor.id:
        kind = "place_cancelled"
    return told_by_email(done, place.user, kind)


@bp.post("/g/<slug>/sessions/<int:session_id>/attendance")
@group_view(organizer=True)
def confirm_session_attendance(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    back = url_for("signups.session_staffing", slug=group.slug, session_id=session.id)
    with refused_back_to(back):
        marked = confirm_attendance(
            db.session, organizer=current_user, session=session, now=utcnow()
        )
    commit_and_send()
    flash(
        ngettext(
            "Attendance confirmed: %(num)d place marked as worked.",
            "Attendance confirmed: %(num)d places marked as worked.",
            marked,
        )
        if marked
        else _("Attendance confirmed."),
        "success",
    )
    return redirect(back)


@bp.get("/g/<slug>/sessions/<int:session_id>/staffing.csv")
@group_view(organizer=True)
def staffing_csv(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    staffing = staffing_for(db.session, [session])
    rows = []
    for slot in session.slots:
        s = staffing[slot.id]
        for places in (s.confirmed, s.waitlist, s.requested):
            for place in places:
                rows.append(
                    [
                        session.title,
                        csv_date(session.starts_at, group.timezone),
                        role_label(slot.role_type),
                        format_time(slot.starts_at, group.timezone),
                        format_time(slot.ends_at, group.timezone),
                        place.user.display_name,
                        place_status_label(place.status),
                        s.waitlist_number(place) or "",
                        attendance_label(place.attendance),
                        place.talk_title if slot.role_type.requires_approval else "",
                    ]
                )
    header = [
        _("Session"),
        _("Date"),
        _("Role"),
        _("From"),
        _("To"),
        _("Member"),
        _("Status"),
        _("Number on the waitlist"),
        _("Attendance"),
        _("Talk"),
    ]
    return csv_response(f"staffing-{group.slug}-{session.id}.csv", header, rows)


@bp.get("/g/<slug>/records")
@group_view(organizer=True)
def records(group: Group, membership: Membership):
    search = search_text(request.args.get("q"))
    page = records_page(
        db.session,
        group,
        now=utcnow(),
        search=search,
        page=page_number(request.args.get("page")),
        size=PEOPLE_PER_PAGE,
    )
    return render_template(
        "signups/records.html",
        group=group,
        records=page,
        search=search,
        zone=ZoneInfo(group.timezone),
    )


@bp.get("/g/<slug>/records.csv")
@group_view(organizer=True)
def records_csv(group: Group, membership: Membership):
    rows = [
        [
            r.user.display_name,
            r.sessions_worked,
            counted(sorted(r.roles.items())),
            csv_date(r.last_worked, group.timezone),
            r.no_shows,
        ]
        for r in member_records(db.session, group, now=utcnow())
    ]
    header = [_("Member"), _("Sessions worked"), _("Roles"), _("Last worked"), _("No-shows")]
    return csv_response(f"members-{group.slug}.csv", header, rows)
