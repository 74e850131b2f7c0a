"""Jinja filters and globals: dates in the group's zone, role names in the reader's language."""

from flask import Flask
from flask.json.tag import JSONTag, TaggedJSONSerializer
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from jinja2 import pass_eval_context
from markupsafe import Markup

from studygroup import i18n
from studygroup.paging import url_here
from studygroup.security import return_path
from studygroup.urls import page_url
from studygroup.zones import zone_name

SESSION_STATUS_NAMES = {
    "scheduled": _l("Scheduled"),
    "cancelled": _l("Cancelled"),
    "not_held": _l("Not held"),
}


def session_status_label(session) -> str:
    return str(SESSION_STATUS_NAMES[session.status.value])


# One name per status, for pages and CSVs alike (keys are the enums' values).
PLACE_STATUS_NAMES = {
    "confirmed": _l("Confirmed"),
    "waitlisted": _l("Waitlist"),
    "requested": _l("Waiting for approval"),
}

ATTENDANCE_NAMES = {
    "worked": _l("Worked"),
    "no_show": _l("No-show"),
    "unknown": _l("Not recorded"),
}

MEMBERSHIP_STATUS_NAMES = {
    "active": _l("Active"),
    "pending": _l("Asked to join"),
    "left": _l("Left"),
    "removed": _l("Removed"),
    "declined": _l("Declined"),
}


def place_status_label(status) -> str:
    """A live place's status (`AssignmentStatus`): confirmed, waitlist or request."""
    return str(PLACE_STATUS_NAMES[status])


def attendance_label(attendance) -> str:
    return str(ATTENDANCE_NAMES[attendance])


def membership_status_label(status) -> str:
    return str(MEMBERSHIP_STATUS_NAMES[status])


def as_text(value):
    """A lazy translation as the text it is. Flask-Babel's LazyString has `__html__`, so
    Jinja and Flask would trust it as markup, with the member names, titles and role names
    interpolated into it; as a `str` it is escaped like any other text."""
    return str(value) if isinstance(value, LazyString) else value


class _TagLazyText(JSONTag):
    """A lazy message flashed (or stored) in the session goes there as plain text: Flask's
    own tag for anything with `__html__` would bring it back as Markup on the next page."""

    __slots__ = ()

    def check(self, value) -> bool:
        return isinstance(value, LazyString)

    def tag(self, value):
        return str(value)


class _SessionSerializer(TaggedJSONSerializer):
    default_tags = [_TagLazyText, *TaggedJSONSerializer.default_tags]


@pass_eval_context
def _parens(eval_ctx, text, after_text: bool = False) -> str:
    """`{{ x|parens }}`: x in the parentheses of the page's language (i18n.parentheses).
    `after_text`: half-width ones are set off from the text before by a space, full-width
    ones carry their own space."""
    text = as_text(text)
    opening, closing = i18n.parentheses(str(text))
    if after_text and opening == "(":
        opening = " ("
    if eval_ctx.autoescape:
        return Markup("%s%s%s") % (opening, text, closing)
    return f"{opening}{text}{closing}"


def register(app: Flask) -> None:
    # Before any template compiles: Jinja builds the finalize call into each template, so
    # every `{{ ... }}` of every template turns lazy strings into text before escaping.
    app.jinja_env.finalize = as_text
    app.session_interface.serializer = _SessionSerializer()  # type: ignore[attr-defined]
    app.jinja_env.filters["role_label"] = i18n.role_label
    app.jinja_env.filters["parens"] = _parens
    app.jinja_env.globals.update(
        session_status_label=session_status_label,
        place_status_label=place_status_label,
        attendance_label=attendance_label,
        membership_status_label=membership_status_label,
        format_datetime=i18n.format_datetime,
        format_date=i18n.format_date,
        format_month=i18n.format_month,
        format_time=i18n.format_time,
        format_time_range=i18n.format_time_range,
        page_url=page_url,
        return_path=return_path,
        url_here=url_here,
        zone_name=zone_name,
    )

    @app.context_processor
    def _languages():
        return {"current_locale": str(get_locale())}
