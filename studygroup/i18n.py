"""Language and time formatting. Dates always go through Babel, in the group's zone."""

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_skeleton
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    """The user's setting, then the language chosen on the page, then Accept-Language."""
    supported = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in supported:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in supported:
        return chosen
    return (
        request.accept_languages.best_match(supported) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


@cache
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(n for n in available_timezones() if "/" in n and not n.startswith("Etc/")))


def is_timezone(name: str) -> bool:
    return name in timezone_names() or name == "UTC"


def _babel_locale() -> str:
    # English dates read "Sat 19 Dec 2026, 09:00": the British pattern of the glossary.
    locale = str(get_locale())
    return "en_GB" if locale == "en" else locale


def format_date(value: datetime, tz: str) -> str:
    return format_skeleton("yMMMEd", value, tzinfo=ZoneInfo(tz), locale=_babel_locale())


def format_time(value: datetime, tz: str) -> str:
    return format_skeleton("Hm", value, tzinfo=ZoneInfo(tz), locale=_babel_locale())


def format_datetime(value: datetime, tz: str) -> str:
    """`2026年12月19日(土) 9:00` / `Sat 19 Dec 2026, 09:00`."""
    sep = " " if _babel_locale().startswith("ja") else ", "
    return f"{format_date(value, tz)}{sep}{format_time(value, tz)}"


def format_time_range(start: datetime, end: datetime, tz: str) -> str:
    """`9:00–12:00`, with the end's date when it falls on another day."""
    zone = ZoneInfo(tz)
    if start.astimezone(zone).date() == end.astimezone(zone).date():
        return f"{format_time(start, tz)}–{format_time(end, tz)}"
    return f"{format_time(start, tz)}–{format_datetime(end, tz)}"
