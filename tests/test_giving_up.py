"""Giving up a place says what was given up (trial of issue 9, T4): a confirmed place, a
waitlist place and a request each have their own button, question, message and email, in
both languages, and none of them reads as leaving the whole session."""

import re
from datetime import date, timedelta

import pytest

from studygroup.extensions import db
from tests.factories import slots_of

EN = {
    "confirmed": (
        "Give up this role",
        "Give up your place as Setup?",
        "You gave up your place as Setup.",
        "Cancelled: Setup, Monthly meetup",
        "Your place is cancelled. Thank you for letting us know in time.",
    ),
    "waitlisted": (
        "Leave the waitlist",
        "Leave the waitlist for Setup?",
        "You left the waitlist for Setup.",
        "Off the waitlist: Setup, Monthly meetup",
        "You left the waitlist for this role. Thank you for letting us know.",
    ),
    "requested": (
        "Withdraw the request",
        "Withdraw your request for Speaker?",
        "Your request for Speaker is withdrawn.",
        "Request withdrawn: Speaker, Monthly meetup",
        "You withdrew your request for this role. Thank you for letting us know.",
    ),
}
JA = {
    "confirmed": (
        "この役割の申し込みを取り消す",
        "設営の申し込みを取り消しますか？",
        "設営の申し込みを取り消しました。",
        "キャンセル完了: Monthly meetup の設営",
        "参加登録をキャンセルしました。",
    ),
    "waitlisted": (
        "キャンセル待ちを取り下げる",
        "設営のキャンセル待ちを取り下げますか？",
        "設営のキャンセル待ちを取り下げました。",
        "キャンセル待ちを取り下げました: Monthly meetup の設営",
        "この役割のキャンセル待ちを取り下げました。",
    ),
    "requested": (
        "申請を取り下げる",
        "登壇者の申請を取り下げますか？",
        "登壇者の申請を取り下げました。",
        "申請を取り下げました: Monthly meetup の登壇者",
        "この役割への申請を取り下げました。",
    ),
}


def _give_up_form(page: str) -> tuple[str, str]:
    form = re.search(
        r'<form[^>]*/cancel"[^>]*data-confirm="([^"]*)">.*?<button[^>]*>([^<]*)<', page, re.S
    )
    assert form, "no give-up form"
    return form[2], form[1]


@pytest.mark.parametrize("lang, words", [("en", EN), ("ja", JA)])
@pytest.mark.parametrize("status", ["confirmed", "waitlisted", "requested"])
def test_each_kind_of_place_is_given_up_in_its_own_words(
    client, auth, make, smtp_server, lang, words, status
):
    button, question, flashed, subject, first_line = words[status]
    group = make.group()
    member = make.member(group, make.user("kana@example.com", display_name="Kana", locale=lang))
    session = make.session(group, day=date.today() + timedelta(days=10))
    slots = slots_of(session)
    if status == "waitlisted":
        slots["setup"].headcount = 1
        db.session.commit()
        auth.login_as(make.member(group))
        client.post(f"/g/{group.slug}/slots/{slots['setup'].id}/signup")
    slot = slots["speaker" if status == "requested" else "setup"]
    auth.login_as(member)
    client.post(
        f"/g/{group.slug}/slots/{slot.id}/signup",
        data={"talk_title": "A talk"} if status == "requested" else {},
    )
    smtp_server.messages.clear()

    for path in (f"/g/{group.slug}/sessions/{session.id}", "/schedule"):
        page = client.get(path).get_data(as_text=True)
        assert _give_up_form(page) == (button, question), path

    place_id = re.search(r"/places/(\d+)/cancel", page)[1]
    done = client.post(f"/g/{group.slug}/places/{place_id}/cancel", follow_redirects=True)
    assert re.findall(
        r'<p class="flash success"[^>]*>([^<]*)</p>', done.get_data(as_text=True)
    ) == [flashed]
    [email] = smtp_server.to("kana@example.com")
    assert email["Subject"] == subject
    assert first_line in email.get_content()
