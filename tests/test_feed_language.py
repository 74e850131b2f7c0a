"""A members-only group's feed, opened by one member's own link, speaks that member's language
as their own feed does: their setting, else the link's `?lang`, else their last page language,
else the site's default. Calendar clients send no Accept-Language."""

import sqlalchemy as sa

from studygroup.calendar import tokens
from studygroup.extensions import db
from studygroup.groups.models import Membership, Visibility


def _link(group, member) -> str:
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.group_id == group.id, Membership.user_id == member.id
        )
    )
    return f"/calendar/group/{tokens.group_link_token(membership, group, member)}.ics"


def _language(client, url: str) -> str:
    body = client.get(url).get_data(as_text=True)
    if "X-WR-CALDESC:Sessions of Inner circle on studygroup" in body:
        return "en"
    if "X-WR-CALDESC:Inner circle の開催回" in body:
        return "ja"
    raise AssertionError(body)


def test_the_group_feed_speaks_the_language_of_the_member_whose_link_it_is(
    make, client, app, count_queries
):
    group = make.group(name="Inner circle", visibility=Visibility.MEMBERS)
    english = make.member(group, make.user(locale="en"))
    japanese = make.member(group, make.user(locale="ja"))
    follows_browser = make.member(group, make.user())
    follows_browser.last_locale = "en"  # their last visit was in English
    never_said = make.member(group, make.user())
    db.session.commit()
    make.session(group)

    assert _language(client, _link(group, english)) == "en"
    assert _language(client, _link(group, english) + "?lang=ja") == "en"  # their own choice
    assert _language(client, _link(group, japanese) + "?lang=en") == "ja"
    assert _language(client, _link(group, follows_browser)) == "en"
    assert _language(client, _link(group, follows_browser) + "?lang=ja") == "ja"
    assert _language(client, _link(group, never_said)) == "ja"  # DEFAULT_READER_LOCALE
    assert _language(client, _link(group, never_said) + "?lang=en") == "en"

    # A poll of an unchanged feed still asks the database two things: the link (membership,
    # group and member in one query) and the version.
    url = _link(group, english)
    client.get(url)
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    assert queries.count == 2
