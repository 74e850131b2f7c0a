"""The Japanese UI reads like a Japanese product (Japanese-language trial: R26, T9, T13, T14,
T18): one word for "not held", full-width parentheses around Japanese, さん for other people
but never for oneself, counters right after their number, short headings with the glossary's
words, and a network page that says plainly what its lines mean."""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from studygroup.extensions import db
from studygroup.signups.organizing import assign
from tests.factories import slots_of
from tests.test_calendar import JA, crew, member_body, parse  # noqa: F401 (crew: a fixture)

NOW = datetime.now(UTC)
CATALOG = Path(__file__).resolve().parent.parent / "studygroup/translations/ja/LC_MESSAGES"
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")
NOT_HELD = "不開催"  # SessionStatus.NOT_HELD; 中止 is a session cancelled beforehand


def _translations() -> list[tuple[str, str]]:
    """(English, Japanese) for every text of the ja catalog, plural forms joined."""
    with (CATALOG / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="ja")
    return [(_joined(m.id), _joined(m.string)) for m in catalog if m.id]


def _joined(text: str | tuple[str, ...]) -> str:
    return " / ".join(text) if isinstance(text, tuple) else text


def _h2s(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page)]


# --- the catalog as a whole ---------------------------------------------------------------


def test_not_held_is_one_word_and_never_cancelled():
    """Every text about a session that did not take place says 不開催; 中止 appears only where
    the English speaks of cancelling too."""
    wrong = [
        (english, japanese)
        for english, japanese in _translations()
        if "not held" in english.lower()
        and (NOT_HELD not in japanese or ("中止" in japanese and "cancel" not in english.lower()))
    ]
    assert wrong == []


def test_japanese_text_has_full_width_parentheses():
    """（…） around Japanese; ( ) only around Latin and digits, such as (UTC−4) or (.ics)."""
    inside = re.compile(r"\(([^()]*)\)")
    half_width = [j for _, j in _translations() if any(map(JAPANESE.search, inside.findall(j)))]
    assert half_width == []


def test_counters_follow_their_number():
    """3人, 12回, 5件: no space between a number and its counter."""
    spaced = re.compile(r"%\(\w+\)d\s+[人回件個日分時秒年か]")
    assert [j for _, j in _translations() if spaced.search(j)] == []


# --- さん for others, never for oneself ---------------------------------------------------


def test_a_japanese_feed_names_others_with_san_and_full_width_parentheses(crew):  # noqa: F811
    _organizer, _group, aoi, _ben, _session, _place = crew
    ja = parse(member_body(aoi, options=JA))
    description = ja.contents["vevent"][0].description.value
    assert "一緒に活動する人: Benさん（設営）\n" in description
    # The feed is Aoi's own: her name takes no さん.
    assert ja.contents["x-wr-caldesc"][0].value == "Aoiが申し込んだ役割"
    en = parse(member_body(aoi))
    description = en.contents["vevent"][0].description.value
    assert "Also working: Ben (Setup)\n" in description
    assert "さん" not in description and "（" not in description and "、" not in description
    assert en.contents["x-wr-caldesc"][0].value == "The roles Aoi has signed up for"


def test_ones_own_picture_says_you_and_anothers_says_san(client, auth, make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    session = make.session(group, day=date.today() - timedelta(days=10))
    ai = make.member(group, make.user(display_name="Ai", locale="ja"))
    bo = make.member(group, make.user(display_name="Bo", locale="ja"))
    for person in (ai, bo):
        assign(
            db.session, organizer=organizer, member=person, slot=slots_of(session)["setup"], now=NOW
        )
    db.session.commit()
    auth.login_as(ai)
    own = client.get(f"/people/{ai.id}/coworkers").get_data(as_text=True)
    assert "あなたを中心に、周りに1人" in own and "Aiさん" not in own
    together = client.get(f"/people/{ai.id}/coworkers/{bo.id}").get_data(as_text=True)
    assert "<h1>Boさんと一緒に活動した開催回</h1>" in together
    organizer.locale = "ja"
    db.session.commit()
    auth.login_as(organizer)
    theirs = client.get(f"/people/{ai.id}/coworkers").get_data(as_text=True)
    assert "Aiさんを中心に、周りに1人" in theirs


@pytest.mark.parametrize("locale, you", [("ja", "（あなた）"), ("en", " (you)")])
def test_the_members_list_marks_you_in_the_readers_parentheses(client, auth, make, locale, you):
    organizer = make.user(display_name="Org", locale=locale)
    group = make.group(organizer)
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/members").get_data(as_text=True)
    assert f'<span class="muted">{you}</span>' in page


@pytest.mark.parametrize(
    "locale, line",
    [("ja", "開催回: Meetup（中止）\n"), ("en", "Session: Meetup (Cancelled)\n")],
)
def test_a_cancellation_email_puts_the_status_in_the_readers_parentheses(
    client, auth, make, smtp_server, locale, line
):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group, make.user("on-it@example.com", locale=locale))
    session = make.session(group, day=date.today() + timedelta(days=10), title="Meetup")
    assign(db.session, organizer=organizer, member=member, slot=slots_of(session)["setup"], now=NOW)
    db.session.commit()
    auth.login_as(organizer)
    client.post(f"/g/{group.slug}/sessions/{session.id}/cancel")
    email = smtp_server.to("on-it@example.com")[-1].get_content()
    assert line in email.replace("\r\n", "\n")


# --- headings and the network page --------------------------------------------------------


def test_the_group_page_has_short_headings_in_the_glossarys_words(client, auth, make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    make.session(group, day=date.today() + timedelta(days=5))
    make.session(group, day=date.today() - timedelta(days=5))
    member = make.member(group, make.user(locale="ja"))
    auth.login_as(member)
    page = client.get(f"/g/{group.slug}").get_data(as_text=True)
    assert _h2s(page) == ["今後の開催回", "カレンダー配信", "過去の開催回"]
    assert '<p class="count">全1回</p>' in page


def test_the_network_page_says_what_its_lines_mean(client, auth, make):
    organizer = make.user(display_name="Org", locale="ja")
    group = make.group(organizer)
    session = make.session(group, day=date.today() - timedelta(days=10))
    people = [make.member(group, make.user(display_name=n)) for n in ("Ai", "Bo", "Cy")]
    for person in people[:2]:
        assign(
            db.session, organizer=organizer, member=person, slot=slots_of(session)["setup"], now=NOW
        )
    db.session.commit()
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/network").get_data(as_text=True)
    assert "<h1>メンバーのつながり</h1>" in page
    assert "線が太く濃いほど、同じ役割・時間帯で一緒に活動した回数が多い" in page
    assert "よく一緒に活動する顔ぶれ" in page
    assert "図には入っていません" in page  # Cy and the organizer, who worked with no one
