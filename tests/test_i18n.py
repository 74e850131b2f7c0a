import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def test_japanese_catalog_translates_every_string_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with (ROOT / "studygroup/translations/ja/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(str(m) for m in wanted - translated)
    assert not missing, f"untranslated in ja: {missing}"
    for message in catalog:
        assert not list(message.check(catalog)), message.id


def test_language_follows_the_user_then_accept_language(client, auth, make):
    assert "ログイン" in client.get("/login", headers={"Accept-Language": "ja"}).get_data(
        as_text=True
    )
    assert "Log in" in client.get("/login", headers={"Accept-Language": "en-US"}).get_data(
        as_text=True
    )
    user = make.user(locale="en")
    auth.login_as(user)
    page = client.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "My groups" in page and '<html lang="en">' in page


def test_language_switch_for_visitors(client):
    client.post("/language", data={"lang": "ja", "next": "/groups"})
    assert "グループを探す" in client.get("/groups", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )


def test_dates_in_japanese_and_english_in_the_groups_zone(client, auth, make):
    group = make.group(timezone="Asia/Tokyo")
    session = make.session(group, day=date(2026, 12, 19))
    assert session.starts_at == datetime(2026, 12, 19, 1, tzinfo=UTC)
    page = client.get(f"/g/{group.slug}", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "2026年12月19日(土)" in page and "10:00–12:00" in page
    page = client.get(f"/g/{group.slug}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Sat 19 Dec 2026" in page


def test_form_errors_are_translated_too(client):
    response = client.post(
        "/register",
        data={"display_name": "", "email": "not-an-email", "password": "short"},
        headers={"Accept-Language": "ja"},
    )
    page = response.get_data(as_text=True)
    assert "8文字" in page  # our message
    assert "無効なメールアドレスです。" in page  # WTForms' own Japanese catalog
    assert "入力してください。" in page  # our required-field message
