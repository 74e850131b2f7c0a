"""Time zones as people name them. Stored values are IANA names (`Asia/Tokyo`); pages and
emails show Babel's name in the reader's language (`日本時間（東京）`, `Japan Time (Tokyo)`), and
the select offers the zones of tzdata's zone.tab, common ones first, without the
backward-compatible aliases (`Asia/Calcutta`, `America/Buenos_Aires`...) that
`zoneinfo.available_timezones()` also holds. A stored alias keeps working."""

from datetime import datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.dates import get_timezone_location
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from studygroup.i18n import utc_offset

# Where this site's members mostly live, offered first (the rest follow by UTC offset).
COMMON_ZONES = (
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Taipei",
    "Asia/Singapore",
    "Australia/Sydney",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
)


@cache
def timezone_names() -> tuple[str, ...]:
    """The zones to choose from: those tzdata's zone.tab lists (one or more per country,
    under their current names) and UTC."""
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in table.splitlines() if not line.startswith("#"))
    listed = {row[2] for row in rows if len(row) > 2}
    return tuple(sorted((listed & available_timezones()) | {"UTC"}))


@cache
def _valid_names() -> frozenset[str]:
    return frozenset(n for n in available_timezones() if "/" in n and not n.startswith("Etc/"))


def is_timezone(name: str) -> bool:
    """A zone we store: any IANA name with a region (old aliases included), or UTC."""
    return name in _valid_names() or name == "UTC"


def zone_name(zone: str) -> str:
    """The zone in the reader's language: `日本時間（東京）`, `Japan Time (Tokyo)`,
    `ドイツ（ベルリン）時間`, `協定世界時（UTC）`; the IANA name if Babel knows none."""
    return _zone_name(zone, str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]))


@cache
def _zone_name(zone: str, locale: str) -> str:
    data = Locale.parse(locale)
    both = data.zone_formats["fallback"]  # a name, then a place in brackets: "%(1)s（%(0)s）"
    if zone == "UTC":
        return both % {"0": "UTC", "1": data.time_zones["Etc/UTC"]["long"]["standard"]}
    try:
        region = get_timezone_location(zone, locale=data)
        city = get_timezone_location(zone, locale=data, return_city=True)
    except LookupError:
        return zone
    # Countries with one zone are named without their city ("日本時間"): add it.
    return both % {"0": city, "1": region} if city and city not in region else region


def timezone_choices(now: datetime, current: str | None = None) -> dict[str, list]:
    """The time-zone select, in the reader's language, as option groups: the common zones,
    then every other by its UTC offset at `now`, each as `UTC+9 日本時間（東京）`. A stored
    zone that is not on the list (an old alias) comes first, so saving keeps it."""
    listed = timezone_names()
    common = list(COMMON_ZONES)
    if current and current not in listed and is_timezone(current):
        common.insert(0, current)

    def offset(name: str) -> float:
        return now.astimezone(ZoneInfo(name)).utcoffset().total_seconds()

    def label(name: str) -> str:
        return (
            zone_name(name)
            if name == "UTC"
            else f"{utc_offset(now, ZoneInfo(name))} {zone_name(name)}"
        )

    others = sorted((n for n in listed if n not in common), key=lambda n: (offset(n), zone_name(n)))
    return {
        _("Common time zones"): [(n, label(n)) for n in common],
        _("Other time zones"): [(n, label(n)) for n in others],
    }
