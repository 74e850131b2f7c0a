"""A group's address (/g/<address>): the help text shows it, and an empty one is made from the
group's name, romanised (pykakasi), or at random when the name gives nothing."""

import re

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import Group
from studygroup.groups.slugs import SLUG_RE, romanised_slug, suggest_slug

FORM = {
    "timezone": "Asia/Tokyo",
    "join_policy": "open",
    "visibility": "public",
    "signup_opens_days_before": "60",
    "signup_closes_hours_before": "0",
    "self_cancel_hours_before": "24",
    "reminder_lead_hours": "144,24",
}


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "the page will be /g/&lt;address&gt;."),
        ("ja", "ページのアドレスは /g/&lt;アドレス&gt; になります"),
    ],
)
def test_the_help_text_shows_the_address_placeholder(client, auth, make, locale, text):
    user = make.user(locale=locale)
    group = make.group(user)
    auth.login_as(user)
    for url in ("/groups/new", f"/g/{group.slug}/edit"):
        page = client.get(url).get_data(as_text=True)
        assert text in page, url
        assert "<address>" not in page and "<アドレス>" not in page  # tags to swallow
        if locale == "ja":
            assert "&lt;address&gt;" not in page  # the placeholder is in Japanese too


def test_a_japanese_name_is_romanised():
    assert romanised_slug("渋谷Python勉強会") == "shibuya-python-benkyokai"
    for name in (
        "渋谷Python勉強会 (Shibuya.py)",
        "東京都 Rust 読書会",
        "Ｇｏ言語の会",
        "もくもく会@横浜",
        "Café Ünïcode",
        "とても長い名前の勉強会とても長い名前の勉強会とても長い名前の勉強会とても長い名前",
    ):
        slug = romanised_slug(name)
        assert SLUG_RE.match(slug) and len(slug) <= 40, (name, slug)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug
    assert romanised_slug("東京都 Rust 読書会") == "tokyoto-rust-dokusho-kai"
    assert romanised_slug("Café Ünïcode") == "cafe-unicode"
    assert romanised_slug("🙂🙂") == ""


def test_long_vowels_are_folded_as_passports_write_them():
    """ou, oo and uu from a Japanese reading are one vowel, and so is the katakana long mark;
    Latin words keep theirs."""
    assert romanised_slug("大阪Google勉強会") == "osaka-google-benkyokai"
    assert romanised_slug("京都.rb") == "kyoto-rb"
    assert romanised_slug("数学の会") == "sugaku-no-kai"
    assert romanised_slug("コーヒー会") == "kohi-kai"
    assert romanised_slug("ボードゲーム会 in Boot Camp") == "bodogemu-kai-in-boot-camp"
    assert romanised_slug("新潟Ruby") == "niigata-ruby"  # ii is not a long vowel here


def test_a_suggestion_is_always_free(make):
    make.group(slug="shibuya-python-benkyokai")
    assert suggest_slug(db.session, "渋谷Python勉強会") == "shibuya-python-benkyokai-2"
    emoji = suggest_slug(db.session, "🙂🙂")
    assert re.fullmatch(r"group-[0-9a-f]{6}", emoji) and SLUG_RE.match(emoji)
    # A group keeps its own address when asked again.
    own = db.session.scalar(sa.select(Group).where(Group.slug == "shibuya-python-benkyokai"))
    assert suggest_slug(db.session, "渋谷Python勉強会", except_group=own) == own.slug


def test_an_empty_address_is_made_from_the_name(client, auth, make):
    auth.login_as(make.user())
    response = client.post("/groups/new", data={**FORM, "name": "渋谷Python勉強会", "slug": ""})
    assert response.headers["Location"] == "/g/shibuya-python-benkyokai"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "/g/shibuya-python-benkyokai" in page  # the flash says where the page is
    again = client.post("/groups/new", data={**FORM, "name": "渋谷Python勉強会", "slug": " "})
    assert again.headers["Location"] == "/g/shibuya-python-benkyokai-2"
    # Settings still need an address.
    edit = client.post(
        "/g/shibuya-python-benkyokai/edit", data={**FORM, "name": "渋谷Python勉強会", "slug": ""}
    )
    assert edit.status_code == 422 and "Please fill this in." in edit.get_data(as_text=True)


def test_the_form_asks_for_suggestions(client, auth, make):
    make.group(slug="shibuya-python-benkyokai")
    assert client.get("/groups/address?name=x").status_code == 302  # log in first
    auth.login_as(make.user())
    response = client.get("/groups/address", query_string={"name": "渋谷Python勉強会"})
    assert response.get_json() == {"address": "shibuya-python-benkyokai-2"}
    assert client.get("/groups/address?name=").get_json() == {"address": ""}
    page = client.get("/groups/new").get_data(as_text=True)
    assert 'data-address-from="/groups/address"' in page and "address.js" in page
