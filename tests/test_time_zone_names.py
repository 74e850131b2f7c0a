"""Time zones by name in the reader's language, not as IANA codes: the select (common zones
first, no deprecated aliases), the group page, the session forms and emails. Stored values stay
IANA names, and a stored alias keeps working."""

import html
import re
from datetime import date, timedelta
from zoneinfo import available_timezones

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.sessions.models import RoleSlot
from studygroup.zones import COMMON_ZONES, zone_name

ALIASES = (
    "Asia/Calcutta",
    "Asia/Saigon",
    "Africa/Asmera",
    "Africa/Timbuktu",
    "America/Buenos_Aires",
    "Europe/Kiev",
    "US/Eastern",
    "Japan",
    "Etc/GMT+5",
)


def options(page: str, name: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option of the select `name`, in page order."""
    select = re.search(rf'<select[^>]* name="{name}"[^>]*>(.*?)</select>', page, re.S)[1]
    return [
        (html.unescape(value), html.unescape(label), bool(selected))
        for selected, value, label in re.findall(
            r'<option( selected)? value="([^"]*)">([^<]*)</option>', select
        )
    ]


@pytest.mark.parametrize(
    ("locale", "zone", "name"),
    [
        ("ja", "Asia/Tokyo", "日本時間（東京）"),
        ("en", "Asia/Tokyo", "Japan Time (Tokyo)"),
        ("ja", "Europe/Berlin", "ドイツ（ベルリン）時間"),
        ("en", "America/New_York", "United States (New York) Time"),
        ("ja", "Asia/Singapore", "シンガポール時間"),
        ("ja", "UTC", "協定世界時（UTC）"),
        ("en", "UTC", "Coordinated Universal Time (UTC)"),
        ("ja", "Asia/Calcutta", "インド時間（コルカタ）"),  # an old alias: named as its zone
    ],
)
def test_zones_are_named_in_the_readers_language(app, locale, zone, name):
    with force_locale(locale):
        assert zone_name(zone) == name


def test_the_select_offers_named_zones_common_first_and_no_aliases(make, client, auth):
    auth.login_as(make.user())
    page = client.get("/profile", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    zones = options(page, "timezone")
    values = [value for value, _label, _selected in zones]
    assert values[: len(COMMON_ZONES)] == list(COMMON_ZONES)
    assert zones[0] == ("Asia/Tokyo", "UTC+9 日本時間（東京）", True)
    labels = dict((value, label) for value, label, _selected in zones)
    assert re.fullmatch(r"UTC\+[01] イギリス時間（ロンドン）", labels["Europe/London"])  # (summer)
    assert re.fullmatch(r"UTC−[45] アメリカ合衆国（ニューヨーク）時間", labels["America/New_York"])
    assert labels["UTC"] == "協定世界時（UTC）"
    assert '<optgroup label="よく使われるタイムゾーン">' in page
    assert '<optgroup label="その他のタイムゾーン">' in page
    assert len(values) == len(set(values))  # each zone once
    assert set(values) <= available_timezones()
    assert not set(ALIASES) & set(values)
    assert "America/Argentina/Buenos_Aires" in values and "Asia/Kolkata" in values
    assert 400 < len(values) < 450  # the ~600 names of zoneinfo hold ~180 aliases
    assert all(not re.fullmatch(r"[A-Za-z_/+-]+", label) for _value, label, _s in zones)
    # After the common zones, the others go by UTC offset: west to east.
    offsets = [label.split(" ")[0] for _value, label, _s in zones[len(COMMON_ZONES) :] if label]
    assert offsets[0] == "UTC−11" and offsets[-1] == "UTC+14"


def test_a_stored_alias_is_shown_selected_and_kept_on_saving(make, client, auth):
    member = make.user(display_name="Asha")
    member.timezone = "Asia/Calcutta"
    db.session.commit()
    auth.login_as(member)
    page = client.get("/profile", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert options(page, "timezone")[0] == ("Asia/Calcutta", "UTC+5:30 India Time (Kolkata)", True)
    form = {"display_name": "Asha", "locale": "", "timezone": "Asia/Calcutta"}
    assert client.post("/profile", data=form).status_code == 302
    assert db.session.get(User, member.id).timezone == "Asia/Calcutta"
    form["timezone"] = "Nowhere/Atlantis"
    assert client.post("/profile", data=form).status_code == 200  # refused, with a message
    assert db.session.get(User, member.id).timezone == "Asia/Calcutta"


def test_pages_and_emails_name_the_groups_zone(make, client, auth, smtp_server):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group, make.user("ja@example.com", locale="ja"))
    session = make.session(group, day=date.today() + timedelta(days=10))

    page = client.get(f"/g/{group.slug}", headers={"Accept-Language": "ja"}).get_data(True)
    assert "<dd>日本時間（東京）</dd>" in page and "Asia/Tokyo" not in page
    page = client.get(f"/g/{group.slug}", headers={"Accept-Language": "en"}).get_data(True)
    assert "<dd>Japan Time (Tokyo)</dd>" in page

    auth.login_as(organizer)
    edit = client.get(
        f"/g/{group.slug}/sessions/{session.id}/edit", headers={"Accept-Language": "ja"}
    ).get_data(as_text=True)
    assert "時刻は日本時間（東京）です。" in edit and "Asia/Tokyo" not in edit
    series = client.get(f"/g/{group.slug}/series/new", headers={"Accept-Language": "ja"})
    assert "時刻はグループのタイムゾーン、日本時間（東京）です。" in series.get_data(as_text=True)

    auth.login_as(member)
    slot = db.session.scalar(sa.select(RoleSlot).where(RoleSlot.session_id == session.id))
    client.post(f"/g/{group.slug}/slots/{slot.id}/signup")
    [confirmation] = smtp_server.to("ja@example.com")
    body = confirmation.get_content()
    assert re.search(r"日時: .* 10:00 日本時間（東京）\n", body), body
    assert "Asia/Tokyo" not in body
