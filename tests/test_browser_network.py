"""The network pictures in a real browser (Debian's Chromium through Playwright): every label
inside its picture and clear of other labels and of other members' circles, by the browser's
own measure (getBBox) on a desktop and a 360px phone, for groups of 12, 60 and 300 members
and for a member's page full of long names.

Screenshots go to test-artifacts/screenshots/network-<size>-<desktop|phone>.png and
network-member-<desktop|phone>.png for a person to look at.
"""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.sessions.models import RoleSlot
from studygroup.signups.organizing import assign
from studygroup.testing.network import make_network_group
from tests import factories
from tests import test_browser as shared
from tests.test_browser import DESKTOP, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot

NARROW = {"width": 360, "height": 800}
# A picture page's first visit lays the graph out on the server (networkx: about half a
# second for 300 members on an idle machine; bench/network.py measured 4 s on this busy
# two-CPU one), past the contexts' 5 s. This test checks where the labels land, not how
# fast: bench/network.py measures the time, test_speed_network the statements.
DRAWING_MS = 60_000

# For each visible picture: its viewBox and the labels' boxes as the browser lays them out.
MEASURE = """
figure => [...figure.querySelectorAll("svg")]
  .filter(svg => svg.getBoundingClientRect().width > 0)
  .map(svg => ({
    view: svg.viewBox.baseVal && [svg.viewBox.baseVal.x, svg.viewBox.baseVal.y,
                                  svg.viewBox.baseVal.width, svg.viewBox.baseVal.height],
    shown: svg.getBoundingClientRect().width,
    fontPx: [...svg.querySelectorAll("text")].map(t => {
      const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      return parseFloat(getComputedStyle(t).fontSize) * scale;
    }),
    labels: [...svg.querySelectorAll("text")].map(t => {
      const b = t.getBBox();
      return [t.textContent, b.x, b.y, b.width, b.height];
    }),
  }))
"""


# For each visible picture: the labels that cover another member's circle (each label's
# group has the member's full name as its title, as the circle has).
COVERING = """
figure => [...figure.querySelectorAll("svg")]
  .filter(svg => svg.getBoundingClientRect().width > 0)
  .flatMap(svg => {
    const circles = [...svg.querySelectorAll("circle")]
      .map(c => [c.querySelector("title").textContent, c.getBBox()]);
    return [...svg.querySelectorAll("g > text")].flatMap(t => {
      const own = t.parentNode.querySelector("title").textContent;
      const b = t.getBBox();
      return circles
        .filter(([name, c]) => name !== own
          && Math.min(b.x + b.width, c.x + c.width) - Math.max(b.x, c.x) > 0.5
          && Math.min(b.y + b.height, c.y + c.height) - Math.max(b.y, c.y) > 0.5)
        .map(([name]) => [t.textContent, name]);
    });
  })
"""


def _labels_outside(measured) -> list[str]:
    outside = []
    for svg in measured:
        x0, y0, width, height = svg["view"]
        for text, x, y, w, h in svg["labels"]:
            if x < x0 or y < y0 or x + w > x0 + width or y + h > y0 + height:
                outside.append(text)
    return outside


def _overlapping(labels) -> list[tuple[str, str]]:
    pairs = []
    for i, (a, ax, ay, aw, ah) in enumerate(labels):
        for b, bx, by, bw, bh in labels[i + 1 :]:
            if ax < bx + bw - 1 and bx < ax + aw - 1 and ay < by + bh - 1 and by < ay + ah - 1:
                pairs.append((a, b))
    return pairs


def _seed_group(app, size: int) -> tuple[str, str]:
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer, name=f"{size}人の勉強会", slug=f"network-{size}")
        make_network_group(db.session, organizer, group, size, seed=size)
        db.session.commit()
        email, slug = organizer.email, group.slug
        db.session.remove()
    return email, slug


@pytest.mark.parametrize("size", [12, 60, 300])
def test_group_pictures_keep_every_name_inside(live, new_context, screenshot, size):
    from playwright.sync_api import expect

    email, slug = _seed_group(live.app, size)
    context, problems = new_context("ja-JP", DESKTOP)
    page = context.new_page()
    _log_in(page, live.url, email)
    expect(page).to_have_url(f"{live.url}/")
    page.goto(f"{live.url}/g/{slug}/network", timeout=DRAWING_MS)
    figure = page.locator("figure.network.graph")
    expect(figure.locator("svg.wide")).to_be_visible()
    expect(figure.locator("svg.narrow")).to_be_hidden()
    clusters = page.locator("section.clusters li")
    assert clusters.count() >= 2

    for viewport, name in ((DESKTOP, "desktop"), (NARROW, "phone")):
        page.set_viewport_size(viewport)
        measured = figure.evaluate(MEASURE)
        assert len(measured) == 1, f"one picture is shown on a {name}"
        (svg,) = measured
        assert svg["labels"], "names are written"
        assert _labels_outside(measured) == [], name
        assert _overlapping(svg["labels"]) == [], name
        assert figure.evaluate(COVERING) == [], name
        # Shown at its drawn size or close to it: names stay readable.
        assert min(svg["fontPx"]) >= 9.5, (name, min(svg["fontPx"]))
        if size == 12:
            assert len(svg["labels"]) == 12  # everyone is named
        width, inner = _no_horizontal_scroll(page)
        assert width <= inner, f"the page scrolls sideways on a {name}"
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, f"network-{size}-{name}")
        figure.screenshot(path=shared.SCREENSHOTS / f"network-{size}-{name}-picture.png")
    context.close()
    assert problems.found == []


def test_a_members_picture_keeps_long_names_inside(live, new_context, screenshot):
    from playwright.sync_api import expect

    from tests.test_pictures import LONG_NAMES

    with live.app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer)
        me = make.member(group, make.user("me@example.com", display_name="勅使河原 三郎太"))
        for n, name in enumerate(LONG_NAMES * 2):
            person = make.member(group, make.user(display_name=f"{name}{n}"))
            session = make.session(group, day=date.today() - timedelta(days=10 + n))
            for member in (me, person):
                slot = db.session.scalar(
                    sa.select(RoleSlot).where(RoleSlot.session_id == session.id)
                )
                assign(
                    db.session, organizer=organizer, member=member, slot=slot, now=session.starts_at
                )
        db.session.commit()
        db.session.remove()

    for locale, viewport, name in (("en-US", DESKTOP, "desktop"), ("ja-JP", NARROW, "phone")):
        context, problems = new_context(locale, viewport)
        page = context.new_page()
        _log_in(page, live.url, "me@example.com")
        expect(page).to_have_url(f"{live.url}/")
        page.goto(f"{live.url}/coworkers", timeout=DRAWING_MS)
        figure = page.locator("figure.network")
        measured = figure.evaluate(MEASURE)
        assert len(measured[0]["labels"]) == len(LONG_NAMES) * 2 + 1
        assert _labels_outside(measured) == [], name
        screenshot(page, f"network-member-{name}")
        context.close()
        assert problems.found == []
