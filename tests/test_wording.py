"""Wording on the co-working pages: "side by side" reads as a whole phrase in Japanese, the
year filter offers only years of the member's history, and the name choice says who sees it."""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.messages.pofile import read_po

from studygroup.extensions import db
from studygroup.groups.models import Membership
from studygroup.signups.organizing import assign
from tests.factories import slots_of

NOW = datetime.now(UTC)
CATALOG = Path(__file__).resolve().parent.parent / "studygroup/translations/ja/LC_MESSAGES"


def _worked_together(make, group, organizer, people, day):
    session = make.session(group, day=day)
    slot = slots_of(session)["setup"]
    for person in people:
        assign(db.session, organizer=organizer, member=person, slot=slot, now=NOW)
    db.session.commit()
    return session


def _year_options(page: str) -> list[str]:
    select = re.search(r'<select id="year" name="year">(.*?)</select>', page, re.S)[1]
    return re.findall(r'<option value="(\d*)"', select)


def test_side_by_side_never_dangles_in_japanese():
    """No Japanese text ends on the particle で of 同じ役割・時間で (a badge, a heading, a
    quoted term): the phrase is the noun 同じ役割・時間帯 wherever it stands alone."""
    with (CATALOG / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="ja")
    dangling = [
        m.id
        for m in catalog
        if m.id
        for text in (m.string if isinstance(m.string, tuple) else (m.string,))
        if re.search(r"同じ役割・時間で(」|$|[、。])", text or "")
    ]
    assert dangling == []


def test_the_badge_and_the_counts_read_whole_in_japanese(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    ai = make.member(group, make.user(display_name="Ai", locale="ja"))
    bo = make.member(group, make.user(display_name="Bo"))
    _worked_together(make, group, organizer, [ai, bo], date.today() - timedelta(days=5))
    auth.login_as(ai)
    together = client.get(f"/people/{ai.id}/coworkers/{bo.id}").get_data(as_text=True)
    assert '<span class="badge full">同じ役割・時間帯</span>' in together
    assert "1回、うち同じ役割・時間帯で1回" in together


def test_the_year_filter_starts_with_the_members_history(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    ai = make.member(group, make.user(display_name="Ai"))
    bo = make.member(group, make.user(display_name="Bo"))
    this_year = datetime.now(ZoneInfo("Asia/Tokyo")).year
    auth.login_as(ai)
    # A member who just joined: this year only.
    page = client.get(f"/people/{ai.id}/coworkers").get_data(as_text=True)
    assert _year_options(page) == ["", str(this_year)]
    # Their first session together was two years ago: from then on.
    _worked_together(make, group, organizer, [ai, bo], date(this_year - 2, 6, 20))
    page = client.get(f"/people/{ai.id}/coworkers").get_data(as_text=True)
    assert _year_options(page) == ["", str(this_year), str(this_year - 1), str(this_year - 2)]
    # A membership older than any session counts too.
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == ai.id))
    membership.joined_at = datetime(this_year - 4, 3, 1, tzinfo=UTC)
    db.session.commit()
    page = client.get(f"/people/{ai.id}/coworkers").get_data(as_text=True)
    assert _year_options(page)[-1] == str(this_year - 4) and len(_year_options(page)) == 6
    # A year asked for by its address stays chosen.
    page = client.get(f"/people/{ai.id}/coworkers?year=2001").get_data(as_text=True)
    assert '<option value="2001" selected>' in page


def test_the_name_choice_says_that_visitors_without_an_account_see_it(client, auth, make):
    user = make.user(display_name="Ai", locale="ja")
    auth.login_as(user)
    page = client.get(f"/people/{user.id}/coworkers").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*name="appear_by_name"[^>]*>', page)[0]
    assert 'aria-describedby="appear_by_name-help"' in checkbox
    help_text = re.search(r'<div id="appear_by_name-help">(.*?)</div>', page, re.S)[1]
    assert "「リンクを知っている人」" in help_text
    assert "アカウントを持たない訪問者にもあなたの名前が表示されます" in help_text
    user.locale = "en"
    db.session.commit()
    page = client.get(f"/people/{user.id}/coworkers").get_data(as_text=True)
    assert "visitors without an account see your name there too" in page
