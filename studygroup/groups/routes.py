import secrets

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from studygroup.announcements.routes import group_panel
from studygroup.calendar.links import group_subscription
from studygroup.coworking.visibility import may_view_coworkers
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups import bp
from studygroup.groups.access import find_group, group_view
from studygroup.groups.forms import (
    BuiltInRoleTypeForm,
    GroupForm,
    MemberActionForm,
    RoleTypeForm,
)
from studygroup.groups.models import (
    Group,
    MemberRole,
    Membership,
    MembershipStatus,
    RoleType,
)
from studygroup.groups.role_types import (
    ROLE_SETTINGS,
    add_role_type,
    restore_role_type,
    retire_role_type,
    role_types_of,
)
from studygroup.groups.services import (
    approve_member,
    create_group,
    decline_member,
    join_group,
    leave_group,
    member_counts,
    members_page,
    public_groups_page,
    remove_member,
    rotate_invite_token,
    set_member_role,
)
from studygroup.groups.slugs import suggest_slug
from studygroup.i18n import select_locale
from studygroup.logging import security_event
from studygroup.pagecache.cache import kept_page
from studygroup.paging import (
    ARCHIVE_PER_PAGE,
    PEOPLE_PER_PAGE,
    SESSIONS_PER_PAGE,
    page_number,
    search_text,
)
from studygroup.rules import RuleViolation
from studygroup.security import safe_next_url
from studygroup.sessions.group_facts import group_facts
from studygroup.sessions.lists import past_page, past_years
from studygroup.sharing.pages import group_page_share
from studygroup.signups.cards import session_cards
from studygroup.signups.lists import past_places_page, records_of, upcoming_places
from studygroup.signups.places import waitlist_numbers
from studygroup.signups.services import cancel_future_places
from studygroup.views import (
    commit_and_send,
    commit_unless_duplicate,
    refused_back_to,
    send_committed_emails,
    show_violation,
)


@bp.get("/groups")
def index():
    groups = public_groups_page(
        db.session, page=page_number(request.args.get("page")), size=PEOPLE_PER_PAGE
    )
    return render_template("groups/index.html", groups=groups)


@bp.route("/groups/new", methods=["GET", "POST"])
@login_required
def new():
    form = GroupForm()
    if form.validate_on_submit():
        suggested = not (form.slug.data or "").strip()
        if suggested:
            form.slug.data = suggest_slug(db.session, form.name.data)
        try:
            group = create_group(
                db.session,
                creator=current_user,
                name=form.name.data,
                slug=form.slug.data,
                now=utcnow(),
            )
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
        else:
            form.populate_obj(group)  # the other settings
            if commit_unless_duplicate():
                flash(_("Your group is ready. Post its first session next."), "success")
                if suggested:
                    flash(
                        _(
                            "Its page is /g/%(address)s: the group's settings can change it.",
                            address=group.slug,
                        ),
                        "success",
                    )
                return redirect(url_for("groups.show", slug=group.slug))
            form.slug.errors.append(_("This address is taken. Choose another."))
    return render_template("groups/form.html", form=form, group=None), _status(form)


@bp.get("/groups/address")
@login_required
def address_suggestion():
    """A free address for a group name (the new-group form fills it in as the name is typed)."""
    name = (request.args.get("name") or "").strip()[:120]
    if not name:
        return jsonify(address="")
    return jsonify(address=suggest_slug(db.session, name))


@bp.get("/g/<slug>")
@group_view()
@kept_page
def show(group: Group, membership: Membership | None):
    now = utcnow()
    is_member = membership is not None and membership.is_active
    cards = session_cards(
        db.session,
        group_ids=[group.id],
        now=now,
        page=page_number(request.args.get("page")),
        size=SESSIONS_PER_PAGE,
        viewer=current_user if is_member else None,
    )
    facts = group_facts(db.session, group=group, now=now, past_limit=6)
    return render_template(
        "groups/show.html",
        group=group,
        membership=membership,
        upcoming=cards.sessions,
        past=facts.past,
        past_years=facts.past_years,
        staffing=cards.staffing,
        participant_counts=cards.participant_counts,
        can_help=cards.can_help,
        organizers=facts.organizers,
        member_count=facts.member_count,
        subscription=group_subscription(
            group,
            membership,
            current_user if current_user.is_authenticated else None,
            lang=select_locale(),
        ),
        share=group_page_share(group, cards.sessions),
        announcements=_announcements(group, membership),
    )


def _announcements(group: Group, membership: Membership | None) -> dict:
    """The group's announcements the viewer was sent (announcements sit above groups)."""
    return group_panel(group, membership)


@bp.get("/g/<slug>/past")
@group_view()
def past(group: Group, membership: Membership | None):
    """The archive: the group's past sessions of one year (the latest by default)."""
    now = utcnow()
    years = past_years(db.session, group=group, now=now)
    asked = request.args.get("year")
    offered = {str(year): year for year, _count in years}
    if asked is not None and asked not in offered:
        abort(404)
    year = offered[asked] if asked is not None else (years[0][0] if years else None)
    sessions = (
        past_page(
            db.session,
            group=group,
            now=now,
            year=year,
            page=page_number(request.args.get("page")),
            size=ARCHIVE_PER_PAGE,
        )
        if year is not None
        else None
    )
    return render_template(
        "groups/past.html",
        group=group,
        membership=membership,
        years=years,
        year=year,
        sessions=sessions,
    )


@bp.route("/g/<slug>/edit", methods=["GET", "POST"])
@group_view(organizer=True)
def edit(group: Group, membership: Membership):
    form = GroupForm(obj=group, group=group)
    form.timezone.description = _(
        "Changing it keeps each session at its moment in time: the local times shown change."
    )
    if form.validate_on_submit():
        form.populate_obj(group)  # the form checked the address
        if commit_unless_duplicate():
            flash(_("The group is saved."), "success")
            return redirect(url_for("groups.show", slug=group.slug))
        # Another group took the address between the form's check and the save.
        form.slug.errors.append(_("This address is taken. Choose another."))
    return render_template("groups/form.html", form=form, group=group), _status(form)


def _status(form) -> int:
    """A form sent back with messages next to its fields is 422, as elsewhere."""
    return 422 if form.errors else 200


@bp.post("/g/<slug>/join")
@login_required
@group_view()
def join(group: Group, membership: Membership | None):
    # From a session page, `next` brings the new member back there to sign up.
    back = safe_next_url(request.form.get("next"))
    then = redirect(back or url_for("groups.show", slug=group.slug))
    with refused_back_to(then):
        membership = join_group(db.session, user=current_user, group=group, now=utcnow())
    if not commit_unless_duplicate():  # the same request twice at once: the first one counts
        return then
    send_committed_emails()  # a request to join: the organizers hear of it
    if membership.is_active and back:
        flash(_("You are now a member of %(group)s: you can sign up.", group=group.name), "success")
    elif membership.is_active:
        flash(_("You are now a member of %(group)s.", group=group.name), "success")
    else:
        flash(_("Your request is sent. An organizer will answer it."), "info")
    return then


@bp.route("/g/<slug>/invite/<token>", methods=["GET", "POST"])
def invitation(slug: str, token: str):
    """An invitation link opens the group even when it is members-only; a wrong one is 404."""
    group = find_group(slug)
    if group is None or not secrets.compare_digest(token.encode(), group.invite_token.encode()):
        abort(404)
    if request.method == "POST":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        with refused_back_to(url_for("main.home")):
            join_group(db.session, user=current_user, group=group, now=utcnow(), invite_token=token)
        db.session.commit()
        flash(_("You are now a member of %(group)s.", group=group.name), "success")
        return redirect(url_for("groups.show", slug=group.slug))
    return render_template("groups/invitation.html", group=group, token=token)


@bp.post("/g/<slug>/leave")
@group_view(member=True)
def leave(group: Group, membership: Membership):
    with refused_back_to(url_for("groups.show", slug=group.slug)):
        leave_group(db.session, membership, now=utcnow())
        cancel_future_places(
            db.session, member=current_user, group=group, actor=current_user, now=utcnow()
        )
    commit_and_send()
    flash(_("You left %(group)s. Your history stays.", group=group.name), "info")
    return redirect(url_for("main.home"))


@bp.get("/g/<slug>/members")
@group_view(organizer=True)
def members(group: Group, membership: Membership):
    search = search_text(request.args.get("q"))
    try:
        status = MembershipStatus(request.args["status"]) if request.args.get("status") else None
    except ValueError:
        status = None
    return render_template(
        "groups/members.html",
        group=group,
        membership=membership,
        members=members_page(
            db.session,
            group,
            search=search,
            status=status,
            page=page_number(request.args.get("page")),
            size=PEOPLE_PER_PAGE,
        ),
        counts=member_counts(db.session, group),
        search=search,
        status=status,
        action_form=MemberActionForm(),
    )


def _membership_or_404(group: Group, membership_id: int) -> Membership:
    """A membership row of this group (another group's is not found)."""
    found = db.session.get(Membership, membership_id)
    if found is None or found.group_id != group.id:
        abort(404)
    return found


@bp.get("/g/<slug>/members/<int:membership_id>")
@group_view(organizer=True)
def member_page(group: Group, membership: Membership, membership_id: int):
    """An organizer's page about one member of their group (present or past)."""
    member = _membership_or_404(group, membership_id)
    now = utcnow()
    upcoming = upcoming_places(db.session, member.user, now=now, group=group)
    return render_template(
        "groups/member.html",
        group=group,
        member=member,
        user=member.user,
        record=records_of(db.session, group, [member], now=now)[0],
        upcoming=upcoming,
        numbers=waitlist_numbers(db.session, upcoming),
        past=past_places_page(
            db.session,
            group,
            member.user,
            now=now,
            page=page_number(request.args.get("page")),
            size=ARCHIVE_PER_PAGE,
        ),
        coworkers_visible=may_view_coworkers(db.session, current_user, member.user),
    )


@bp.post("/g/<slug>/members/<int:membership_id>")
@group_view(organizer=True)
def member_action(group: Group, membership: Membership, membership_id: int):
    target = _membership_or_404(group, membership_id)
    form = MemberActionForm()
    if not form.validate_on_submit():
        abort(400, _("Choose one of the actions the members page offers."))
    now = utcnow()
    actions = {
        "approve": lambda: approve_member(db.session, target, now=now),
        "decline": lambda: decline_member(target, now=now),
        "promote": lambda: set_member_role(db.session, target, MemberRole.ORGANIZER),
        "demote": lambda: set_member_role(db.session, target, MemberRole.MEMBER),
        "remove": lambda: (
            remove_member(db.session, target, now=now),
            cancel_future_places(
                db.session, member=target.user, group=group, actor=current_user, now=now
            ),
        ),
    }
    back = _member_action_back(group)
    with refused_back_to(back):
        actions[form.action.data]()
    commit_and_send()
    security_event(
        "membership_" + form.action.data,
        user_id=current_user.id,
        group_id=group.id,
        member_id=target.user_id,
    )
    answered = {
        "approve": _("%(name)s is a member now.", name=target.user.display_name),
        "decline": _("%(name)s's request to join is declined.", name=target.user.display_name),
    }
    flash(answered.get(form.action.data, _("Saved.")), "success")
    return redirect(back)


def _member_action_back(group: Group) -> str:
    if request.form.get("back") == "organize":
        return url_for("main.organize", _anchor="needs")
    # Back to the list (its page, search and filter) or the member page the action came from.
    back = safe_next_url(request.form.get("back"))
    members_url = url_for("groups.members", slug=group.slug)
    if back is None or not back.startswith(members_url):
        back = members_url
    return back


@bp.post("/g/<slug>/invite/rotate")
@group_view(organizer=True)
def rotate_invite(group: Group, membership: Membership):
    rotate_invite_token(group)
    db.session.commit()
    flash(_("A new invitation link is made. The old link no longer works."), "success")
    return redirect(url_for("groups.members", slug=group.slug))


@bp.route("/g/<slug>/roles", methods=["GET", "POST"])
@group_view(organizer=True)
def roles(group: Group, membership: Membership):
    form = RoleTypeForm(group=group)
    if form.validate_on_submit():
        add_role_type(db.session, group=group, now=utcnow(), **role_settings(form))
        db.session.commit()
        flash(_("The role is added. New sessions will include it."), "success")
        return redirect(url_for("groups.roles", slug=group.slug))
    return render_template(
        "groups/roles.html",
        group=group,
        form=form,
        role_types=role_types_of(db.session, group, include_retired=True),
    ), _status(form)


def role_settings(form) -> dict:
    """A role form's data as the keyword arguments of add_role_type (the fields give the
    model's types)."""
    return {name: form[name].data for name in ROLE_SETTINGS}


def _role_type_or_404(group: Group, role_id: int) -> RoleType:
    role_type = db.session.get(RoleType, role_id)
    if role_type is None or role_type.group_id != group.id:
        abort(404)
    return role_type


@bp.route("/g/<slug>/roles/<int:role_id>/edit", methods=["GET", "POST"])
@group_view(organizer=True)
def edit_role(group: Group, membership: Membership, role_id: int):
    role_type = _role_type_or_404(group, role_id)
    form_class = BuiltInRoleTypeForm if role_type.key else RoleTypeForm
    form = form_class(obj=role_type, group=group)
    if form.validate_on_submit():
        form.populate_obj(role_type)
        db.session.commit()
        flash(_("The role is saved. Sessions posted from now on use these defaults."), "success")
        return redirect(url_for("groups.roles", slug=group.slug))
    return render_template(
        "groups/role_form.html", group=group, form=form, role_type=role_type
    ), _status(form)


@bp.post("/g/<slug>/roles/<int:role_id>/retire")
@group_view(organizer=True)
def retire_role(group: Group, membership: Membership, role_id: int):
    retire_role_type(_role_type_or_404(group, role_id), now=utcnow())
    db.session.commit()
    flash(_("The role is retired. Its history stays."), "info")
    return redirect(url_for("groups.roles", slug=group.slug))


@bp.post("/g/<slug>/roles/<int:role_id>/restore")
@group_view(organizer=True)
def restore_role(group: Group, membership: Membership, role_id: int):
    restore_role_type(_role_type_or_404(group, role_id))
    db.session.commit()
    flash(_("The role is back in use."), "success")
    return redirect(url_for("groups.roles", slug=group.slug))
