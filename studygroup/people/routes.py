"""The "Who knows…?" page: a search box, and the people found, nearest first."""

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.input import free_text, has_control_characters
from studygroup.paging import Page, page_number
from studygroup.people import bp
from studygroup.people.services import (
    MAX_QUERY_LENGTH,
    PER_PAGE,
    QueryError,
    check_query,
    may_ask_introduction,
    search_people,
)


@bp.get("/people/search")
@login_required
@free_text("q")
def search():
    raw = request.args.get("q")
    result = page = error = None
    if raw is not None:  # the form was sent (an empty box too)
        try:
            if has_control_characters(raw):
                raise QueryError("control characters")
            query = check_query(raw)
        except QueryError as refused:
            error = _message(refused)
        else:
            number = page_number(request.args.get("page"))
            result = search_people(
                db.session,
                current_user,
                query,
                now=utcnow(),
                limit=PER_PAGE,
                offset=(number - 1) * PER_PAGE,
            )
            page = Page(result.people, result.offset // PER_PAGE + 1, PER_PAGE, result.total)
    return render_template(
        "people/search.html",
        query="".join(c for c in (raw or "") if c.isprintable()).strip(),
        result=result,
        page=page,
        error=error,
        max_length=MAX_QUERY_LENGTH,
        may_ask=may_ask_introduction,
    )


def _message(refused: QueryError) -> str:
    if str(refused) == "too long":
        return _(
            "Type at most %(num)d characters: one skill or interest, such as Kubernetes.",
            num=MAX_QUERY_LENGTH,
        )
    if str(refused) == "control characters":
        return _(
            "The search contains characters that cannot be typed (control characters): "
            "type the skill or interest again."
        )
    return _("Type a skill or interest to look for, such as Kubernetes or PLC.")
