"""Offering one's place and taking another's (signups.offers). Thin: forms, services, commit."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from studygroup.coworking.visibility import visible_names
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import role_label
from studygroup.signups import bp
from studygroup.signups.forms import OfferForm
from studygroup.signups.models import Assignment, AssignmentStatus, PlaceOffer
from studygroup.signups.offer_reads import get_offer, open_offers, pending_request_of, refusal_for
from studygroup.signups.offers import offer_place, take_offer, withdraw_offer
from studygroup.signups.routes import back_to_session, place_in_group
from studygroup.views import commit_and_send, refused_back_to


def _offer_or_404(group: Group, offer_id: int) -> PlaceOffer:
    offer = get_offer(db.session, group, offer_id)
    if offer is None:
        abort(404)
    return offer


def _back(group: Group, offer: PlaceOffer):
    if request.form.get("back") == "offer":
        return redirect(url_for("signups.show_offer", slug=group.slug, offer_id=offer.id))
    return back_to_session(group, offer.place.slot.session_id)


def _own_place(group: Group, place_id: int) -> Assignment:
    place = place_in_group(group, place_id)
    if place.user_id != current_user.id:
        abort(403)
    return place


@bp.route("/g/<slug>/places/<int:place_id>/offer", methods=["GET", "POST"])
@group_view(member=True)
def offer(group: Group, membership: Membership, place_id: int):
    """Offer one's confirmed place. The session page and My schedule post here; this page
    itself shows the form again when the note was refused (the error next to it)."""
    place = _own_place(group, place_id)
    form = OfferForm()
    role = role_label(place.slot.role_type)
    if request.method == "POST" and form.validate_on_submit():
        with refused_back_to(back_to_session(group, place.slot.session_id)):
            offered = offer_place(
                db.session, place=place, member=current_user, note=form.note.data, now=utcnow()
            )
        told = offered.told
        commit_and_send()
        flash(
            ngettext(
                "Your place as %(role)s is offered: %(num)d member who can help was told.",
                "Your place as %(role)s is offered: %(num)d members who can help were told.",
                told,
                role=role,
            )
            if told
            else _(
                "Your place as %(role)s is offered. Nobody has said they can help yet: "
                "members see the offer on the session page.",
                role=role,
            ),
            "success",
        )
        return back_to_session(group, place.slot.session_id)
    if request.method == "POST" and "csrf_token" in form.errors:
        form.form_errors.append(_("This form has expired. Please send it again."))
    existing = open_offers(db.session, [place.id]).get(place.id)
    page = render_template(
        "signups/offer_new.html",
        group=group,
        place=place,
        session=place.slot.session,
        form=form,
        existing=existing,
        back=request.form.get("back") or request.args.get("back"),
    )
    return page, 422 if request.method == "POST" else 200


@bp.post("/g/<slug>/offers/<int:offer_id>/withdraw")
@group_view(member=True)
def withdraw(group: Group, membership: Membership, offer_id: int):
    offer = _offer_or_404(group, offer_id)
    if offer.place.user_id != current_user.id:
        abort(403)
    back = _back(group, offer)
    with refused_back_to(back):
        withdraw_offer(db.session, offer=offer, member=current_user, now=utcnow())
    role = role_label(offer.place.slot.role_type)
    commit_and_send()
    flash(_("Your offer is withdrawn: the place as %(role)s stays yours.", role=role), "success")
    return back


@bp.post("/g/<slug>/offers/<int:offer_id>/take")
@group_view(member=True)
def take(group: Group, membership: Membership, offer_id: int):
    offer = _offer_or_404(group, offer_id)
    role = role_label(offer.place.slot.role_type)
    with refused_back_to(_back(group, offer)):
        place = take_offer(db.session, offer=offer, member=current_user, now=utcnow())
    requested = place.status == AssignmentStatus.REQUESTED
    commit_and_send()
    if requested:
        flash(
            _(
                "Your request to take the place as %(role)s is sent. An organizer will answer "
                "it; until then the member who offered it keeps the place.",
                role=role,
            ),
            "success",
        )
    else:
        flash(_("The place as %(role)s is yours. Thank you for helping!", role=role), "success")
    return _back(group, offer)


@bp.get("/g/<slug>/offers/<int:offer_id>")
@group_view(member=True)
def show_offer(group: Group, membership: Membership, offer_id: int):
    """The page an offer's email links to: what is offered, and take it (or why not)."""
    offer = _offer_or_404(group, offer_id)
    now = utcnow()
    place = offer.place
    people = [place.user, *([offer.taken_by] if offer.taken_by else [])]
    return render_template(
        "signups/offer.html",
        group=group,
        membership=membership,
        offer=offer,
        place=place,
        slot=place.slot,
        session=place.slot.session,
        names=visible_names(db.session, current_user, people, group_id=group.id),
        refusal=refusal_for(db.session, offer, current_user, now=now),
        pending=pending_request_of(db.session, offer, current_user),
        mine=place.user_id == current_user.id,
        now=now,
    )
