"""Announcement pages: writing one (to a session's people or the whole group) with a
preview before it is sent, the group's list, and the session page's section."""

import hashlib

from flask import flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from studygroup.announcements import bp
from studygroup.announcements.forms import AnnouncementForm
from studygroup.announcements.models import Announcement, Audience
from studygroup.announcements.services import (
    AUDIENCE_LABELS,
    BODY_MAX,
    GROUP_DAILY_LIMIT,
    SESSION_AUDIENCES,
    announcements_for,
    audience_counts,
    check_texts,
    group_announcements,
    latest_group_announcements,
    recipients,
    render_announcement,
    send_announcement,
    version_for,
)
from studygroup.auth.models import User
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.forms import options
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import locale_of, parentheses
from studygroup.paging import page_number
from studygroup.rules import RuleViolation
from studygroup.sessions.lookup import session_or_404
from studygroup.sessions.models import StudySession
from studygroup.views import commit_and_send, show_violation

LANGUAGE_NAMES = {"ja": _l("Japanese"), "en": _l("English")}


@bp.route("/g/<slug>/sessions/<int:session_id>/announcements/new", methods=["GET", "POST"])
@group_view(organizer=True)
def new_for_session(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    back = url_for("sessions.show", slug=group.slug, session_id=session.id)
    return _write(group, session, SESSION_AUDIENCES, Audience.SESSION, back=back)


@bp.route("/g/<slug>/announcements/new", methods=["GET", "POST"])
@group_view(organizer=True)
def new_for_group(group: Group, membership: Membership):
    back = url_for("announcements.group_list", slug=group.slug)
    return _write(group, None, (Audience.GROUP,), Audience.GROUP, back=back)


def _with_count(label, n: int) -> str:
    """ "Staff (3 people)" / "スタッフ（3人）": the parentheses of the page's language."""
    count = ngettext("%(num)d person", "%(num)d people", n)
    opening, closing = parentheses(count)
    return f"{label}{' ' if opening == '(' else ''}{opening}{count}{closing}"


def _digest(form: AnnouncementForm) -> str:
    text = "\x1f".join(
        str(f.data or "")
        for f in (form.audience, form.subject_ja, form.body_ja, form.subject_en, form.body_en)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _write(group, session, audiences, default: Audience, *, back: str):
    """The form, its preview, and sending: "Preview" shows the message as each language's
    readers get it; "Send" sends what was previewed (a text changed since is previewed again)."""
    counts = audience_counts(db.session, group=group, session=session)
    form = AnnouncementForm(audience=default.value)
    form.audience.choices = options(
        (a.value, _with_count(AUDIENCE_LABELS[a], counts[a])) for a in audiences
    )
    action = request.form.get("action")
    preview, status = None, 200
    if form.validate_on_submit():
        audience = Audience(form.audience.data)
        try:
            check_texts(
                subject_ja=form.subject_ja.data,
                body_ja=form.body_ja.data,
                subject_en=form.subject_en.data,
                body_en=form.body_en.data,
            )
        except RuleViolation as error:
            show_violation(form, error)
            status = 422
        else:
            if action == "send" and form.previewed.data == _digest(form):
                sent = _send(group, session, audience, form)
                if sent is not None:
                    return sent
                status = 422
            elif action == "send":
                flash(_("The text changed after the preview: check it and send again."), "info")
            if status == 200:
                preview = _preview(group, session, audience, form)
                form.previewed.data = _digest(form)
    elif request.method == "POST":
        status = 422
    return render_template(
        "announcements/new.html",
        group=group,
        session=session,
        form=form,
        preview=preview,
        back=back,
        body_max=BODY_MAX,
        daily_limit=GROUP_DAILY_LIMIT,
    ), status


def _send(group, session, audience: Audience, form: AnnouncementForm):
    try:
        announcement = send_announcement(
            db.session,
            author=current_user,
            group=group,
            session=session,
            audience=audience,
            subject_ja=form.subject_ja.data,
            body_ja=form.body_ja.data,
            subject_en=form.subject_en.data,
            body_en=form.body_en.data,
            now=utcnow(),
        )
    except RuleViolation as error:
        db.session.rollback()
        show_violation(form, error)
        return None
    commit_and_send()
    flash(
        ngettext(
            "The announcement is sent to %(num)d person.",
            "The announcement is sent to %(num)d people.",
            announcement.recipient_count,
        ),
        "success",
    )
    if session is not None:
        return redirect(
            url_for(
                "sessions.show", slug=group.slug, session_id=session.id, _anchor="announcements"
            )
        )
    return redirect(url_for("announcements.group_list", slug=group.slug))


def _preview(group, session, audience: Audience, form: AnnouncementForm) -> dict:
    """Each language's email as its readers get it, how many read it, and how many turned
    announcement emails off (they see the copy on the page)."""
    people = recipients(db.session, group=group, session=session, audience=audience)
    draft = Announcement(
        audience=audience,
        subject_ja=form.subject_ja.data or "",
        body_ja=form.body_ja.data or "",
        subject_en=form.subject_en.data or "",
        body_en=form.body_en.data or "",
    )
    readers = {"ja": 0, "en": 0}
    for person in people:
        readers["ja" if locale_of(person) == "ja" else "en"] += 1
    versions = []
    for language in ("ja", "en"):
        # A stand-in reader: the preview names no real recipient.
        with force_locale(language):
            sample = User(display_name=_("(name)"), locale=language, email="")
        subject, body = render_announcement(
            draft, sample, author=current_user, group=group, session=session
        )
        versions.append(
            {
                "language": LANGUAGE_NAMES[language],
                "lang": language,
                "readers": readers[language],
                "fallback": version_for(draft, language).fallback,
                "subject": subject,
                "body": body,
            }
        )
    return {
        "total": len(people),
        "no_email": sum(1 for p in people if not p.email_announcements),
        "versions": versions,
    }


@bp.get("/g/<slug>/announcements")
@group_view()
def group_list(group: Group, membership: Membership | None):
    organizer = membership is not None and membership.is_organizer
    page = group_announcements(
        db.session,
        group=group,
        viewer=current_user if current_user.is_authenticated else None,
        organizer=organizer,
        page=page_number(request.args.get("page")),
    )
    return render_template(
        "announcements/index.html",
        group=group,
        membership=membership,
        organizer=organizer,
        page=page,
        copies=[copy_of(a) for a in page],
    )


def copy_of(announcement: Announcement) -> dict:
    """An announcement as the viewer reads it on a page: their language's version."""
    language = "ja" if str(get_locale()) == "ja" else "en"
    return {
        "announcement": announcement,
        "version": version_for(announcement, language),
        "audience": AUDIENCE_LABELS[announcement.audience],
    }


def session_panel(
    session: StudySession, membership: Membership | None, *, any_to_show: bool = True
) -> dict:
    """The session page's section: the copies the viewer was sent (organizers: all, with
    how many each went to), and whether they may write one. One query, none when the page
    already knows there is nothing to show (`any_to_show=False`)."""
    organizer = membership is not None and membership.is_organizer
    viewer = current_user if current_user.is_authenticated else None
    shown = (
        announcements_for(db.session, session=session, viewer=viewer, organizer=organizer)
        if any_to_show
        else []
    )
    return {"copies": [copy_of(a) for a in shown], "organizer": organizer}


def group_panel(group: Group, membership: Membership | None) -> dict:
    """The group page's list: the newest group announcements the viewer was sent
    (organizers: all), and whether there are more. One query."""
    organizer = membership is not None and membership.is_organizer
    viewer = current_user if current_user.is_authenticated else None
    shown, more = latest_group_announcements(
        db.session, group=group, viewer=viewer, organizer=organizer
    )
    return {"copies": [copy_of(a) for a in shown], "more": more, "organizer": organizer}
