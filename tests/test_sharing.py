"""Pages worth sharing: the tags and JSON-LD a crawler reads (with extruct, as one would), the
card image behind og:image, and what a members-only group keeps to itself."""

import io
import json
import logging
import re
from datetime import UTC, date, datetime, time, timedelta

import extruct
import pytest
from PIL import Image

from studygroup.extensions import db
from studygroup.groups.models import Visibility
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.sessions.services import cancel_session, update_session
from studygroup.sharing import card, fonts, services

SCHEMA = "https://schema.org/"
NEXT_MONTH = date.today() + timedelta(days=30)


def _page(client, path: str, lang: str = "ja") -> str:
    response = client.get(path, headers={"Accept-Language": lang})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _read(html: str) -> tuple[dict, list[dict]]:
    """The Open Graph properties and the JSON-LD objects, as extruct reads them."""
    data = extruct.extract(html, syntaxes=["json-ld", "opengraph"], uniform=True)
    og = data["opengraph"][0] if data["opengraph"] else {}
    return og, data["json-ld"]


def _named(html: str) -> dict[str, str]:
    """<meta name=...> tags (Twitter's), which Open Graph parsers leave out."""
    return dict(re.findall(r'<meta name="([^"]+)" content="([^"]*)"', html))


def _event(html: str) -> dict:
    _og, json_ld = _read(html)
    (event,) = json_ld
    assert event["@type"] == "Event"
    return event


@pytest.fixture
def shared(make):
    group = make.group(name="東京Python勉強会", slug="tokyo-python")
    session = make.session(group, day=NEXT_MONTH, title="第12回 もくもく会")
    return group, session


def test_a_public_session_page_carries_its_card_tags_in_the_page_language(client, shared):
    group, session = shared
    path = f"/g/{group.slug}/sessions/{session.id}"
    html = _page(client, path, "ja")
    og, _json_ld = _read(html)
    assert og["og:title"] == "第12回 もくもく会"
    assert og["og:url"] == f"http://localhost{path}"
    assert og["@type"] == "website"  # extruct's uniform name for og:type
    assert og["og:site_name"] == "studygroup"
    assert og["og:locale"] == "ja_JP"
    assert og["og:image"] == f"http://localhost{path}/card.png?lang=ja"
    assert (og["og:image:width"], og["og:image:height"]) == ("1200", "630")
    assert "第12回 もくもく会" in og["og:image:alt"]
    # Date, time and venue, in Japanese, in the group's zone.
    day = NEXT_MONTH
    assert og["og:description"].startswith(f"{day.year}年{day.month}月{day.day}日(")
    assert "10:00–12:00 · Community hall" in og["og:description"]
    twitter = _named(html)
    assert twitter["twitter:card"] == "summary_large_image"
    assert twitter["twitter:image"] == og["og:image"]
    assert twitter["twitter:title"] == og["og:title"]
    assert twitter["twitter:description"] == og["og:description"]

    en = _page(client, path, "en")
    og_en, _ = _read(en)
    assert og_en["og:locale"] == "en_US"
    assert og_en["og:image"].endswith("/card.png?lang=en")
    assert og_en["og:description"].startswith(NEXT_MONTH.strftime("%a ").lstrip("0"))
    assert ", 10:00–12:00 · Community hall" in og_en["og:description"]


def test_session_json_ld_is_an_event_with_the_groups_offset(client, shared):
    group, session = shared
    event = _event(_page(client, f"/g/{group.slug}/sessions/{session.id}"))
    assert event["name"] == "第12回 もくもく会"
    assert event["startDate"] == f"{NEXT_MONTH.isoformat()}T10:00:00+09:00"
    assert event["endDate"] == f"{NEXT_MONTH.isoformat()}T12:00:00+09:00"
    assert event["eventStatus"] == SCHEMA + "EventScheduled"
    assert event["eventAttendanceMode"] == SCHEMA + "OfflineEventAttendanceMode"
    assert event["location"] == {
        "@type": "Place",
        "name": "Community hall",
        "address": "Community hall",
    }
    assert event["organizer"] == {
        "@type": "Organization",
        "name": "東京Python勉強会",
        "url": "http://localhost/g/tokyo-python",
    }
    assert event["url"] == f"http://localhost/g/tokyo-python/sessions/{session.id}"
    assert event["image"] == [
        f"http://localhost/g/tokyo-python/sessions/{session.id}/card.png?lang=ja"
    ]
    assert event["inLanguage"] == "ja"
    assert "previousStartDate" not in event
    assert "offers" not in event  # takes no participants


def test_another_zone_gives_its_own_offset(client, make):
    group = make.group(timezone="America/New_York")
    session = make.session(group, day=date(2027, 1, 15))
    event = _event(_page(client, f"/g/{group.slug}/sessions/{session.id}"))
    assert event["startDate"] == "2027-01-15T10:00:00-05:00"


def test_cancelled_and_moved_sessions_say_so(client, shared):
    group, session = shared
    path = f"/g/{group.slug}/sessions/{session.id}"
    old_start = session.starts_at
    update_session(
        db.session,
        session,
        title=session.title,
        starts_at=old_start + timedelta(days=7),
        ends_at=session.ends_at + timedelta(days=7),
        venue=session.venue,
        description="",
        now=datetime.now(UTC),
    )
    db.session.commit()
    assert session.previous_starts_at == old_start
    moved = _event(_page(client, path))
    assert moved["eventStatus"] == SCHEMA + "EventRescheduled"
    assert moved["previousStartDate"] == f"{NEXT_MONTH.isoformat()}T10:00:00+09:00"
    later = NEXT_MONTH + timedelta(days=7)
    assert moved["startDate"] == f"{later.isoformat()}T10:00:00+09:00"

    # Editing the title alone keeps the start it moved from.
    update_session(
        db.session,
        session,
        title="第12回 もくもく会（延期）",
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        venue=session.venue,
        description="",
        now=datetime.now(UTC),
    )
    db.session.commit()
    assert session.previous_starts_at == old_start

    cancel_session(session, now=datetime.now(UTC))
    db.session.commit()
    html = _page(client, path)
    assert _event(html)["eventStatus"] == SCHEMA + "EventCancelled"
    og, _ = _read(html)
    assert og["og:title"] == "【中止】第12回 もくもく会（延期）"
    og_en, _ = _read(_page(client, path, "en"))
    assert og_en["og:title"] == "Cancelled: 第12回 もくもく会（延期）"


def test_a_title_cannot_break_out_of_the_json_ld(client, make):
    group = make.group()
    title = '</script><script>alert("x")</script><!-- & \' 勉強会'
    session = make.session(group, title=title)
    html = _page(client, f"/g/{group.slug}/sessions/{session.id}")
    block = html[html.index('<script type="application/ld+json">') :]
    block = block[: block.index("</script>") + len("</script>")]
    # The only "</script>" is the element's own end, and the JSON inside is whole.
    assert "<" not in block[len('<script type="application/ld+json">') : -len("</script>")]
    assert json.loads(block[len('<script type="application/ld+json">') : -9])["name"] == title
    assert _event(html)["name"] == title
    assert "<script>alert" not in html
    og, _ = _read(html)
    assert og["og:title"] == title


def test_the_csp_needs_no_change_for_json_ld(client, shared):
    """A data block is not script: `script-src 'self'` without 'unsafe-inline' stays."""
    group, session = shared
    response = client.get(f"/g/{group.slug}/sessions/{session.id}")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp


def test_participants_capacity_and_remaining_seats(client, make, shared):
    group, session = shared
    session.participant_capacity = 3
    users = [make.user() for _ in range(4)]
    statuses = [
        ParticipantStatus.REGISTERED,
        ParticipantStatus.REGISTERED,
        ParticipantStatus.WAITLISTED,  # holds no seat
        ParticipantStatus.CANCELLED,
    ]
    for user, status in zip(users, statuses, strict=True):
        db.session.add(Participant(session_id=session.id, user_id=user.id, status=status))
    db.session.commit()
    path = f"/g/{group.slug}/sessions/{session.id}"
    event = _event(_page(client, path))
    assert event["maximumAttendeeCapacity"] == 3
    assert event["remainingAttendeeCapacity"] == 1
    assert event["offers"]["availability"] == SCHEMA + "InStock"
    assert event["offers"]["url"] == f"http://localhost{path}"

    db.session.add(Participant(session_id=session.id, user_id=make.user().id, status="registered"))
    db.session.commit()
    full = _event(_page(client, path))
    assert full["remainingAttendeeCapacity"] == 0
    assert full["offers"]["availability"] == SCHEMA + "SoldOut"


def test_the_group_page_shares_its_description_and_next_session(client, make):
    group = make.group(name="Tokyo Python Study")
    group.description = "Python好きが毎月集まる勉強会です。" * 20  # long: cut to ~150
    db.session.commit()
    first = make.session(group, day=NEXT_MONTH, title="もくもく会")
    cancel_session(first, now=datetime.now(UTC))
    db.session.commit()
    make.session(group, day=NEXT_MONTH + timedelta(days=7), title="LT大会")
    make.session(group, day=NEXT_MONTH + timedelta(days=14), title="ハンズオン")
    html = _page(client, f"/g/{group.slug}")
    og, json_ld = _read(html)
    assert og["og:title"] == "Tokyo Python Study"
    assert og["og:url"] == f"http://localhost/g/{group.slug}"
    assert og["og:image"] == f"http://localhost/g/{group.slug}/card.png?lang=ja"
    description, next_session = og["og:description"].split(" · ")
    assert description.endswith("…") and 100 < len(description) <= 150
    # The next session held, not the cancelled one before it.
    assert next_session.startswith("次回：") and next_session.endswith("「LT大会」")
    (organization,) = json_ld
    assert organization["@type"] == "Organization"
    assert organization["name"] == "Tokyo Python Study"
    events = organization["event"]
    assert [e["name"] for e in events] == ["もくもく会", "LT大会", "ハンズオン"]
    assert events[0]["eventStatus"] == SCHEMA + "EventCancelled"
    assert all(e["startDate"].endswith("+09:00") for e in events)


def test_members_only_groups_share_nothing_with_outsiders(client, auth, make):
    group = make.group(visibility=Visibility.MEMBERS, name="秘密の勉強会")
    session = make.session(group, title="非公開の回")
    paths = [
        f"/g/{group.slug}",
        f"/g/{group.slug}/sessions/{session.id}",
        f"/g/{group.slug}/card.png",
        f"/g/{group.slug}/sessions/{session.id}/card.png",
        f"/g/{group.slug}/sessions/{session.id}/card.png?lang=en",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "非公開の回" not in response.get_data(as_text=True)
    outsider = make.user()
    auth.login_as(outsider)
    for path in paths:
        assert client.get(path).status_code == 404, path

    # A member sees the page, but it carries no tags, and no card exists to be cached.
    auth.login_as(make.member(group))
    html = _page(client, f"/g/{group.slug}/sessions/{session.id}")
    assert "非公開の回" in html
    og, json_ld = _read(html)
    assert og == {} and json_ld == []
    assert 'name="twitter:' not in html
    assert client.get(f"/g/{group.slug}/sessions/{session.id}/card.png").status_code == 404


def _png(response) -> Image.Image:
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG"
    return image


def test_the_card_behind_og_image_is_a_1200x630_png(client, shared, tmp_path):
    group, session = shared
    og, _ = _read(_page(client, f"/g/{group.slug}/sessions/{session.id}"))
    response = client.get(og["og:image"])
    assert _png(response).size == (1200, 630)
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"]

    # A crawler asking again with its ETag gets 304 and no body.
    again = client.get(og["og:image"], headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""

    en = client.get(f"/g/{group.slug}/sessions/{session.id}/card.png?lang=en")
    assert _png(en).size == (1200, 630)
    assert en.data != response.data
    assert en.headers["ETag"] != response.headers["ETag"]
    # No language asked: a group on Tokyo's clock gets the Japanese card.
    plain = client.get(f"/g/{group.slug}/sessions/{session.id}/card.png")
    assert plain.data == response.data

    # An edit makes a new card, and the old ETag no longer matches.
    session.title = "第12回 もくもく会 LT大会つき"
    db.session.commit()
    edited = client.get(og["og:image"], headers={"If-None-Match": response.headers["ETag"]})
    assert edited.status_code == 200 and edited.data != response.data


def test_the_group_card_and_a_cancelled_card(client, shared):
    group, session = shared
    group_card = client.get(f"/g/{group.slug}/card.png?lang=en")
    assert _png(group_card).size == (1200, 630)
    before = client.get(f"/g/{group.slug}/sessions/{session.id}/card.png?lang=ja").data
    cancel_session(session, now=datetime.now(UTC))
    db.session.commit()
    after = client.get(f"/g/{group.slug}/sessions/{session.id}/card.png?lang=ja")
    assert _png(after).size == (1200, 630)
    assert after.data != before
    with client.application.test_request_context():
        from flask_babel import force_locale

        with force_locale("ja"):
            assert services.session_card_text(group, session).badge == "中止"
        with force_locale("en"):
            assert services.session_card_text(group, session).badge == "Cancelled"


def test_cards_of_other_groups_sessions_are_not_found(client, make, shared):
    group, _session = shared
    other = make.session(make.group())
    assert client.get(f"/g/{group.slug}/sessions/{other.id}/card.png").status_code == 404
    assert client.get("/g/no-such-group/card.png").status_code == 404


def test_cards_and_pages_take_a_fixed_number_of_queries(client, make, shared, count_queries):
    group, session = shared
    for n in range(6):
        make.session(group, day=NEXT_MONTH + timedelta(days=n + 1))
    session_card = f"/g/{group.slug}/sessions/{session.id}/card.png"
    group_card = f"/g/{group.slug}/card.png"
    with count_queries() as q:
        assert client.get(session_card).status_code == 200
    assert q.count == 2, q.statements  # the group, the session
    with count_queries() as q:
        assert client.get(group_card).status_code == 200
    assert q.count == 2, q.statements  # the group, its next sessions

    def page_queries(path):
        with count_queries() as q:
            _page(client, path)
        return q.count

    session_page = f"/g/{group.slug}/sessions/{session.id}"
    group_page = f"/g/{group.slug}"
    without = page_queries(session_page)
    session.participant_capacity = 20
    db.session.commit()
    # Taking participants adds no statement: the seats taken come with the places
    # (sessions/page_facts.py)
    assert page_queries(session_page) == without
    assert without <= 4

    few = page_queries(group_page)
    for n in range(10):
        make.session(group, day=NEXT_MONTH + timedelta(days=20 + n))
    assert page_queries(group_page) == few


class _FixedFont:
    """Each character 10 px wide, as a monospaced font would be."""

    def getlength(self, text: str) -> float:
        return 10.0 * len(text)


def test_japanese_breaks_between_characters_and_english_between_words():
    font = _FixedFont()
    assert card.wrap("勉強会へようこそ", font, 50) == ["勉強会へよ", "うこそ"]
    assert card.wrap("Python study group", font, 120) == ["Python study", "group"]
    # A closing mark never starts a line: the character before it comes along.
    assert card.wrap("あいうえお。かき", font, 50) == ["あいうえ", "お。かき"]
    # An opening bracket never ends one.
    assert card.wrap("あいう「えお」", font, 40) == ["あいう", "「えお」"]
    # Mixed: Latin words stay whole inside Japanese.
    lines = card.wrap("第12回 Python もくもく会", font, 80)
    assert "Python" in "".join(lines) and all(
        "Pyth" not in line or "Python" in line for line in lines
    )
    # A word longer than a line is cut rather than lost, also after other words.
    assert "".join(card.wrap("x" * 25, font, 100)) == "x" * 25
    lines = card.wrap('会 </script><script>alert("x")</script>', font, 100)
    assert " ".join(lines).replace(" ", "") == '会</script><script>alert("x")</script>'
    assert all(len(line) <= 10 for line in lines)


def test_a_long_title_shrinks_to_three_lines_with_an_ellipsis():
    found = fonts.card_fonts(None)
    short_size, short = card.fit_title("もくもく会", found)
    assert short_size == max(card.TITLE_SIZES) and short == ["もくもく会"]
    size, lines = card.fit_title("とても長いタイトル" * 30, found)
    assert size == min(card.TITLE_SIZES)
    assert len(lines) == card.MAX_TITLE_LINES and lines[-1].endswith("…")


def test_without_a_japanese_font_the_card_is_still_drawn(monkeypatch, caplog):
    monkeypatch.setattr(fonts, "find_font", lambda weight, configured: None)
    fonts.card_fonts.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="studygroup.sharing.fonts"):
            fallback = fonts.card_fonts(None)
        assert fallback.name == "pillow"
        assert "No Japanese font" in caplog.text
        png = card.render_card(card.CardText(title="勉強会 study", group="G"), fallback)
        assert Image.open(io.BytesIO(png)).size == (1200, 630)
    finally:
        fonts.card_fonts.cache_clear()


def test_a_configured_font_that_cannot_be_opened_is_passed_over(caplog, tmp_path):
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    with caplog.at_level(logging.WARNING, logger="studygroup.sharing.fonts"):
        found = fonts.find_font("bold", str(broken))
    assert "cannot be opened" in caplog.text
    assert found is None or found.path != str(broken)


def test_excerpt_cuts_long_text_near_150_characters():
    assert services.excerpt("  short\n text ") == "short text"
    english = services.excerpt("word " * 100)
    assert english.endswith("word…") and len(english) <= 150
    japanese = services.excerpt("あ" * 400)
    assert japanese == "あ" * 149 + "…"


def test_time_helpers_are_iso_with_offset():
    start = datetime.combine(date(2026, 12, 19), time(1), tzinfo=UTC)
    assert services.iso(start, "Asia/Tokyo") == "2026-12-19T10:00:00+09:00"
    assert services.iso(start, "Asia/Kolkata") == "2026-12-19T06:30:00+05:30"
