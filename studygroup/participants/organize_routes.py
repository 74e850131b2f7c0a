"""Organizer pages for a session's participants: the list (and its CSV), cancelling a
participant, and the questions participants answer when they register."""

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from studygroup.csvexport import csv_date, csv_response
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import format_time
from studygroup.paging import search_text
from studygroup.participants.models import ParticipantStatus, QuestionKind
from studygroup.participants.organize import (
    MAX_QUESTIONS,
    add_question,
    answered_question_ids,
    edit_question,
    get_participant,
    get_question,
    let_in_from_waitlist,
    move_question,
    participant_list,
    remove_question,
)
from studygroup.participants.organize_forms import (
    KIND_NAMES,
    ActionForm,
    EditQuestionForm,
    MoveQuestionForm,
    QuestionForm,
)
from studygroup.participants.services import cancel_registration, questions_of
from studygroup.rules import RuleViolation
from studygroup.sessions.lookup import session_or_404
from studygroup.sessions.models import StudySession
from studygroup.views import commit_and_send, refused_back_to, show_violation, told_by_email

bp = Blueprint("participant_organize", __name__, template_folder="templates")


def status_label(status: ParticipantStatus) -> str:
    return {
        ParticipantStatus.REGISTERED: _("Registered"),
        ParticipantStatus.WAITLISTED: _("Waitlist"),
        ParticipantStatus.CANCELLED: _("Registration cancelled"),
    }[status]


def answer_label(question, answer: str | None) -> str:
    """An answer as a reader sees it: a yes-no question's "yes"/"no" in their language."""
    if not answer:
        return ""
    if question.kind == QuestionKind.YES_NO:
        return {"yes": _("Yes"), "no": _("No")}.get(answer, answer)
    return answer


def question_heading(question) -> str:
    if question.retired_at is not None:
        return _("%(question)s (no longer asked)", question=question.text)
    return question.text


def _list_url(group: Group, session: StudySession, **args) -> str:
    return url_for(
        "participant_organize.participants", slug=group.slug, session_id=session.id, **args
    )


@bp.get("/g/<slug>/sessions/<int:session_id>/participants")
@group_view(organizer=True)
def participants(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    search = search_text(request.args.get("q"))
    show_all = request.args.get("all") == "1"
    listing = participant_list(db.session, session, search=search, limit=None if show_all else 100)
    return render_template(
        "participants/organize_list.html",
        group=group,
        session=session,
        listing=listing,
        search=search,
        show_all=show_all,
        answer_label=answer_label,
        question_heading=question_heading,
        action_form=ActionForm(),
        now=utcnow(),
    )


def _csv_moment(value: datetime | None, tz: str) -> str:
    """A moment as a spreadsheet in the reader's language reads it: its day as the other
    CSVs write days, then its time."""
    if value is None:
        return ""
    return f"{csv_date(value, tz)} {format_time(value, tz)}"


@bp.get("/g/<slug>/sessions/<int:session_id>/participants.csv")
@group_view(organizer=True)
def participants_csv(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    listing = participant_list(db.session, session, limit=None)
    tz = group.timezone
    rows = []
    for part in (listing.registered, listing.waitlist, listing.cancelled):
        for row in part.rows:
            p = row.participant
            rows.append(
                [
                    row.user.display_name,
                    row.user.reading or "",
                    p.code,
                    status_label(p.status),
                    listing.in_line.get(p.id, ""),
                    _csv_moment(p.created_at, tz),
                    _("Yes") if p.walk_in else "",
                    _csv_moment(p.checked_in_at, tz),
                    _csv_moment(p.cancelled_at, tz),
                    *(answer_label(q, row.answers.get(q.id)) for q in listing.questions),
                ]
            )
    header = [
        _("Name"),
        _("Reading"),
        _("Code"),
        _("Status"),
        _("Number on the waitlist"),
        _("Registered on"),
        _("Walk-in"),
        _("Checked in"),
        _("Cancelled on"),
        *(question_heading(q) for q in listing.questions),
    ]
    return csv_response(f"participants-{group.slug}-{session.id}.csv", header, rows)


def _posted_participant(group: Group, session_id: int, participant_id: int):
    """The session and the participant a list button posts about: 404 for another session's
    or group's, 400 without the form's CSRF token."""
    session = session_or_404(group, session_id)
    participant = get_participant(db.session, session, participant_id)
    if participant is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    return session, participant


@bp.post("/g/<slug>/sessions/<int:session_id>/participants/<int:participant_id>/cancel")
@group_view(organizer=True)
def cancel(group: Group, membership: Membership, session_id: int, participant_id: int):
    session, participant = _posted_participant(group, session_id, participant_id)
    name = participant.user.display_name
    with refused_back_to(_list_url(group, session)):
        promoted = cancel_registration(
            db.session, participant=participant, actor=current_user, now=utcnow()
        )
    names = [p.user.display_name for p in promoted]
    commit_and_send()
    flash(
        told_by_email(
            _("%(name)s's registration is cancelled.", name=name),
            participant.user,
            "participant_cancelled_by_org",
        ),
        "success",
    )
    if names:
        flash(
            ngettext(
                "%(names)s moved up from the waitlist.",
                "%(names)s moved up from the waitlist.",
                len(names),
                names=_(", ").join(names),
            ),
            "info",
        )
    return redirect(_list_url(group, session))


@bp.post("/g/<slug>/sessions/<int:session_id>/participants/<int:participant_id>/let-in")
@group_view(organizer=True)
def let_in(group: Group, membership: Membership, session_id: int, participant_id: int):
    session, participant = _posted_participant(group, session_id, participant_id)
    back = _list_url(group, session)
    with refused_back_to(back):
        let_in_from_waitlist(db.session, participant, now=utcnow())
    name = participant.user.display_name
    commit_and_send()
    flash(
        told_by_email(
            _("%(name)s is registered from the waitlist.", name=name),
            participant.user,
            "participant_registered",
        ),
        "success",
    )
    return redirect(back)


# --- questions ------------------------------------------------------------------------------


def _questions_page(
    group: Group,
    session: StudySession,
    *,
    form: QuestionForm | None = None,
    edited: tuple[int, EditQuestionForm] | None = None,
    status: int = 200,
):
    asked = questions_of(db.session, session, include_retired=True)
    edit_forms = {
        q.id: edited[1]
        if edited is not None and edited[0] == q.id
        else EditQuestionForm(formdata=None, prefix=f"q{q.id}", text=q.text, required=q.required)
        for q in asked
        if q.retired_at is None
    }
    page = render_template(
        "participants/organize_questions.html",
        group=group,
        session=session,
        questions=[q for q in asked if q.retired_at is None],
        retired=[q for q in asked if q.retired_at is not None],
        answered=answered_question_ids(db.session, session),
        form=form or QuestionForm(formdata=None),
        edit_forms=edit_forms,
        move_form=MoveQuestionForm(formdata=None),
        action_form=ActionForm(formdata=None),
        kind_names=KIND_NAMES,
        max_questions=MAX_QUESTIONS,
    )
    return page, status


def _questions_url(group: Group, session: StudySession) -> str:
    return url_for("participant_organize.questions", slug=group.slug, session_id=session.id)


@bp.route("/g/<slug>/sessions/<int:session_id>/participants/questions", methods=["GET", "POST"])
@group_view(organizer=True)
def questions(group: Group, membership: Membership, session_id: int):
    session = session_or_404(group, session_id)
    if request.method == "GET":
        return _questions_page(group, session)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            add_question(
                db.session,
                session,
                text=form.text.data,
                kind=QuestionKind(form.kind.data),
                required=form.required.data,
                now=utcnow(),
            )
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
        else:
            db.session.commit()
            flash(_("The question is added."), "success")
            return redirect(_questions_url(group, session))
    return _questions_page(group, session, form=form, status=422)


def _question_or_404(session: StudySession, question_id: int):
    question = get_question(db.session, session, question_id)
    if question is None:
        abort(404)
    return question


@bp.post("/g/<slug>/sessions/<int:session_id>/participants/questions/<int:question_id>")
@group_view(organizer=True)
def edit(group: Group, membership: Membership, session_id: int, question_id: int):
    session = session_or_404(group, session_id)
    question = _question_or_404(session, question_id)
    form = EditQuestionForm(prefix=f"q{question.id}")
    if question.retired_at is None and form.validate_on_submit():
        try:
            edit_question(db.session, question, text=form.text.data, required=form.required.data)
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
        else:
            db.session.commit()
            flash(_("The question is saved."), "success")
            return redirect(_questions_url(group, session))
    if question.retired_at is not None:
        flash(_("This question is no longer asked."), "error")
        return redirect(_questions_url(group, session))
    return _questions_page(group, session, edited=(question.id, form), status=422)


@bp.post("/g/<slug>/sessions/<int:session_id>/participants/questions/<int:question_id>/move")
@group_view(organizer=True)
def move(group: Group, membership: Membership, session_id: int, question_id: int):
    session = session_or_404(group, session_id)
    question = _question_or_404(session, question_id)
    form = MoveQuestionForm()
    if not form.validate_on_submit():
        abort(400)
    move_question(db.session, question, up=form.direction.data == "up")
    db.session.commit()
    return redirect(_questions_url(group, session) + f"#question-{question.id}")


@bp.post("/g/<slug>/sessions/<int:session_id>/participants/questions/<int:question_id>/remove")
@group_view(organizer=True)
def remove(group: Group, membership: Membership, session_id: int, question_id: int):
    session = session_or_404(group, session_id)
    question = _question_or_404(session, question_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if question.retired_at is None:
        deleted = remove_question(db.session, question, now=utcnow())
        db.session.commit()
        flash(
            _("The question is deleted.")
            if deleted
            else _("The question is no longer asked; the answers given are kept."),
            "success",
        )
    return redirect(_questions_url(group, session))
