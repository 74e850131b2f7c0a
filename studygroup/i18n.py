"""Language and time formatting. Dates always go through Babel, in the group's zone; built-in role
names in the reader's language."""

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from studygroup.db import unreachable_in_this_request


def select_locale() -> str:
    """The user's setting (while the database is unreachable: the copy in the session
    cookie), then the language chosen on the page, then Accept-Language."""
    supported = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.path.startswith("/api/"):
        # Here: i18n sits below every feature; the API door (Spectree, pydantic) stays out
        # of the imports of every module that formats a date.
        from studygroup.api.auth import api_locale

        return api_locale()
    if unreachable_in_this_request():
        own = session.get(MEMBER_LOCALE_KEY)  # the member cannot be loaded: the cookie's copy
        if own in supported:
            return own
    user = _known_user()
    if user is not None and user.locale in supported:
        return user.locale
    return visitor_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]


# The member's own language setting, kept in the signed session cookie too: the page for an
# unreachable database cannot load the member, yet must speak their language.
MEMBER_LOCALE_KEY = "member_lang"


def keep_member_locale(user) -> None:
    """Keep (or drop) the member's own language setting in the session cookie. Writes the
    cookie only when it changed."""
    own = user.locale if user.locale in current_app.config["LANGUAGES"] else None
    if own is None:
        forget_member_locale()
    elif session.get(MEMBER_LOCALE_KEY) != own:
        session[MEMBER_LOCALE_KEY] = own


def forget_member_locale() -> None:
    """At logout: the browser's own language applies again."""
    if MEMBER_LOCALE_KEY in session:  # a pop alone would send the cookie again
        session.pop(MEMBER_LOCALE_KEY)


def visitor_locale() -> str | None:
    """The language this visit asks for, setting aside any account's: the one chosen on the
    page, else the browser's (Accept-Language); None when the request says nothing we speak."""
    supported = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in supported:
        return chosen
    return request.accept_languages.best_match(supported)


def locale_of(user) -> str:
    """The language of what reaches a member outside a page (emails): their own setting, else
    the page language of their last visit (members who follow their browser), else
    `DEFAULT_READER_LOCALE`."""
    supported = current_app.config["LANGUAGES"]
    for locale in (user.locale, user.last_locale):
        if locale in supported:
            return locale
    return current_app.config["DEFAULT_READER_LOCALE"]


def select_timezone() -> str:
    user = _known_user() if has_request_context() else None
    if user is not None:
        return user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def _known_user():
    """The logged-in member, or None. None too while the database is unreachable: the error
    page then never loads the user (`select_locale` reads the session cookie instead)."""
    if unreachable_in_this_request():
        return None
    if current_user and current_user.is_authenticated:
        return current_user
    return None


# The glossary's forms: `2026年12月19日(土) 9:00` and `Sat 19 Dec 2026, 09:00`. Babel formats
# them (names of days and months come from its locale data); only the order is chosen here.
PATTERNS = {
    "ja": {"date": "y年M月d日(E)", "time": "H:mm", "joiner": " ", "month": "y年M月"},
    "en": {"date": "EEE d MMM y", "time": "HH:mm", "joiner": ", ", "month": "MMM y"},
}


def _patterns() -> tuple[str, dict[str, str]]:
    locale = str(get_locale())
    return locale, PATTERNS.get(locale, PATTERNS["en"])


@lru_cache(maxsize=8192)
def _formatted(value: datetime, pattern: str, tz: str, locale: str) -> str:
    # A page of a hundred co-workers formats the same few hundred dates on every request;
    # Babel takes tens of microseconds each, a dictionary look-up none.
    return babel_format_datetime(value, pattern, tzinfo=ZoneInfo(tz), locale=locale)


def format_date(value: datetime, tz: str) -> str:
    locale, patterns = _patterns()
    return _formatted(value, patterns["date"], tz, locale)


def format_month(value: datetime, tz: str) -> str:
    """`2027年1月` / `Jan 2027`: when an introduction was made, on a co-worker page."""
    locale, patterns = _patterns()
    return _formatted(value, patterns["month"], tz, locale)


def format_time(value: datetime, tz: str, *, offset: bool = False) -> str:
    """`9:00`; with the UTC offset, `1:30 (UTC−4)`, when asked or when the clock shows this
    time twice (the hour that repeats when clocks go back): the offset says which pass."""
    locale, patterns = _patterns()
    zone = ZoneInfo(tz)
    text = _formatted(value, patterns["time"], tz, locale)
    if offset or shows_twice(value, zone):
        return f"{text} ({utc_offset(value, zone)})"
    return text


def format_datetime(value: datetime, tz: str, *, offset: bool = False) -> str:
    _locale, patterns = _patterns()
    return f"{format_date(value, tz)}{patterns['joiner']}{format_time(value, tz, offset=offset)}"


def format_time_range(start: datetime, end: datetime, tz: str) -> str:
    """`9:00–12:00`, with the end's date when it falls on another day, and both ends' UTC
    offsets when the clock changes in between or either end is in a repeated hour:
    `1:30 (UTC−4)–1:15 (UTC−5)`, not `1:30–1:15`."""
    zone = ZoneInfo(tz)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    offset = (
        local_start.utcoffset() != local_end.utcoffset()
        or shows_twice(start, zone)
        or shows_twice(end, zone)
    )
    first = format_time(start, tz, offset=offset)
    if local_start.date() == local_end.date():
        return f"{first}–{format_time(end, tz, offset=offset)}"
    return f"{first}–{format_datetime(end, tz, offset=offset)}"


def utc_offset(value: datetime, zone: ZoneInfo) -> str:
    """`UTC+9`, `UTC−4`, `UTC+5:30` (a minus sign, as typeset)."""
    minutes = round(value.astimezone(zone).utcoffset().total_seconds() / 60)
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'−' if minutes < 0 else '+'}{hours}{f':{rest:02d}' if rest else ''}"


def shows_twice(value: datetime, zone: ZoneInfo) -> bool:
    """Whether the zone's clock shows this moment's local time twice: it falls in the hour
    that repeats when clocks go back (either pass), so the local time alone is ambiguous."""
    local = value.astimezone(zone)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


# Kana, kanji and the full-width forms: text a Japanese reader takes for Japanese.
JAPANESE_TEXT = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


def parentheses(text: str) -> tuple[str, str]:
    """The parentheses to put around `text`: on a Japanese page `（）` around Japanese text,
    as Japanese writes it; Latin and digits keep `()` in every language: `(UTC−4)`."""
    if str(get_locale()) == "ja" and JAPANESE_TEXT.search(text):
        return "（", "）"
    return "(", ")"


BUILT_IN_ROLE_NAMES = {
    "setup": _l("Setup"),
    "reception": _l("Reception"),
    "speaker": _l("Speaker"),
}


def role_label(role_type) -> str:
    """A renamed role shows its name; a built-in one shows in the reader's language."""
    return role_label_of(role_type.key, role_type.name)


def role_label_of(key: str | None, name: str) -> str:
    if name:
        return name
    return str(BUILT_IN_ROLE_NAMES.get(key or "", key or "?"))
