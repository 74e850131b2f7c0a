"""The yearly list pages: the list with its "card sent" marks, a print view and a CSV."""

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from studygroup.csvexport import counted, csv_date, csv_response
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.relationships import bp
from studygroup.relationships.services import (
    ListOrder,
    YearlyList,
    default_year,
    list_years,
    mark_cards,
    yearly_list,
)


def _order() -> ListOrder:
    try:
        return ListOrder(request.args.get("order", request.form.get("order", "name")))
    except ValueError:
        return ListOrder.NAME


def _list_or_404(year: int, order: ListOrder = ListOrder.NAME) -> tuple[YearlyList, range]:
    """The member's list for `year`; a year before their history or after this one is a 404."""
    now = utcnow()
    years = list_years(db.session, current_user, now=now)
    if year not in years:
        abort(404)
    return yearly_list(db.session, current_user, year=year, now=now, order=order), years


def sent_text(the_list: YearlyList) -> str:
    total = len(the_list.named)
    return ngettext(
        "%(sent)d of %(num)d card sent", "%(sent)d of %(num)d cards sent", total, sent=the_list.sent
    )


@bp.get("/coworkers/year")
@login_required
def default():
    """Last year's list (or the year the form below asks for)."""
    year = request.args.get("year", type=int)
    if year is None:
        year = default_year(db.session, current_user, now=utcnow())
    return redirect(url_for("relationships.year", year=year, order=_order().value))


@bp.get("/coworkers/year/<int:year>")
@login_required
def year(year: int):
    return _render("relationships/year.html", year)


@bp.get("/coworkers/year/<int:year>/print")
@login_required
def print_view(year: int):
    return _render("relationships/print.html", year)


def _render(template: str, year: int):
    order = _order()
    the_list, years = _list_or_404(year, order)
    return render_template(
        template,
        the_list=the_list,
        years=years,
        order=order.value,
        sent_text=sent_text(the_list),
    )


@bp.post("/coworkers/year/<int:year>/cards")
@login_required
def cards(year: int):
    """Without script: the whole form, every named row as ticked or not. With script
    (static/yearly.js): `person`, one row at a time, answered in JSON."""
    the_list, _years = _list_or_404(year)
    only = request.form.get("person", type=int)
    sent = {int(v) for v in request.form.getlist("sent") if v.isdigit()}
    try:
        mark_cards(db.session, current_user, the_list, sent=sent, only=only, now=utcnow())
    except LookupError:
        abort(404)
    db.session.commit()
    if only is not None and request.accept_mimetypes.best == "application/json":
        return jsonify(sent=the_list.sent, total=len(the_list.named), text=sent_text(the_list))
    return redirect(url_for("relationships.year", year=year, order=_order().value))


@bp.get("/coworkers/year/<int:year>.csv")
@login_required
def export(year: int):
    the_list, _years = _list_or_404(year, _order())
    tz = current_user.timezone
    header = [
        _("Name"),
        _("Sessions together"),
        _("Roles shared"),
        _("Last together"),
        _("Card sent"),
    ]
    rows = [
        [
            e.person.name or _("a member"),
            e.person.sessions,
            counted(e.person.roles.items()),
            csv_date(e.person.last, tz),
            (_("Yes") if e.sent else _("No")) if e.person.visible else "",
        ]
        for e in the_list.entries
    ]
    return csv_response(f"people-{year}.csv", header, rows)
