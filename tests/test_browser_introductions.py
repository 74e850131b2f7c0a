"""Introductions end to end in a real browser, with CSRF on and the email over real SMTP, in
English and in Japanese: A asks S to introduce A to B, S makes it from the request, both
accept from the email's link, and each then sees the other's name and email address."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.signups.organizing import assign
from tests import factories
from tests import test_browser as shared
from tests import test_browser_signups as with_mail
from tests.factories import slots_of
from tests.test_browser import DESKTOP, PHONE, TOKYO, _log_in
from tests.test_browser_signups import _body, _fits_the_phone, _mail_to

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = with_mail.mailbox
live_server = with_mail.live_server
live = with_mail.live

PEOPLE = {
    "en": ("Ichiro Suzuki", "Taro Takeda", "Yui Kobayashi"),
    "ja": ("鈴木 一郎", "武田 太郎", "小林 結衣"),
}
NOTE = {
    "en": "Taro is looking for a first project; Yui needs help with a factory dashboard.",
    "ja": "武田さんは最初のプロジェクトを探しています。"
    "小林さんは工場のダッシュボードを手伝ってほしいそうです。",
}
WORDS = {
    "en": {
        "locale": "en-US",
        "ask_link": "Ask {s} for an introduction",
        "ask_button": "Ask {s}",
        "asked": "You asked {s} to introduce you to {b}.",
        "request": "{a} asks you to introduce them to {b}.",
        "introduce": "Introduce them",
        "note": "Your note to both",
        "send": "Send the introduction",
        "made_subject": "{s} would like to introduce you to someone",
        "done_subject": "Introduction complete: you and {other}",
        "accept": "Accept",
        "waiting": "Waiting",
        "both": "Both accepted",
        "address": "{other}'s email address: {email}",
    },
    "ja": {
        "locale": "ja-JP",
        "ask_link": "{s}さんに紹介をお願いする",
        "ask_button": "{s}さんにお願いする",
        "asked": "{s}さんに、{b}さんへの紹介をお願いしました。",
        "request": "{a}さんが、{b}さんへの紹介をお願いしています。",
        "introduce": "紹介する",
        "note": "お二人へのメッセージ",
        "send": "紹介を送る",
        "made_subject": "{s}さんから紹介があります",
        "done_subject": "{other}さんとの紹介が成立しました",
        "accept": "受ける",
        "waiting": "回答待ち",
        "both": "双方が承諾",
        "address": "{other}さんのメールアドレス：{email}",
    },
}


def _seed(app, lang: str) -> dict:
    """S organizes a group where A and B worked setup with S three days ago."""
    s_name, a_name, b_name = PEOPLE[lang]
    with app.app_context():
        make = factories.Factories(db.session)
        s = make.user(f"s-{lang}@example.com", display_name=s_name, locale=lang)
        group = make.group(s, name="Tokyo Python Study", slug=f"tokyo-python-{lang}")
        a = make.member(group, make.user(f"a-{lang}@example.com", display_name=a_name, locale=lang))
        b = make.member(group, make.user(f"b-{lang}@example.com", display_name=b_name, locale=lang))
        session = make.session(group, day=datetime.now(TOKYO).date() - timedelta(days=3))
        setup = slots_of(session)["setup"]
        for member in (s, a, b):
            assign(db.session, organizer=s, member=member, slot=setup, now=datetime.now(UTC))
        db.session.commit()
        seeded = {"s": (s.id, s.email), "a": (a.id, a.email), "b": (b.id, b.email)}
        db.session.remove()
    return seeded


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_asked_made_and_accepted_by_both(live, mailbox, new_context, screenshot, lang):
    from playwright.sync_api import expect

    seeded = _seed(live.app, lang)
    base = live.url
    s_name, a_name, b_name = PEOPLE[lang]
    w = {k: v for k, v in WORDS[lang].items()}
    fmt = {"s": s_name, "a": a_name, "b": b_name}

    # A finds B on S's co-worker page and asks S for the introduction.
    context, problems = new_context(w["locale"], DESKTOP)
    a_page = context.new_page()
    _log_in(a_page, base, seeded["a"][1])
    a_page.goto(f"{base}/people/{seeded['s'][0]}/coworkers")
    row = a_page.locator("ol.coworkers li", has_text=b_name)
    row.get_by_role("link", name=w["ask_link"].format(**fmt)).click()
    expect(a_page.locator("main")).to_contain_text(b_name)
    a_page.locator("textarea[name=note]").fill("Dashboards!")
    screenshot(a_page, f"introductions-ask-desktop-{lang}")
    a_page.get_by_role("button", name=w["ask_button"].format(**fmt)).click()
    expect(a_page.locator(".flash")).to_contain_text(w["asked"].format(**fmt))
    expect(a_page.locator("#asked")).to_contain_text(w["asked"].format(**fmt))
    assert problems.found == []

    # S (on a phone) sees the request in the header and on /introductions, and makes it.
    context, s_problems = new_context(w["locale"], PHONE)
    s_page = context.new_page()
    _log_in(s_page, base, seeded["s"][1])
    s_page.goto(f"{base}/introductions")
    expect(s_page.locator("#needs-you")).to_contain_text(w["request"].format(**fmt))
    _fits_the_phone(s_page, "the introductions page")
    screenshot(s_page, f"introductions-request-phone-{lang}")
    s_page.locator("#needs-you").get_by_role("link", name=w["introduce"]).click()
    expect(s_page.locator("select[name=first] option:checked")).to_have_text(a_name)
    expect(s_page.locator("select[name=second] option:checked")).to_have_text(b_name)
    s_page.get_by_label(w["note"]).fill(NOTE[lang])
    _fits_the_phone(s_page, "the introduce form")
    screenshot(s_page, f"introductions-new-phone-{lang}")
    s_page.get_by_role("button", name=w["send"]).click()
    expect(s_page.locator("#made")).to_contain_text(w["waiting"])
    expect(s_page.locator("#needs-you")).to_have_count(0)
    assert s_problems.found == []

    # Both get the email; neither names the other yet. Each follows the link and accepts.
    for me, other_name in (("a", b_name), ("b", a_name)):
        message = _mail_to(mailbox, seeded[me][1], w["made_subject"].format(**fmt))
        body = _body(message)
        assert other_name not in body and NOTE[lang] not in body
        link = re.search(rf"{re.escape(base)}/introductions/\d+", body)
        assert link, body
        viewport = PHONE if me == "b" else DESKTOP
        context, problems = new_context(w["locale"], viewport)
        page = context.new_page()
        _log_in(page, base, seeded[me][1])
        page.goto(link.group(0))
        expect(page.locator("main")).not_to_contain_text(other_name)
        screenshot(page, f"introductions-answer-{me}-{lang}")
        page.get_by_role("button", name=w["accept"], exact=True).click()
        expect(page.locator(".flash")).to_be_visible()
        assert problems.found == []

    # Both accepted: each sees the other's name, the note and email address, page and email.
    for me, other, other_name, viewport in (
        ("a", "b", b_name, DESKTOP),
        ("b", "a", a_name, PHONE),
    ):
        context, problems = new_context(w["locale"], viewport)
        page = context.new_page()
        _log_in(page, base, seeded[me][1])
        page.goto(f"{base}/introductions")
        accepted = page.locator("#accepted")
        expect(accepted).to_contain_text(other_name)
        expect(accepted).to_contain_text(seeded[other][1])
        expect(accepted).to_contain_text(NOTE[lang])
        if viewport is PHONE:
            _fits_the_phone(page, "the accepted introductions")
        screenshot(page, f"introductions-accepted-{me}-{lang}")
        page.goto(f"{base}/people/{seeded[me][0]}/coworkers")
        expect(page.locator("#introduced")).to_contain_text(other_name)
        screenshot(page, f"introductions-coworkers-{me}-{lang}")
        message = _mail_to(mailbox, seeded[me][1], w["done_subject"].format(other=other_name))
        body = _body(message)
        assert NOTE[lang] in body
        assert w["address"].format(other=other_name, email=seeded[other][1]) in body
        assert problems.found == []

    # The introducer sees "both accepted", never an address.
    s_page.goto(f"{base}/introductions")
    expect(s_page.locator("#made")).to_contain_text(w["both"])
    expect(s_page.locator("#made")).not_to_contain_text("@example.com")
    screenshot(s_page, f"introductions-made-phone-{lang}")
