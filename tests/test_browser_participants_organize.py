"""The organizers' participant pages in a real browser: the session's participant settings
(a larger capacity moves the waitlist up), the questions editor (add, move up), and the list
with answers, check-in times and the cancelled folded away. Desktop in English, a 360 px
phone in Japanese; nothing scrolls sideways on the phone.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from studygroup.extensions import db
from studygroup.participants.models import (
    Participant,
    ParticipantAnswer,
    ParticipantQuestion,
    ParticipantStatus,
    QuestionKind,
)
from tests import factories
from tests import test_browser as shared
from tests.test_browser import DESKTOP, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot

PHONE_360 = {"width": 360, "height": 740}

PEOPLE = [
    ("長谷川 ひかり", "はせがわ ひかり", "株式会社サンプル開発本部", "yes"),
    ("勅使河原 健太郎", "てしがわら けんたろう", "", "no"),
    ("Emily Clarke", None, "Example Ltd.", "yes"),
    ("小野寺 美咲", "おのでら みさき", "フリーランス", "no"),
    ("五十嵐 翔太", "いがらし しょうた", "大学院生", "yes"),
]


@dataclass(frozen=True)
class Seeded:
    organizer_email: str
    slug: str
    session_id: int


def _seed(app, locale: str) -> Seeded:
    """A session with 3 seats: three registered (one checked in, one walked in), two waiting,
    one cancelled; two questions with answers."""
    now = datetime.now(UTC)
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="佐藤 美咲", locale=locale)
        group = make.group(organizer, name="渋谷Python勉強会", slug="shibuya-py")
        session = make.session(group, title="第12回 Pythonもくもく会")
        session.participant_capacity = 3
        company = ParticipantQuestion(session_id=session.id, text="所属（会社名など）", position=0)
        party = ParticipantQuestion(
            session_id=session.id,
            text="懇親会に参加しますか？",
            kind=QuestionKind.YES_NO,
            position=1,
        )
        db.session.add_all([company, party])
        db.session.flush()
        for n, (name, reading, works_at, joins) in enumerate([*PEOPLE, ("Ken Ito", None, "", "")]):
            user = make.member(group, make.user(display_name=name))
            user.reading = reading
            status = (
                ParticipantStatus.REGISTERED
                if n < 3
                else ParticipantStatus.WAITLISTED
                if n < 5
                else ParticipantStatus.CANCELLED
            )
            row = Participant(
                session_id=session.id,
                user_id=user.id,
                status=status,
                registered_at=now if status == ParticipantStatus.REGISTERED else None,
                waitlist_position=n if status == ParticipantStatus.WAITLISTED else None,
                cancelled_at=now if status == ParticipantStatus.CANCELLED else None,
                checked_in_at=now if n == 0 else None,
                walk_in=n == 2,
            )
            db.session.add(row)
            db.session.flush()
            for question, text in ((company, works_at), (party, joins)):
                if text:
                    db.session.add(
                        ParticipantAnswer(
                            participant_id=row.id, question_id=question.id, answer=text
                        )
                    )
        db.session.commit()
        seeded = Seeded(organizer.email, group.slug, session.id)
        db.session.remove()
    return seeded


@pytest.mark.parametrize(
    ("locale", "viewport", "size", "words"),
    [
        (
            "en",
            DESKTOP,
            "desktop",
            {
                "save": "Save the session",
                "moved": "Moved up from the waitlist: 小野寺 美咲.",
                "add": "Add the question",
                "up": "Move “Dietary needs?” up",
                "count": "Registered: 4 of 4",
                "yes": "Yes",
                "cancelled": "Cancelled registrations (1)",
            },
        ),
        (
            "ja",
            PHONE_360,
            "phone",
            {
                "save": "開催回を保存",
                "moved": "キャンセル待ちから繰り上がった人: 小野寺 美咲",
                "add": "質問を追加する",
                "up": "「Dietary needs?」を上へ",
                "count": "参加登録: 4人／定員4人",
                "yes": "はい",
                "cancelled": "キャンセルした人 (1)",
            },
        ),
    ],
)
def test_an_organizer_sets_seats_asks_questions_and_reads_the_list(
    live, new_context, screenshot, locale, viewport, size, words
):
    from playwright.sync_api import expect

    seeded = _seed(live.app, locale)
    context, problems = new_context(locale, viewport)
    page = context.new_page()
    _log_in(page, live.url, seeded.organizer_email)
    base = f"{live.url}/g/{seeded.slug}/sessions/{seeded.session_id}"

    def look(name):
        screenshot(page, f"participants-organize-{name}-{locale}-{size}")
        if size == "phone":
            width, inner = _no_horizontal_scroll(page)
            assert width <= inner, name

    page.goto(f"{base}/edit")
    settings = page.locator("#participant-settings")
    expect(settings.locator("input[name=takes_participants]")).to_be_checked()
    settings.locator("input[name=participant_capacity]").fill("4")
    look("settings")
    page.get_by_role("button", name=words["save"]).click()
    expect(page.locator(".flash").filter(has_text=words["moved"])).to_be_visible()

    page.goto(f"{base}/participants/questions")
    page.locator("input[name=text]").fill("Dietary needs?")
    page.get_by_role("button", name=words["add"]).click()
    page.get_by_role("button", name=words["up"]).click()
    questions = page.locator("ol.questions > li input[type=text]")
    expect(questions.nth(1)).to_have_value("Dietary needs?")
    look("questions")

    page.goto(f"{base}/participants")
    expect(page.locator("#participants")).to_contain_text(words["count"])
    registered = page.locator("#registered")
    expect(registered).to_contain_text("株式会社サンプル開発本部")
    expect(registered).to_contain_text("はせがわ ひかり")
    expect(registered).to_contain_text(words["yes"])
    cancelled = page.locator("#cancelled")
    expect(cancelled.locator("summary")).to_have_text(words["cancelled"])
    expect(cancelled.get_by_text("Ken Ito")).to_be_hidden()  # folded away until opened
    look("list")
    assert problems.found == []


@pytest.mark.parametrize(
    ("locale", "viewport", "size", "words"),
    [
        ("ja", PHONE_360, "phone", {"post": "公開する", "series": "まとめて公開する"}),
        ("en", DESKTOP, "desktop", {"post": "Post the session", "series": "Post the sessions"}),
    ],
)
def test_a_new_session_and_a_new_series_take_participants_from_their_forms(
    live, new_context, screenshot, locale, viewport, size, words
):
    """The participants fieldset on the new-session and series forms: seats set there, no
    edit afterwards; on a phone nothing scrolls sideways."""
    from playwright.sync_api import expect

    from studygroup.sessions.models import StudySession

    with live.app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="佐藤 美咲", locale=locale)
        group_id = make.group(organizer, name="渋谷Python勉強会", slug="shibuya-py").id
        db.session.commit()
        db.session.remove()
    context, problems = new_context(locale, viewport)
    page = context.new_page()
    _log_in(page, live.url, "organizer@example.com")

    def look(name):
        screenshot(page, f"participants-new-{name}-{locale}-{size}")
        if size == "phone":
            width, inner = _no_horizontal_scroll(page)
            assert width <= inner, name

    page.goto(f"{live.url}/g/shibuya-py/sessions/new")
    form = page.locator("main form")
    form.locator("input[name=title]").fill("第13回 もくもく会")
    form.locator("input[name=day]").fill("2027-03-13")
    form.locator("input[name=start_time]").fill("13:00")
    form.locator("input[name=end_time]").fill("17:00")
    settings = page.locator("#participant-settings")
    settings.locator("input[name=takes_participants]").check()
    settings.locator("input[name=participant_capacity]").fill("25")
    settings.locator("input[name=participant_cancel_hours_before]").fill("24")
    look("session")
    page.get_by_role("button", name=words["post"], exact=True).click()
    expect(page.locator("#participants, .participants").first).to_be_visible()

    page.goto(f"{live.url}/g/shibuya-py/series/new")
    form = page.locator("main form")
    form.locator("input[name=title]").fill("月例会")
    form.locator("input[name=first_day]").fill("2027-04-01")
    form.locator("input[name=months]").fill("3")
    form.locator("input[name=start_time]").fill("19:00")
    form.locator("input[name=end_time]").fill("21:00")
    settings = page.locator("#participant-settings")
    settings.locator("input[name=takes_participants]").check()
    settings.locator("input[name=participant_capacity]").fill("40")
    look("series")
    page.get_by_role("button", name=words["series"], exact=True).click()
    page.wait_for_url(f"{live.url}/g/shibuya-py")
    with live.app.app_context():
        sessions = db.session.scalars(
            db.select(StudySession).where(StudySession.group_id == group_id)
        ).all()
        seats = sorted((s.title, s.participant_capacity) for s in sessions)
        db.session.remove()
    assert seats[0] == ("月例会", 40) and len(seats) == 4  # third Saturdays: Apr, May, Jun
    assert seats[-1] == ("第13回 もくもく会", 25)
    assert problems.found == []
