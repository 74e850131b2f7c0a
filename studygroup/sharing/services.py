"""What a shared page says about itself: Open Graph and Twitter card tags, schema.org JSON-LD
and the card's text. Plain functions: the group, the session and absolute links in, data
out; formatting follows the current locale (the page's, or the card's under force_locale)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from studygroup.groups.models import Group, Visibility
from studygroup.i18n import format_date, format_time_range
from studygroup.sessions.models import SessionStatus, StudySession
from studygroup.sharing.card import HEIGHT, WIDTH, CardText

UrlFor = Callable[..., str]  # an absolute link: url(endpoint, **values)

SCHEMA = "https://schema.org/"
OG_LOCALES = {"ja": "ja_JP", "en": "en_US"}
DESCRIPTION_CHARS = 150
# How many upcoming sessions a group page lists in its JSON-LD.
GROUP_EVENTS = 5


def is_shared(group: Group) -> bool:
    """Only a public group's pages carry tags and cards: a members-only group's title and
    dates must not reach a crawler or a chat preview (its pages are 404 to outsiders)."""
    return group.visibility == Visibility.PUBLIC


def card_locale(group: Group, asked: str | None, languages) -> str:
    """The card's language: the one the link asks for (a page's og:image carries the page's
    `?lang=`), else Japanese for a group on Japan's clock, else English."""
    if asked in languages:
        return asked
    return "ja" if group.timezone == "Asia/Tokyo" else "en"


def upcoming_events(
    db_session: Session, group: Group, *, now: datetime, limit: int = GROUP_EVENTS
) -> list[StudySession]:
    """The group's next sessions not yet over (cancelled ones too: their status says so),
    soonest first, in one query."""
    return list(
        db_session.scalars(
            sa.select(StudySession)
            .where(StudySession.group_id == group.id, StudySession.ends_at >= now)
            .order_by(StudySession.starts_at, StudySession.id)
            .limit(limit)
        )
    )


def excerpt(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """`text` on one line, cut to about `limit` characters with "…" (between words when the
    text has spaces near the cut, anywhere in Japanese)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.7:
        cut = cut[:space]
    return cut.rstrip(" 、。,.;:") + "…"


def when(session: StudySession, group: Group) -> str:
    """`2026年12月19日(土) 10:00–12:00` / `Sat 19 Dec 2026, 10:00–12:00`."""
    tz = group.timezone
    joiner = " " if _locale_is_ja() else ", "
    return f"{format_date(session.starts_at, tz)}{joiner}" + format_time_range(
        session.starts_at, session.ends_at, tz
    )


def _locale_is_ja() -> bool:
    return str(get_locale()) == "ja"


def status_badge(session: StudySession) -> str:
    if session.status == SessionStatus.CANCELLED:
        return _("Cancelled")
    if session.status == SessionStatus.NOT_HELD:
        return _("Not held")
    return ""


def session_card_text(group: Group, session: StudySession) -> CardText:
    return CardText(
        title=session.title,
        group=group.name,
        when=when(session, group),
        venue=session.venue,
        badge=status_badge(session),
    )


def group_card_text(group: Group, next_session: StudySession | None) -> CardText:
    """The group's name as the title; its next session, if any, below."""
    if next_session is None:
        return CardText(title=group.name, group="", venue=group.default_venue)
    return CardText(
        title=group.name,
        group="",
        when=_("Next: %(when)s", when=when(next_session, group)),
        venue=excerpt(next_session.title, 60),
    )


@dataclass
class Share:
    """A page's sharing data: `meta` as (attribute, key, content) for <meta> tags, and the
    JSON-LD object (the template encodes it)."""

    url: str
    title: str
    description: str
    image: str
    image_alt: str
    locale: str
    json_ld: dict
    meta: list[tuple[str, str, str]] = field(default_factory=list)


def _meta(share: Share, languages) -> list[tuple[str, str, str]]:
    tags = [
        ("property", "og:type", "website"),
        ("property", "og:site_name", "studygroup"),
        ("property", "og:title", share.title),
        ("property", "og:description", share.description),
        ("property", "og:url", share.url),
        ("property", "og:locale", OG_LOCALES.get(share.locale, "en_US")),
    ]
    tags += [
        ("property", "og:locale:alternate", OG_LOCALES[other])
        for other in languages
        if other != share.locale and other in OG_LOCALES
    ]
    tags += [
        ("property", "og:image", share.image),
        ("property", "og:image:type", "image/png"),
        ("property", "og:image:width", str(WIDTH)),
        ("property", "og:image:height", str(HEIGHT)),
        ("property", "og:image:alt", share.image_alt),
        ("name", "twitter:card", "summary_large_image"),
        ("name", "twitter:title", share.title),
        ("name", "twitter:description", share.description),
        ("name", "twitter:image", share.image),
        ("name", "twitter:image:alt", share.image_alt),
    ]
    return tags


def iso(value: datetime, tz: str) -> str:
    """ISO 8601 with the group's offset: `2026-12-19T10:00:00+09:00`."""
    return value.astimezone(ZoneInfo(tz)).isoformat()


def event_status(session: StudySession) -> str:
    # Not held: its time came and it did not take place; for a search engine, called off.
    if session.status in (SessionStatus.CANCELLED, SessionStatus.NOT_HELD):
        return SCHEMA + "EventCancelled"
    if session.previous_starts_at is not None:
        return SCHEMA + "EventRescheduled"
    return SCHEMA + "EventScheduled"


def _event(session: StudySession, group: Group, url: UrlFor) -> dict:
    data = {
        "@type": "Event",
        "name": session.title,
        "startDate": iso(session.starts_at, group.timezone),
        "endDate": iso(session.ends_at, group.timezone),
        "eventStatus": event_status(session),
        "eventAttendanceMode": SCHEMA + "OfflineEventAttendanceMode",
        "url": url("sessions.show", slug=group.slug, session_id=session.id),
    }
    if session.previous_starts_at is not None:
        data["previousStartDate"] = iso(session.previous_starts_at, group.timezone)
    if session.venue:
        # The venue is one free text (a place's name and often its address): both fields.
        data["location"] = {"@type": "Place", "name": session.venue, "address": session.venue}
    return data


def session_share(
    group: Group,
    session: StudySession,
    *,
    url: UrlFor,
    locale: str,
    languages,
    registered: int | None,
    now: datetime,
) -> Share:
    """Tags and JSON-LD of a public session page. `registered`: participants holding a seat
    when the session takes participants."""
    page = url("sessions.show", slug=group.slug, session_id=session.id)
    image = url("sharing.session_card", slug=group.slug, session_id=session.id, lang=locale)
    badge = status_badge(session)
    # A preview must not look like an invitation to a session that will not take place.
    title = (
        _("%(status)s: %(title)s", status=badge, title=session.title) if badge else session.title
    )
    facts = " · ".join(part for part in (when(session, group), session.venue) if part)
    description = excerpt(f"{facts} — {session.description}" if session.description else facts)
    event = {
        "@context": "https://schema.org",
        **_event(session, group, url),
        "organizer": {
            "@type": "Organization",
            "name": group.name,
            "url": url("groups.show", slug=group.slug),
        },
        "image": [image],
        "description": excerpt(session.description or facts, 300),
        "inLanguage": locale,
    }
    if session.takes_participants and registered is not None:
        remaining = max(session.participant_capacity - registered, 0)
        event["maximumAttendeeCapacity"] = session.participant_capacity
        event["remainingAttendeeCapacity"] = remaining
        if session.is_scheduled and session.starts_at > now:
            # No price: the app does not know what a group charges (often nothing, or the
            # party after), so none is claimed.
            event["offers"] = {
                "@type": "Offer",
                "url": page,
                "availability": SCHEMA + ("InStock" if remaining else "SoldOut"),
            }
    share = Share(
        url=page,
        title=title,
        description=description,
        image=image,
        image_alt=f"{session.title} — {facts}",
        locale=locale,
        json_ld=event,
    )
    share.meta = _meta(share, languages)
    return share


def group_share(
    group: Group,
    upcoming: list[StudySession],
    *,
    url: UrlFor,
    locale: str,
    languages,
) -> Share:
    """Tags and an Organization with its upcoming events for a public group page; the
    description is the group's own, cut short, and its next session."""
    page = url("groups.show", slug=group.slug)
    image = url("sharing.group_card", slug=group.slug, lang=locale)
    scheduled = [s for s in upcoming if s.is_scheduled]
    parts = []
    if group.description.strip():
        parts.append(excerpt(group.description))
    if scheduled:
        next_one = scheduled[0]
        parts.append(
            _("Next session: %(when)s, %(title)s", when=when(next_one, group), title=next_one.title)
        )
    description = " · ".join(parts) or group.name
    organization = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": group.name,
        "url": page,
        "image": image,
        "event": [_event(session, group, url) for session in upcoming],
    }
    if group.description.strip():
        organization["description"] = excerpt(group.description, 300)
    share = Share(
        url=page,
        title=group.name,
        description=description,
        image=image,
        image_alt=group.name,
        locale=locale,
        json_ld=organization,
    )
    share.meta = _meta(share, languages)
    return share
