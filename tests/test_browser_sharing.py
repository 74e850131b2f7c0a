"""A shared session page in a real browser (Debian's Chromium through Playwright): the JSON-LD
in the head is data the CSP leaves alone (no violation, though the CSP allows no inline
script), a title with "</script>" in it stays inside its JSON, and og:image loads as the card.

Screenshots go to test-artifacts/screenshots/sharing-*.png for a person to look at.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.sessions.services import cancel_session
from tests import factories
from tests import test_browser as shared
from tests.test_browser import DESKTOP, TOKYO, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot

PHONE_360 = {"width": 360, "height": 780}
TITLE = '第12回 もくもく会 </script><script>alert("x")</script>'


def _seed(app) -> tuple[str, str]:
    with app.app_context():
        make = factories.Factories(db.session)
        group = make.group(name="東京Python勉強会", slug="tokyo-python")
        day = datetime.now(TOKYO).date() + timedelta(days=21)
        session = make.session(group, day=day, title=TITLE)
        cancelled = make.session(group, day=day + timedelta(days=7), title="LT大会")
        cancel_session(cancelled, now=datetime.now(UTC))
        db.session.commit()
        paths = (
            f"/g/{group.slug}/sessions/{session.id}",
            f"/g/{group.slug}/sessions/{cancelled.id}",
        )
        db.session.remove()
    return paths


READ_HEAD = """() => ({
  jsonLd: [...document.querySelectorAll('script[type="application/ld+json"]')]
    .map(s => s.textContent),
  og: Object.fromEntries([...document.querySelectorAll('meta[property^="og:"]')]
    .map(m => [m.getAttribute("property"), m.content])),
  scripts: document.querySelectorAll("script:not([src]):not([type])").length,
  alerted: window.__alerted === true,
})"""


@pytest.mark.parametrize(("locale", "viewport"), [("ja", PHONE_360), ("en", DESKTOP)])
def test_json_ld_is_data_the_csp_leaves_alone(live, new_context, screenshot, locale, viewport):
    page_path, cancelled_path = _seed(live.app)
    context, problems = new_context(locale, viewport)
    context.add_init_script("window.alert = () => { window.__alerted = true; };")
    page = context.new_page()
    response = page.goto(live.url + page_path)
    assert response.status == 200
    assert "script-src 'self';" in response.headers["content-security-policy"]
    head = page.evaluate(READ_HEAD)
    (block,) = head["jsonLd"]
    event = json.loads(block)
    assert event["name"] == TITLE
    assert event["startDate"].endswith("+09:00")
    assert head["scripts"] == 0 and not head["alerted"]
    assert page.locator("h1").inner_text().endswith(TITLE)
    assert head["og"]["og:locale"] == {"ja": "ja_JP", "en": "en_US"}[locale]
    scroll_width, width = _no_horizontal_scroll(page)
    assert scroll_width <= width
    screenshot(page, f"sharing-session-{locale}-{viewport['width']}")

    # og:image is the card in the page's language.
    card = context.new_page()
    image = card.goto(head["og"]["og:image"])
    assert image.status == 200 and image.headers["content-type"] == "image/png"
    assert head["og"]["og:image"].endswith(f"lang={locale}")
    size = card.evaluate(
        "() => [document.images[0].naturalWidth, document.images[0].naturalHeight]"
    )
    assert size == [1200, 630]
    screenshot(card, f"sharing-card-{locale}")

    cancelled = context.new_page()
    cancelled.goto(live.url + cancelled_path)
    (block,) = cancelled.evaluate(READ_HEAD)["jsonLd"]
    assert json.loads(block)["eventStatus"] == "https://schema.org/EventCancelled"
    # Opened on its own, an image makes Chromium ask for /favicon.ico, which the site has not.
    assert [p for p in problems.found if "/favicon.ico" not in p] == []
