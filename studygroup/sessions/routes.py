"""Session pages: posting a session or a series, and the session's own page. Editing a
session, its roles and its status: `sessions.edit_routes`."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from studygroup.announcements.routes import session_panel
from studygroup.coworking.together import worked_together
from studygroup.coworking.visibility import visible_names
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.groups.role_types import role_types_of
from studygroup.i18n import role_label
from studygroup.pagecache.cache import kept_page
from studygroup.participants.routes import participants_panel
from studygroup.rules import RuleViolation
from studygroup.sessions import bp
from studygroup.sessions.forms import (
    WEEKDAY_NAMES,
    NewSessionForm,
    SeriesForm,
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
    create_session,
    sessions_starting_at,
    to_utc,
)
from studygroup.sharing.pages import session_page_share
from studygroup.signups.availability_routes import availability_panel
from studygroup.signups.forms import SignUpForm
from studygroup.signups.offer_reads import offers_on_session
from studygroup.signups.places import blocking_place
from studygroup.signups.services import signup_window
from studygroup.thanks.services import is_over, reported_in_session, thankable_among
from studygroup.views import show_violation


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
