"""What a webhook receives: a stable JSON event, or a line of text for Slack and Discord.

`event_data` builds the JSON (language-free; times in UTC ISO 8601 with the group's time
zone named); `body_for` turns it into the bytes one webhook gets, in its format and, for
text, its language and the group's clock.
"""

import json
from datetime import datetime

from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _

from studygroup.i18n import format_datetime, role_label
from studygroup.urls import external_url
from studygroup.webhooks.models import Webhook, WebhookFormat

DISCORD_MAX_CHARS = 2000
SERIES_LINES = 10  # sessions listed in a series' text; the rest as "and N more"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def group_data(group) -> dict:
    return {
        "slug": group.slug,
        "name": group.name,
        "url": external_url("groups.show", slug=group.slug),
        "timezone": group.timezone,
    }


def session_data(session) -> dict:
    return {
        "id": session.id,
        "title": session.title,
        "starts_at": _iso(session.starts_at),
        "ends_at": _iso(session.ends_at),
        "timezone": session.group.timezone,
        "status": session.status.value,
        "url": external_url("sessions.show", slug=session.group.slug, session_id=session.id),
        "venue": session.venue,
    }


def event_data(event: str, key: str, *, group, now: datetime, **about) -> dict:
    """The JSON event: `event`, `id` (its key: the same event has the same id), `occurred_at`,
    `group`, then what it is about (`session`, `sessions`, `role`, ...)."""
    return {
        "event": event,
        "id": key,
        "occurred_at": _iso(now),
        "group": group_data(group),
        **about,
    }


def role_data(slot, *, filled: int) -> dict:
    """The role's name in both languages (a built-in role's differ; a renamed one's do not)."""
    names = {}
    for language in ("en", "ja"):
        with force_locale(language):
            names[language] = role_label(slot.role_type)
    return {
        "id": slot.id,
        "name": names["en"],
        "names": names,
        "key": slot.role_type.key,
        "needed": slot.headcount,
        "filled": filled,
        "gaps": max(slot.headcount - filled, 0),
        "starts_at": _iso(slot.starts_at),
        "ends_at": _iso(slot.ends_at),
    }


def body_for(webhook: Webhook, data: dict) -> str:
    """The exact body `webhook` gets for the event `data`."""
    if webhook.format == WebhookFormat.JSON:
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    with force_locale(webhook.language):
        text = event_text(data, webhook.format)
    if webhook.format == WebhookFormat.SLACK:
        return json.dumps({"text": text}, ensure_ascii=False)
    if len(text) > DISCORD_MAX_CHARS:
        text = text[: DISCORD_MAX_CHARS - 1] + "…"
    return json.dumps({"content": text, "allowed_mentions": {"parse": []}}, ensure_ascii=False)


def _plain(fmt: WebhookFormat, text: str) -> str:
    """Text as text: Slack's mrkdwn reads &, < and > (`<!channel>` would notify everyone).
    Discord's mentions are switched off by the payload's `allowed_mentions`."""
    if fmt == WebhookFormat.SLACK:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _link(fmt: WebhookFormat, url: str, title: str) -> str:
    if fmt == WebhookFormat.SLACK:
        return f"<{url}|{_plain(fmt, title)}>"
    # Discord: a masked link; the <> around the URL stop its preview.
    title = title.replace("[", "(").replace("]", ")")
    return f"[{title}](<{url}>)"


def _when(item: dict, group: dict, key: str = "starts_at") -> str:
    return format_datetime(datetime.fromisoformat(item[key]), group["timezone"])


def _role_name(role: dict) -> str:
    return role["names"].get(str(get_locale()), role["name"])


def event_text(data: dict, fmt: WebhookFormat) -> str:
    """One message in the current locale (the webhook's language), times on the group's clock."""
    group = data["group"]
    event = data["event"]
    session = data.get("session")
    link = _link(fmt, session["url"], session["title"]) if session else ""
    when = _when(session, group) if session else ""
    values = {"group": _plain(fmt, group["name"]), "session": link, "when": when}
    if event == "session.posted":
        return _("%(group)s: new session %(session)s, %(when)s", **values)
    if event == "series.posted":
        sessions = data["sessions"]
        lines = [
            ngettext(
                "%(group)s: %(num)d session posted",
                "%(group)s: %(num)d sessions posted",
                len(sessions),
                group=values["group"],
            )
        ]
        lines += [
            f"• {_link(fmt, s['url'], s['title'])}, {_when(s, group)}"
            for s in sessions[:SERIES_LINES]
        ]
        if len(sessions) > SERIES_LINES:
            lines.append(_("and %(num)d more", num=len(sessions) - SERIES_LINES))
        return "\n".join(lines)
    if event == "session.moved":
        previous = data.get("previous_starts_at")
        if previous:
            was = format_datetime(datetime.fromisoformat(previous), group["timezone"])
            return _("%(group)s: %(session)s moved to %(when)s (was %(was)s)", was=was, **values)
        return _("%(group)s: %(session)s moved to %(when)s", **values)
    if event == "session.cancelled":
        return _("%(group)s: %(session)s on %(when)s is cancelled", **values)
    if event == "role.gaps":
        role = data["role"]
        return ngettext(
            "%(group)s: %(role)s at %(session)s (%(when)s) still needs %(num)d person",
            "%(group)s: %(role)s at %(session)s (%(when)s) still needs %(num)d people",
            role["gaps"],
            role=_plain(fmt, _role_name(role)),
            **values,
        )
    if event == "place.freed":
        return _(
            "%(group)s: a place freed up as %(role)s at %(session)s (%(when)s)",
            role=_plain(fmt, _role_name(data["role"])),
            **values,
        )
    return _("%(group)s: a test event from studygroup. This webhook works.", group=values["group"])
