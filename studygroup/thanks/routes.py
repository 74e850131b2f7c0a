"""Thank-you notes: the member's notes (received, sent), writing one, reporting and removing."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from studygroup.auth.models import User
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.paging import page_number
from studygroup.rules import RuleViolation
from studygroup.sessions.models import StudySession
from studygroup.thanks import bp
from studygroup.thanks.forms import ThanksForm
from studygroup.thanks.models import ThanksNote
from studygroup.thanks.services import (
    DAILY_LIMIT,
    check_may_thank,
    organizes,
    received_notes,
    remove_note,
    report_note,
    send_thanks,
    sent_notes,
)
from studygroup.views import commit_and_send, show_violation


@bp.get("/thanks")
@login_required
def index():
    notes = received_notes(db.session, current_user, page=page_number(request.args.get("page")))
    return render_template("thanks/index.html", notes=notes, tab="received")


@bp.get("/thanks/sent")
@login_required
def sent():
    notes = sent_notes(db.session, current_user, page=page_number(request.args.get("page")))
    return render_template("thanks/index.html", notes=notes, tab="sent")


def _session_page(session: StudySession) -> str:
    return url_for("sessions.show", slug=session.group.slug, session_id=session.id)


@bp.route("/thanks/<int:session_id>/<int:user_id>", methods=["GET", "POST"])
@login_required
def new(session_id: int, user_id: int):
    session = db.session.get(StudySession, session_id)
    recipient = db.session.get(User, user_id)
    if session is None or recipient is None:
        abort(404)
    now = utcnow()
    try:
        person = check_may_thank(
            db.session, sender=current_user, recipient=recipient, session=session, now=now
        )
    except RuleViolation as error:
        if error.field == "recipient":
            # Not a co-worker of this session, or one the sender may not see by name: the
            # page says nothing of whether they exist.
            abort(404)
        flash(str(error.message), "error")
        return redirect(_session_page(session))
    if person.sent:
        flash(_("You have thanked %(name)s for this session already.", name=person.name), "info")
        return redirect(url_for("thanks.sent"))
    form = ThanksForm()
    status = 200
    if form.validate_on_submit():
        try:
            send_thanks(
                db.session,
                sender=current_user,
                recipient=recipient,
                session=session,
                body=form.body.data,
                now=now,
            )
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
            status = 422
        else:
            commit_and_send()
            flash(
                _("Your note is sent to %(name)s. Thank you!", name=recipient.display_name),
                "success",
            )
            return redirect(url_for("thanks.sent"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "thanks/new.html",
        form=form,
        session=session,
        recipient=recipient,
        daily_limit=DAILY_LIMIT,
        back=_session_page(session),
    ), status


def _note_or_404(note_id: int) -> ThanksNote:
    note = db.session.scalar(
        sa.select(ThanksNote)
        .where(ThanksNote.id == note_id)
        .options(joinedload(ThanksNote.session).joinedload(StudySession.group))
    )
    if note is None:
        abort(404)
    return note


@bp.post("/thanks/notes/<int:note_id>/report")
@login_required
def report(note_id: int):
    note = _note_or_404(note_id)
    if note.recipient_id != current_user.id or note.is_removed:
        # The sender knows the note; anyone else learns nothing of it.
        abort(403 if note.sender_id == current_user.id else 404)
    report_note(db.session, note, by=current_user, now=utcnow())
    commit_and_send()
    flash(_("The organizers of the group can now see this note and remove it."), "success")
    return redirect(url_for("thanks.index"))


@bp.post("/thanks/notes/<int:note_id>/remove")
@login_required
def remove(note_id: int):
    note = _note_or_404(note_id)
    if not organizes(db.session, current_user, note.session.group) or note.reported_at is None:
        # Organizers see reported notes only; the note's own people get a plain refusal,
        # anyone else learns nothing of it.
        abort(403 if current_user.id in (note.sender_id, note.recipient_id) else 404)
    remove_note(db.session, note, by=current_user, now=utcnow())
    db.session.commit()
    flash(_("The note is removed. Its recipient no longer sees it."), "success")
    return redirect(_session_page(note.session) + "#reported-notes")
