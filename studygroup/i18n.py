"""Language and time formatting. Dates always go through Babel, in the group's zone."""

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_datetime as babel_format_datetime
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from studygroup.db import unreachable_in_this_request


def select_locale() -> str:
    """The user's setting, then the language chosen on the page, then Accept-Language."""
    supported = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user = _known_user()
    if user is not None and user.locale in supported:
        return user.locale
    chosen = session.get("lang")
    if chosen in supported:
        return chosen
    return (
        request.accept_languages.best_match(supported) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def locale_of(user) -> str:
    """The language of what reaches a member outside a page (emails, their calendar feed):
    their own, else `MAIL_DEFAULT_LOCALE` for members who follow their browser."""
    if user.locale in current_app.config["LANGUAGES"]:
        return user.locale
    return current_app.config["MAIL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    user = _known_user() if has_request_context() else None
    if user is not None:
        return user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def _known_user():
    """The logged-in member, or None. None too while the database is unreachable: the error
    page then speaks the language of the session or the browser and never loads the user."""
    if unreachable_in_this_request():
        return None
    if current_user and current_user.is_authenticated:
        return current_user
    return None


@cache
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(n for n in available_timezones() if "/" in n and not n.startswith("Etc/")))


def is_timezone(name: str) -> bool:
    return name in timezone_names() or name == "UTC"


# The glossary's forms: `2026年12月19日(土) 9:00` and `Sat 19 Dec 2026, 09:00`. Babel formats
# them (names of days and months come from its locale data); only the order is chosen here.
PATTERNS = {
    "ja": {"date": "y年M月d日(E)", "time": "H:mm", "joiner": " "},
    "en": {"date": "EEE d MMM y", "time": "HH:mm", "joiner": ", "},
}


def _patterns() -> tuple[str, dict[str, str]]:
    locale = str(get_locale())
    return locale, PATTERNS.get(locale, PATTERNS["en"])


def format_date(value: datetime, tz: str) -> str:
    locale, patterns = _patterns()
    return babel_format_datetime(value, patterns["date"], tzinfo=ZoneInfo(tz), locale=locale)


def format_time(value: datetime, tz: str) -> str:
    locale, patterns = _patterns()
    return babel_format_datetime(value, patterns["time"], tzinfo=ZoneInfo(tz), locale=locale)


def format_datetime(value: datetime, tz: str) -> str:
    _locale, patterns = _patterns()
    return f"{format_date(value, tz)}{patterns['joiner']}{format_time(value, tz)}"


def format_time_range(start: datetime, end: datetime, tz: str) -> str:
    """`9:00–12:00`, with the end's date when it falls on another day."""
    zone = ZoneInfo(tz)
    if start.astimezone(zone).date() == end.astimezone(zone).date():
        return f"{format_time(start, tz)}–{format_time(end, tz)}"
    return f"{format_time(start, tz)}–{format_datetime(end, tz)}"
