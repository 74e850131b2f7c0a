"""Swaps in a real browser: a member who cannot come offers their place with a note, a member
who said they can help gets the email, follows its link and takes the place; the one who
offered is told. On a desktop in English, and on a 390 px phone in Japanese.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.sessions.models import RoleSlot
from studygroup.signups.models import Availability
from studygroup.signups.services import sign_up
from tests import factories
from tests import test_browser as shared
from tests import test_browser_signups as signups
from tests.test_browser import DESKTOP, PHONE, TOKYO, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = signups.mailbox
live_server = signups.live_server
live = signups.live


@dataclass(frozen=True)
class Seeded:
    slug: str
    session_id: int


def _seed(app, locale: str) -> Seeded:
    """Mika Mori holds reception at a session in six days; Ken Ito said he can help (any
    role). Both read `locale`."""
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato", locale=locale)
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        mika, ken = (
            make.member(group, make.user(f"{key}@example.com", display_name=name, locale=locale))
            for key, name in (("mika", "Mika Mori"), ("ken", "Ken Ito"))
        )
        day = datetime.now(TOKYO).date() + timedelta(days=6)
        session = make.session(group, day=day, title="Pythonもくもく会 第12回")
        reception = db.session.scalar(
            sa.select(RoleSlot).where(RoleSlot.session_id == session.id).offset(1).limit(1)
        )
        sign_up(db.session, member=mika, slot=reception, now=datetime.now(UTC))
        db.session.add(
            Availability(user_id=ken.id, session_id=session.id, created_at=datetime.now(UTC))
        )
        db.session.commit()
        seeded = Seeded(group.slug, session.id)
        db.session.remove()
    return seeded


def _mail_to(mailbox, address: str, subject_part: str):
    found = [m for m in mailbox.to(address) if subject_part in m["Subject"]]
    assert len(found) == 1, [m["Subject"] for m in mailbox.to(address)]
    return signups._body(found[0])


def _walk(live, mailbox, new_context, screenshot, *, locale, viewport, words, name):
    from playwright.sync_api import expect

    seeded = _seed(live.app, "ja" if locale.startswith("ja") else "en")
    base = live.url
    session_url = f"{base}/g/{seeded.slug}/sessions/{seeded.session_id}"

    # Mika cannot come: she offers her place from the session page, with a note.
    mika_context, mika_problems = new_context(locale, viewport)
    mika = mika_context.new_page()
    _log_in(mika, base, "mika@example.com")
    mika.goto(session_url)
    card = mika.locator("li.role-card", has=mika.locator("h3", has_text=words["reception"]))
    card.locator("summary", has_text=words["offer_summary"]).click()
    card.get_by_label(words["note_label"]).fill(words["note"])
    screenshot(mika, f"offers-offering-{name}")
    card.get_by_role("button", name=words["offer_button"]).click()
    expect(mika.locator(".flash")).to_have_text(words["offered_flash"])
    card = mika.locator("li.role-card", has=mika.locator("h3", has_text=words["reception"]))
    expect(card.locator(".badge.offered")).to_have_text(words["offered_badge"])
    width, view = _no_horizontal_scroll(mika)
    assert width <= view, f"the session page scrolls sideways: {width}px in {view}px"

    # Ken gets the email and follows its link to the offer.
    body = _mail_to(mailbox, "ken@example.com", words["offer_subject"])
    assert words["note"] in body
    link = re.search(r"http://\S+/offers/\d+", body).group(0)
    ken_context, ken_problems = new_context(locale, viewport)
    ken = ken_context.new_page()
    _log_in(ken, base, "ken@example.com")
    ken.goto(session_url)
    card = ken.locator("li.role-card", has=ken.locator("h3", has_text=words["reception"]))
    expect(card.locator(".offer-line p").first).to_contain_text(words["offers_line"])
    screenshot(ken, f"offers-session-page-{name}")
    ken.goto(base + link[link.index("/g/") :])  # the page the email links to, on this server
    expect(ken.locator("h1")).to_have_text(words["offer_heading"])
    expect(ken.locator("dl.facts")).to_contain_text(words["note"])
    width, view = _no_horizontal_scroll(ken)
    assert width <= view, f"the offer page scrolls sideways: {width}px in {view}px"
    screenshot(ken, f"offers-offer-page-{name}")
    ken.get_by_role("button", name=words["take_button"]).click()
    expect(ken.locator(".flash")).to_have_text(words["taken_flash"])
    expect(ken.locator(".offer-state")).to_contain_text(words["you_took"])
    ken.goto(session_url)
    card = ken.locator("li.role-card", has=ken.locator("h3", has_text=words["reception"]))
    expect(card.locator(".mine .badge").first).to_have_text(words["on_role"])
    expect(card.locator(".people-line")).to_have_text("Ken Ito")
    screenshot(ken, f"offers-taken-{name}")

    # Mika is told, and her place is no longer hers.
    assert words["thanks"] in _mail_to(mailbox, "mika@example.com", words["taken_subject"])
    mika.goto(session_url)
    card = mika.locator("li.role-card", has=mika.locator("h3", has_text=words["reception"]))
    expect(card.locator(".mine")).to_have_count(0)
    assert mika_problems.found == [] and ken_problems.found == []


def test_a_member_offers_and_another_takes_it_on_a_desktop(live, mailbox, new_context, screenshot):
    _walk(
        live,
        mailbox,
        new_context,
        screenshot,
        locale="en-US",
        viewport=DESKTOP,
        name="desktop-en",
        words={
            "reception": "Reception",
            "offer_summary": "Can't come? Offer your place",
            "note_label": "A note for whoever takes it (optional)",
            "note": "The badge box is in the cupboard.",
            "offer_button": "Offer my place",
            "offered_flash": "Your place as Reception is offered: 1 member who can help was told.",
            "offered_badge": "Offered",
            "offer_subject": "Can you take this place? Reception",
            "offers_line": "Mika Mori offers their place as Reception.",
            "offer_heading": "Mika Mori offers their place as Reception",
            "take_button": "Take the place as Reception",
            "taken_flash": "The place as Reception is yours. Thank you for helping!",
            "you_took": "You took this place.",
            "on_role": "You are on this role",
            "taken_subject": "Your place was taken: Reception",
            "thanks": "Ken Ito took your place as Reception",
        },
    )


def test_a_member_offers_and_another_takes_it_on_a_phone_in_japanese(
    live, mailbox, new_context, screenshot
):
    _walk(
        live,
        mailbox,
        new_context,
        screenshot,
        locale="ja-JP",
        viewport=PHONE,
        name="phone-ja",
        words={
            "reception": "受付",
            "offer_summary": "来られなくなったら、交代をお願いする",
            "note_label": "引き受ける方へのメモ（任意）",
            "note": "名札の箱は棚にあります。",
            "offer_button": "交代をお願いする",
            "offered_flash": (
                "受付の交代をお願いしました。お手伝いできるメンバー1人にお知らせしました。"
            ),
            "offered_badge": "交代をお願い中",
            "offer_subject": "交代をお願いできますか",
            "offers_line": "Mika Moriさんが受付の交代をお願いしています。",
            "offer_heading": "Mika Moriさんが受付の交代をお願いしています",
            "take_button": "受付を引き受ける",
            "taken_flash": "受付の枠を引き受けました。ご協力ありがとうございます！",
            "you_took": "あなたがこの枠を引き受けました。",
            "on_role": "この役割に登録済み",
            "taken_subject": "交代が決まりました",
            "thanks": "Ken Itoさんが受付の枠を引き受けました。",
        },
    )
