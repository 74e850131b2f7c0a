"""People you've co-worked with, the shared sessions, and a group's network for organizers."""

from dataclasses import replace
from functools import cache

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from studygroup.auth.models import CoworkersVisibility, User, new_session_token
from studygroup.coworking import bp
from studygroup.coworking.filters import filter_choices
from studygroup.coworking.forms import FiltersForm, PrivacyForm
from studygroup.coworking.group_pairs import group_network
from studygroup.coworking.network import group_picture
from studygroup.coworking.picture import star, with_introductions
from studygroup.coworking.services import Order, coworkers_of, own_coworkers
from studygroup.coworking.together import sessions_together
from studygroup.coworking.visibility import may_view_coworkers
from studygroup.csvexport import counted, csv_date, csv_response
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import format_date
from studygroup.introductions.seen import accepted_introductions, accepted_pairs_among
from studygroup.pagecache.cache import kept_page
from studygroup.relationships.birthdays import birthdays_this_week, month_day
from studygroup.relationships.services import (
    RECONNECT_MONTHS,
    RECONNECT_SESSIONS,
    reconnect_suggestions,
)

LIST_LENGTH = 100


def _filters() -> FiltersForm:
    """Group, year and order from the query string; anything unknown is simply ignored."""
    return FiltersForm(formdata=request.args).read()


def _member_or_404(user_id: int, token: str | None = None) -> User:
    member = db.session.get(User, user_id)
    viewer = current_user if current_user.is_authenticated else None
    if member is None or not may_view_coworkers(db.session, viewer, member, link_token=token):
        abort(404)
    return member


@bp.get("/coworkers")
@login_required
def mine():
    return redirect(url_for("coworking.page", user_id=current_user.id))


@bp.get("/people/<int:user_id>/coworkers")
@login_required
@kept_page
def page(user_id: int):
    return _render_page(_member_or_404(user_id))


@bp.get("/coworkers/link/<token>")
def shared_link(token: str):
    member = db.session.scalar(sa.select(User).where(User.coworkers_link_token == token))
    if member is None:
        abort(404)
    return _render_page(_member_or_404(member.id, token), token=token)


def _filtered_coworkers(member: User):
    """The member's co-workers as the query string filters them and the viewer may see them.
    Returns (co-workers, groups offered in the filter, group id, year, order, years offered,
    the whole unfiltered history on one's own page, else None)."""
    filters = _filters()
    group_id, year, order = filters.group.data, filters.year.data, Order(filters.order.data)
    since, until = filters.year_window(member.timezone)
    viewer = current_user if current_user.is_authenticated else None
    now = utcnow()
    groups, years = filter_choices(db.session, member, viewer=viewer, now=now)
    if group_id not in {g.id for g in groups}:
        group_id = None
    filters = dict(group_id=group_id, since=since, until=until, order=order)
    if viewer is not None and viewer.id == member.id:
        # One query for the filtered list and the whole history the panels speak of.
        coworkers, whole = own_coworkers(db.session, member, now=now, **filters)
    else:
        coworkers = coworkers_of(db.session, member, viewer=viewer, now=now, **filters)
        whole = None
    return coworkers, groups, group_id, year, order, years, whole


def _render_page(member: User, token: str | None = None):
    coworkers, groups, group_id, year, order, years, whole = _filtered_coworkers(member)
    unnamed = _("a member")
    is_me = whole is not None
    introduced = []
    if is_me and current_user.introductions_accepted:
        # Only on one's own page, and a query only for members who have any (the count
        # comes with the logged-in member).
        introduced = accepted_introductions(db.session, member)
    drawing = star(
        member.display_name,
        # Someone shown as "a member" gets no id: no dashed line may tell who they are.
        [
            (c.user_id if c.name else None, c.name or unnamed, c.sessions)
            for c in sorted(coworkers, key=lambda c: -c.sessions)
        ],
        introduced=[(i.other.id, i.other.display_name) for i in introduced],
    )
    privacy_form = PrivacyForm(obj=member) if is_me else None
    reconnects = None
    birthdays = None
    if is_me:
        # From the whole history, whatever the filter.
        now = utcnow()
        reconnects = reconnect_suggestions(db.session, member, now=now, coworkers=whole)
        birthdays = birthdays_this_week(db.session, member, now=now, coworkers=whole)
    show_all = request.args.get("all") == "1"
    # A hundred rows repeat the same few counts and dates: each text is made once a page, not
    # once a row (Babel's look-ups cost more than the rest of a row).
    zone = member.timezone
    return render_template(
        "coworking/page.html",
        sessions_text=cache(lambda n: ngettext("%(num)d session", "%(num)d sessions", n)),
        side_text=cache(lambda n: _("%(n)d side by side", n=n)),
        date_text=cache(lambda value: format_date(value, zone)),
        member=member,
        # A long history lists the first hundred; the rest is one click (or the CSV) away.
        coworkers=coworkers if show_all else coworkers[:LIST_LENGTH],
        total=len(coworkers),
        show_all=show_all,
        drawing=drawing,
        is_me=is_me,
        privacy_form=privacy_form,
        introduced=introduced,
        reconnects=reconnects,
        birthdays=birthdays,
        month_day=month_day,
        reconnect_sessions=RECONNECT_SESSIONS,
        reconnect_months=RECONNECT_MONTHS,
        groups=groups,
        group_id=group_id,
        year=year,
        order=order.value,
        token=token,
        years=years,
    )


@bp.get("/people/<int:user_id>/coworkers/<int:other_id>")
@login_required
def together(user_id: int, other_id: int):
    member = _member_or_404(user_id)
    group_id = _filters().group.data
    people = coworkers_of(db.session, member, viewer=current_user, now=utcnow(), group_id=group_id)
    other = next((c for c in people if c.user_id == other_id), None)
    if other is None or other.name is None:  # a hidden co-worker stays unidentifiable
        abort(404)
    # Their own co-worker page, when they let this viewer see it: where one asks them for an
    # introduction to someone they worked with.
    other_user = db.session.get(User, other_id)
    return render_template(
        "coworking/together.html",
        member=member,
        other=other,
        other_page_open=other_user is not None
        and other_id != current_user.id
        and may_view_coworkers(db.session, current_user, other_user),
        sessions=sessions_together(
            db.session, member, other_id, viewer=current_user, now=utcnow(), group_id=group_id
        ),
    )


@bp.get("/people/<int:user_id>/coworkers.csv")
@login_required
def export(user_id: int):
    member = _member_or_404(user_id)
    coworkers = _filtered_coworkers(member)[0]
    rows = [
        [
            c.name or _("a member"),
            c.sessions,
            c.side_by_side,
            counted(c.roles.items()),
            csv_date(c.first, member.timezone),
            csv_date(c.last, member.timezone),
        ]
        for c in coworkers
    ]
    header = [
        _("Name"),
        _("Sessions together"),
        _("Of those, side by side"),
        _("Roles shared"),
        _("First together"),
        _("Last together"),
    ]
    return csv_response(f"coworkers-{member.id}.csv", header, rows)


@bp.post("/coworkers/privacy")
@login_required
def privacy():
    form = PrivacyForm()
    if form.validate_on_submit():
        current_user.coworkers_visibility = CoworkersVisibility(form.coworkers_visibility.data)
        current_user.appear_by_name = form.appear_by_name.data
        current_user.accept_thanks = form.accept_thanks.data
        current_user.share_birthday = form.share_birthday.data
        current_user.email_birthday_digest = form.email_birthday_digest.data
        current_user.accept_introductions = form.accept_introductions.data
        current_user.findable = form.findable.data
        db.session.commit()
        flash(_("Your choices are saved."), "success")
    else:
        flash(_("Please choose who can see the page."), "error")
    return redirect(url_for("coworking.page", user_id=current_user.id))


@bp.post("/coworkers/link/reset")
@login_required
def reset_link():
    current_user.coworkers_link_token = new_session_token()
    db.session.commit()
    flash(_("A new link is made. The old link no longer works."), "success")
    return redirect(url_for("coworking.page", user_id=current_user.id))


@bp.get("/g/<slug>/network")
@group_view(organizer=True)
@kept_page
def network(group: Group, membership: Membership):
    picture = group_network(db.session, group, now=utcnow())
    drawing = group_picture(picture)
    # Accepted introductions between the group's members that this organizer made or is in:
    # dashed lines (one query). The page names every member to its organizers already.
    introduced = accepted_pairs_among(db.session, picture.members, seen_by=current_user)
    if introduced and drawing.picture is not None:
        drawing = replace(
            drawing,
            picture=with_introductions(drawing.picture, introduced),
            narrow=with_introductions(drawing.narrow, introduced),
        )
    return render_template(
        "coworking/network.html",
        group=group,
        picture=picture,
        drawing=drawing,
        introduced=bool(introduced),
        few=picture.worked_with_few(),
        worked_at_all=picture.worked_at_all,
        top_pairs=picture.pairs[:10],
    )
