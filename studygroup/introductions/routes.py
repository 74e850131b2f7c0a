"""Introductions: the member's lists, making one, answering it, asking for one."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from studygroup.auth.models import User
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.input import database_int
from studygroup.introductions import bp
from studygroup.introductions.forms import AskForm, IntroduceForm
from studygroup.introductions.models import Answer, IntroductionRequest
from studygroup.introductions.seen import introduction_seen_by, lists_of
from studygroup.introductions.services import (
    DAILY_LIMIT,
    REQUEST_DAILY_LIMIT,
    answer_introduction,
    ask_for_introduction,
    check_may_ask,
    introducible,
    let_pass,
    make_introduction,
)
from studygroup.rules import RuleViolation
from studygroup.views import (
    commit_and_send,
    commit_unless_duplicate,
    send_committed_emails,
    show_violation,
)


def _person(arg: str) -> User | None:
    """The member a query-string id names, or None (also for ids that are no number)."""
    try:
        user_id = database_int(request.args.get(arg, ""))
    except (TypeError, ValueError):
        return None
    return db.session.get(User, user_id)


@bp.get("/introductions")
@login_required
def index():
    return render_template("introductions/index.html", lists=lists_of(db.session, current_user))


@bp.route("/introductions/new", methods=["GET", "POST"])
@login_required
def new():
    now = utcnow()
    people, coworkers = introducible(db.session, current_user, now=now)
    form = IntroduceForm()
    form.set_people(people, placeholder=_("Choose someone"))
    if request.method == "GET":
        # From a request to me (or a link): the two people chosen already.
        for arg in ("first", "second"):
            person = _person(arg)
            if person is not None and any(p.id == person.id for p in people):
                getattr(form, arg).data = person.id
    status = 200
    if form.validate_on_submit():
        first, second = (
            db.session.get(User, form.first.data),
            db.session.get(User, form.second.data),
        )
        try:
            if first is None or second is None:
                raise RuleViolation(_("Choose someone from the list."), field="second")
            make_introduction(
                db.session,
                introducer=current_user,
                first=first,
                second=second,
                note=form.note.data,
                now=now,
                coworkers=coworkers,
            )
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
            status = 422
        else:
            if not commit_unless_duplicate():
                form.second.errors = [
                    *form.second.errors,
                    _(
                        "%(first)s and %(second)s have been introduced already.",
                        first=first.display_name,
                        second=second.display_name,
                    ),
                ]
                status = 422
            else:
                send_committed_emails()
                flash(
                    _(
                        "Your introduction is sent to %(first)s and %(second)s. You will see "
                        "here when both accepted.",
                        first=first.display_name,
                        second=second.display_name,
                    ),
                    "success",
                )
                return redirect(url_for("introductions.index") + "#made")
    elif request.method == "POST":
        status = 422
    return render_template(
        "introductions/new.html", form=form, people=people, daily_limit=DAILY_LIMIT
    ), status


def _seen_or_404(introduction_id: int):
    seen = introduction_seen_by(db.session, introduction_id, current_user)
    if seen is None:  # nobody else learns that it exists
        abort(404)
    return seen


@bp.get("/introductions/<int:introduction_id>")
@login_required
def show(introduction_id: int):
    seen = _seen_or_404(introduction_id)
    return render_template("introductions/show.html", seen=seen)


@bp.post("/introductions/<int:introduction_id>/answer")
@login_required
def answer(introduction_id: int):
    introduction = _seen_or_404(introduction_id).introduction
    if introduction.introducer_id == current_user.id:
        abort(403)
    accept = request.form.get("answer") == "accept"
    if request.form.get("answer") not in ("accept", "decline"):
        flash(_("Please choose accept or decline."), "error")
        return redirect(url_for("introductions.show", introduction_id=introduction.id))
    answered = answer_introduction(
        db.session, introduction, member=current_user, accept=accept, now=utcnow()
    )
    commit_and_send()
    if answered.again:
        flash(_("You have answered already."), "error")
    elif introduction.is_accepted:
        flash(_("You both accepted: here is how to reach each other."), "success")
    elif answered.answer == Answer.ACCEPTED:
        flash(_("You accepted. You will be told when the introduction is complete."), "success")
    else:
        flash(_("You declined. No one is told."), "success")
    return redirect(url_for("introductions.show", introduction_id=introduction.id))


@bp.route("/introductions/ask", methods=["GET", "POST"])
@login_required
def ask():
    """Ask `via` to introduce me `to` someone: the "who knows X?" search and a co-worker's
    page link here (keep the endpoint's name and its arguments)."""
    via, target = _person("via"), _person("to")
    if via is None or target is None:
        abort(404)
    now = utcnow()
    try:
        check_may_ask(db.session, current_user, via, target, now=now)
    except RuleViolation as error:
        if error.field == "target":
            abort(404)  # the member may not know of this tie: say nothing
        flash(str(error.message), "error")
        return redirect(url_for("introductions.index"))
    form = AskForm()
    status = 200
    if form.validate_on_submit():
        try:
            ask_for_introduction(
                db.session,
                requester=current_user,
                via=via,
                target=target,
                note=form.note.data or "",
                now=now,
            )
        except RuleViolation as error:
            db.session.rollback()
            show_violation(form, error)
            status = 422
        else:
            commit_and_send()
            flash(
                _(
                    "You asked %(via)s to introduce you to %(name)s. If they do, you will be "
                    "asked to accept.",
                    via=via.display_name,
                    name=target.display_name,
                ),
                "success",
            )
            return redirect(url_for("introductions.index") + "#asked")
    elif request.method == "POST":
        status = 422
    return render_template(
        "introductions/ask.html",
        form=form,
        via=via,
        target=target,
        daily_limit=REQUEST_DAILY_LIMIT,
    ), status


@bp.post("/introductions/requests/<int:request_id>/pass")
@login_required
def pass_request(request_id: int):
    asked = db.session.get(IntroductionRequest, request_id)
    if asked is None or asked.via_id != current_user.id:
        abort(404)
    let_pass(db.session, asked, by=current_user, now=utcnow())
    db.session.commit()
    flash(_("The request is gone from your list. No one is told."), "success")
    return redirect(url_for("introductions.index") + "#requests")
