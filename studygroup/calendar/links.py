"""Subscribe links for pages: the https URL, its webcal:// twin, and Google Calendar's."""

from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from studygroup.auth.models import User
from studygroup.calendar import tokens
from studygroup.groups.models import Group, Membership, Visibility
from studygroup.urls import page_url


@dataclass(frozen=True)
class Subscription:
    url: str  # the plain https URL, to copy into any client
    # The token key changed since the link was made: it no longer opens; make a new one.
    stale: bool = False

    @property
    def webcal(self) -> str:
        # webcal:// makes Apple Calendar, Outlook and Thunderbird offer to subscribe.
        return urlunsplit(("webcal", *urlsplit(self.url)[1:]))

    @property
    def google(self) -> str:
        return "https://calendar.google.com/calendar/render?cid=" + quote(self.webcal, safe="")


def member_subscription(member: User, *, lang: str) -> Subscription:
    """`lang`: the page's language, for members whose profile follows their browser (a
    calendar client sends none); a member's own language setting wins over it."""
    url = page_url("calendar.member_feed", token=tokens.token_of(member), lang=lang)
    return Subscription(url, stale=not tokens.token_is_current(member))


def group_subscription(
    group: Group, membership: Membership | None, member: User | None, *, lang: str
) -> Subscription | None:
    """Public groups: the public URL, for anyone. Members-only groups: the member's own
    secret link, for active members only."""
    if group.visibility == Visibility.PUBLIC:
        return Subscription(page_url("calendar.public_group_feed", slug=group.slug, lang=lang))
    if membership is not None and membership.is_active and member is not None:
        token = tokens.group_link_token(membership, group, member)
        return Subscription(page_url("calendar.group_feed", token=token, lang=lang))
    return None
