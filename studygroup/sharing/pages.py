"""The sharing data of the page being answered: its language and its absolute links. A
session page that takes participants adds one query (the seats taken)."""

from flask import current_app
from flask_babel import get_locale

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Group
from studygroup.paging import Page
from studygroup.participants.services import participant_counts
from studygroup.sessions.models import StudySession
from studygroup.sharing import services
from studygroup.urls import page_url


def session_page_share(
    group: Group, session: StudySession, *, registered: int | None = None
) -> services.Share | None:
    """`registered`: the seats taken, when the page counted them already (its Participants
    box); else counted here."""
    if not services.is_shared(group):
        return None
    if registered is None and session.takes_participants:
        registered, _capacity, _waitlisted = participant_counts(db.session, [session])[session.id]
    return services.session_share(
        group, session, **_this_page(), registered=registered, now=utcnow()
    )


def group_page_share(group: Group, shown: Page[StudySession]) -> services.Share | None:
    """`shown`: the page of upcoming sessions the group page lists. Its first page holds the
    next sessions already (no query). A later page names no events: its canonical link sends
    crawlers and link previews to the first page, so it need not ask for them again."""
    if not services.is_shared(group):
        return None
    upcoming = list(shown.items[: services.GROUP_EVENTS]) if shown.number == 1 else []
    return services.group_share(group, upcoming, **_this_page())


def _this_page() -> dict:
    """What both shares take from the request: absolute links, its language, the languages."""
    return {
        "url": page_url,
        "locale": str(get_locale()),
        "languages": current_app.config["LANGUAGES"],
    }
