"""Member sign-up pages (signing up, cancelling, my schedule). Thin: forms, services, commit.
The organizers' staffing pages: `signups.staffing_routes`."""

from functools import cache

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from studygroup.calendar.links import member_subscription
from studygroup.coworking.together import worked_with_by_session
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import role_label, select_locale
from studygroup.pagecache.cache import kept_page
from studygroup.paging import (
    ARCHIVE_PER_PAGE,
    page_number,
)
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot
from studygroup.sessions.routes import session_page
from studygroup.sessions.services import get_session
from studygroup.signups import bp
from studygroup.signups.forms import SignUpForm
from studygroup.signups.lists import (
    my_past_places_page,
)
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.signups.schedule import coming_up
from studygroup.signups.services import cancel_place, sign_up
from studygroup.views import (
    commit_and_send,
    moved_up_message,
    refused_back_to,
    send_after_commit,
    signed_up_message,
)


def slot_in_group(group: Group, slot_id: int) -> RoleSlot:
    slot = db.session.scalar(_slot_statement(), {"slot_id": slot_id})
    if slot is None or slot.session.group_id != group.id:
        abort(404)
    return slot


@cache
def _slot_statement() -> sa.Select:
    # With its session and role, which every caller reads: one query, not three. Built once
    # per process (every sign-up sends it), the slot as a parameter.
    return (
        sa.select(RoleSlot)
        .where(RoleSlot.id == sa.bindparam("slot_id"))
        .options(joinedload(RoleSlot.session), joinedload(RoleSlot.role_type))
    )


def place_in_group(group: Group, place_id: int) -> Assignment:
    place = db.session.get(Assignment, place_id)
    if place is None or place.slot.session.group_id != group.id:
        abort(404)
    return place


def back_to_session(group: Group, session_id: int):
    target = request.form.get("back")
    if target == "staffing":
        return redirect(url_for("signups.session_staffing", slug=group.slug, session_id=session_id))
    if target == "schedule":
        return redirect(url_for("signups.schedule"))
    return redirect(url_for("sessions.show", slug=group.slug, session_id=session_id))


# --- members ------------------------------------------------------------------------------


@bp.post("/g/<slug>/slots/<int:slot_id>/signup")
@group_view(member=True)
def sign_up_for(group: Group, membership: Membership, slot_id: int):
    slot = slot_in_group(group, slot_id)
    form = SignUpForm()
    # A request carries what the member typed (a talk's title and abstract): when it is
    # refused, the page comes back with the form open, the text kept, the error beside it.
    typed = slot.role_type.requires_approval
    if form.validate_on_submit():
        send_after_commit()  # `_signed_up` commits with commit_and_send
        try:
            place = sign_up(
                db.session,
                member=current_user,
                slot=slot,
                now=utcnow(),
                talk_title=form.talk_title.data or "",
                talk_abstract=form.talk_abstract.data or "",
                membership=membership,
            )
        except RuleViolation as refused:
            db.session.rollback()
            if not typed:
                flash(str(refused.message), "error")
                return back_to_session(group, slot.session_id)
            field = getattr(form, refused.field or "", None)
            (field.errors if field is not None else form.form_errors).append(refused.message)
        else:
            return _signed_up(group, slot, place)
    elif not typed:
        flash(_("Please check what you entered."), "error")
        return back_to_session(group, slot.session_id)
    if "csrf_token" in form.errors:
        form.form_errors.append(_("This form has expired. Please send it again."))
    return session_page(
        group,
        membership,
        get_session(db.session, group, slot.session_id),
        signup_form=form,
        failed_slot_id=slot.id,
        status=422,
    )


def _signed_up(group: Group, slot: RoleSlot, place: Assignment):
    # The message and the way back are made before the commit, which expires what they read.
    message = signed_up_message(place, slot.role_type)
    back = back_to_session(group, slot.session_id)
    commit_and_send()
    flash(message, "success")
    return back


@bp.post("/g/<slug>/places/<int:place_id>/cancel")
@group_view(member=True)
def cancel(group: Group, membership: Membership, place_id: int):
    place = place_in_group(group, place_id)
    if place.user_id != current_user.id and not membership.is_organizer:
        abort(403)
    back = back_to_session(group, place.slot.session_id)
    was, role = place.status, role_label(place.slot.role_type)
    with refused_back_to(back):
        promoted = cancel_place(
            db.session,
            place=place,
            actor=current_user,
            now=utcnow(),
            by_organizer=membership.is_organizer,
        )
    moved_up = [moved_up_message(p) for p in promoted]
    commit_and_send()
    if place.user_id != current_user.id:
        flash(_("The place is cancelled."), "success")
    elif was == AssignmentStatus.WAITLISTED:
        flash(_("You left the waitlist for %(role)s.", role=role), "success")
    elif was == AssignmentStatus.REQUESTED:
        flash(_("Your request for %(role)s is withdrawn.", role=role), "success")
    else:
        flash(_("You gave up your place as %(role)s.", role=role), "success")
    if membership.is_organizer:
        for message in moved_up:
            flash(message, "info")
    return back


@bp.get("/schedule")
@login_required
@kept_page
def schedule():
    now = utcnow()
    mine = coming_up(db.session, current_user, now=now)
    past = my_past_places_page(
        db.session,
        current_user,
        now=now,
        page=page_number(request.args.get("page")),
        size=ARCHIVE_PER_PAGE,
    )
    return render_template(
        "signups/schedule.html",
        subscription=member_subscription(current_user, lang=select_locale()),
        upcoming=mine.places,
        offered=mine.offered,
        past=past,
        numbers=mine.numbers,
        attending=mine.attending,
        attending_numbers=mine.attending_numbers,
        offers=mine.offers,
        worked_with=worked_with_by_session(
            db.session,
            current_user,
            [p.slot.session_id for p in past],
            viewer=current_user,
            now=now,
        ),
    )
