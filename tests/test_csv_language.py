"""CSV downloads speak the reader's language: headers, statuses, attendance and dates; the
BOM (Excel reads UTF-8) and the formula guard stay."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.signups.models import Attendance
from studygroup.signups.organizing import assign, set_attendance
from studygroup.signups.services import sign_up
from tests.factories import slots_of

NOW = datetime.now(UTC)

HEADERS = {
    "ja": {
        "staffing": [
            "開催回",
            "開催日",
            "役割",
            "開始",
            "終了",
            "メンバー",
            "状態",
            "キャンセル待ちの順番",
            "出欠",
            "発表",
        ],
        "records": ["メンバー", "出席回数", "役割", "最終出席日", "欠席回数"],
        "coworkers": [
            "名前",
            "一緒に活動した回数",
            "うち同じ役割・時間帯",
            "一緒に担当した役割",
            "初めて一緒に活動した日",
            "最後に一緒に活動した日",
        ],
    },
    "en": {
        "staffing": [
            "Session",
            "Date",
            "Role",
            "From",
            "To",
            "Member",
            "Status",
            "Number on the waitlist",
            "Attendance",
            "Talk",
        ],
        "records": ["Member", "Sessions worked", "Roles", "Last worked", "No-shows"],
        "coworkers": [
            "Name",
            "Sessions together",
            "Of those, side by side",
            "Roles shared",
            "First together",
            "Last together",
        ],
    },
}


def _rows(response) -> list[list[str]]:
    raw = response.get_data()
    assert response.mimetype == "text/csv"
    assert raw.startswith("\ufeff".encode())  # the BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def history(make):
    """A past session (2026-like date in Tokyo): Ai worked setup, =SUM(1) was a no-show at
    setup; and an upcoming one with a confirmed place, a waitlist place and a request."""
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    ai = make.member(group, make.user(display_name="Ai"))
    formula = make.member(group, make.user(display_name="=SUM(1)"))
    bo = make.member(group, make.user(display_name="Bo"))
    day = date.today() - timedelta(days=20)
    past = make.session(group, day=day, title="第1回")
    roles = slots_of(past)
    assign(db.session, organizer=organizer, member=ai, slot=roles["setup"], now=NOW)
    assign(db.session, organizer=organizer, member=bo, slot=roles["setup"], now=NOW)
    absent = assign(db.session, organizer=organizer, member=formula, slot=roles["setup"], now=NOW)
    set_attendance(
        db.session, organizer=organizer, place=absent.place, attendance=Attendance.NO_SHOW, now=NOW
    )
    upcoming = make.session(group, day=date.today() + timedelta(days=10), title="第2回")
    later = slots_of(upcoming)
    later["reception"].headcount = 1
    sign_up(db.session, member=ai, slot=later["reception"], now=NOW)
    sign_up(db.session, member=bo, slot=later["reception"], now=NOW)
    sign_up(db.session, member=formula, slot=later["speaker"], now=NOW, talk_title="-1+1")
    db.session.commit()
    return organizer, group, ai, past, upcoming, day


@pytest.mark.parametrize(
    ("locale", "day_format", "words"),
    [
        (
            "ja",
            "%Y/%m/%d",
            {
                "confirmed": "確定",
                "waitlist": "キャンセル待ち",
                "requested": "承認待ち",
                "worked": "未記録",
                "no_show": "欠席",
                "setup": "設営 ×1",
            },
        ),
        (
            "en",
            "%Y-%m-%d",
            {
                "confirmed": "Confirmed",
                "waitlist": "Waitlist",
                "requested": "Waiting for approval",
                "worked": "Not recorded",
                "no_show": "No-show",
                "setup": "Setup ×1",
            },
        ),
    ],
)
def test_csv_files_speak_the_readers_language(client, auth, history, locale, day_format, words):
    organizer, group, ai, past, upcoming, day = history
    organizer.locale = locale
    ai.locale = locale
    db.session.commit()
    auth.login_as(organizer)
    when = day.strftime(day_format)

    staffing = _rows(client.get(f"/g/{group.slug}/sessions/{past.id}/staffing.csv"))
    assert staffing[0] == HEADERS[locale]["staffing"]
    by_member = {row[5]: row for row in staffing[1:]}
    assert by_member["Ai"][1] == when and by_member["Ai"][3:5] == [
        "9:00" if locale == "ja" else "09:00",
        "10:00",
    ]
    assert by_member["Ai"][6] == words["confirmed"] and by_member["Ai"][8] == words["worked"]
    assert by_member["'=SUM(1)"][8] == words["no_show"]  # and the formula stays text

    coming = _rows(client.get(f"/g/{group.slug}/sessions/{upcoming.id}/staffing.csv"))
    statuses = {(row[5], row[6], row[7]) for row in coming[1:]}
    assert ("Ai", words["confirmed"], "") in statuses
    assert ("Bo", words["waitlist"], "1") in statuses
    assert ("'=SUM(1)", words["requested"], "") in statuses
    assert [row[9] for row in coming[1:] if row[9]] == ["'-1+1"]

    records = _rows(client.get(f"/g/{group.slug}/records.csv"))
    assert records[0] == HEADERS[locale]["records"]
    ai_record = next(row for row in records[1:] if row[0] == "Ai")
    assert ai_record[1:4] == ["1", words["setup"], when]

    auth.login_as(ai)
    coworkers = _rows(client.get(f"/people/{ai.id}/coworkers.csv"))
    assert coworkers[0] == HEADERS[locale]["coworkers"]
    assert coworkers[1] == ["Bo", "1", "1", words["setup"], when, when]
