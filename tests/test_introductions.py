"""Introductions (紹介): who may introduce whom, who sees what of one (every combination that
matters), the double opt-in over real SMTP, requests, limits and "don't introduce me"."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import Membership, MembershipStatus, Visibility
from studygroup.introductions import services
from studygroup.introductions.models import (
    Answer,
    Introduction,
    IntroductionRequest,
    UnsentIntroduction,
)
from studygroup.introductions.seen import seen_by
from studygroup.introductions.services import (
    answer_introduction,
    ask_for_introduction,
    check_may_ask,
    check_may_introduce,
    make_introduction,
)
from studygroup.mail.models import OutboundEmail
from studygroup.rules import RuleViolation
from tests.factories import slots_of
from tests.test_coworking import put

NOW = datetime.now(UTC)
NOTE = "Takeda is looking for a first project; Kobayashi needs help with a factory dashboard"


@pytest.fixture
def crew(make):
    """Tokyo Python (public, organized by Org): Su worked a session with Ta and Ko; Th and Lf
    are members who worked with no one. Secret (members only, organized by Oz): Su worked a
    session with It. Su is in both groups; Ta, Ko, Th and Lf only in Tokyo Python."""
    org = make.user("org@example.com", display_name="Org")
    group = make.group(org, name="Tokyo Python")
    p = {
        n: make.member(group, make.user(f"{n.lower()}@example.com", display_name=n))
        for n in ("Su", "Ta", "Ko", "Th", "Lf")
    }
    session = make.session(group, day=date.today() - timedelta(days=3), title="Meetup #11")
    r = slots_of(session)
    put(org, p["Su"], r["setup"])
    put(org, p["Ta"], r["setup"])
    put(org, p["Ko"], r["reception"])
    oz = make.user("oz@example.com", display_name="Oz")
    secret = make.group(oz, name="Secret Circle", visibility=Visibility.MEMBERS)
    make.member(secret, p["Su"])
    p["It"] = make.member(secret, make.user("it@example.com", display_name="It"))
    hidden = make.session(secret, day=date.today() - timedelta(days=5), title="Closed meetup")
    h = slots_of(hidden)
    put(oz, p["Su"], h["setup"])
    put(oz, p["It"], h["setup"])
    db.session.commit()
    p["Org"], p["Oz"] = org, oz
    return group, secret, p


def may_introduce(db_session, introducer, first, second, *, now):
    try:
        check_may_introduce(db_session, introducer, first, second, now=now)
    except RuleViolation:
        return False
    return True


def may_ask(db_session, requester, via, target, *, now):
    try:
        check_may_ask(db_session, requester, via, target, now=now)
    except RuleViolation:
        return False
    return True


def emails(kind):
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboundEmail).where(OutboundEmail.kind == kind)
    )


def introduce(introducer, first, second, note=NOTE, now=NOW):
    introduction = make_introduction(
        db.session, introducer=introducer, first=first, second=second, note=note, now=now
    )
    db.session.commit()
    return introduction


def answer(introduction, member, accept=True):
    answer_introduction(db.session, introduction, member=member, accept=accept, now=NOW)
    db.session.commit()


def leave(group, member):
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.group_id == group.id, Membership.user_id == member.id
        )
    )
    membership.status = MembershipStatus.LEFT
    db.session.commit()


def text(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


# --- who may introduce whom ---------------------------------------------------------------


def test_co_workers_of_the_introducer_may_be_introduced(crew):
    _group, _secret, p = crew
    assert may_introduce(db.session, p["Su"], p["Ta"], p["Ko"], now=NOW)
    # Co-workers from two groups: the introduction names neither.
    assert may_introduce(db.session, p["Su"], p["Ta"], p["It"], now=NOW)
    # A member who worked with neither, and an organizer of a group only one of them is in.
    assert not may_introduce(db.session, p["Th"], p["Ta"], p["Ko"], now=NOW)
    assert not may_introduce(db.session, p["Oz"], p["Ta"], p["It"], now=NOW)
    # Not oneself, not the same person twice.
    assert not may_introduce(db.session, p["Su"], p["Su"], p["Ko"], now=NOW)
    assert not may_introduce(db.session, p["Su"], p["Ko"], p["Ko"], now=NOW)
    with pytest.raises(RuleViolation, match="introduce yourself"):
        introduce(p["Su"], p["Su"], p["Ko"])
    with pytest.raises(RuleViolation, match="worked with"):
        introduce(p["Th"], p["Ta"], p["Ko"])


def test_an_organizer_introduces_two_current_members_of_their_group(crew):
    group, _secret, p = crew
    assert may_introduce(db.session, p["Org"], p["Th"], p["Lf"], now=NOW)
    # Who left the group no longer counts as "in a group I organize"...
    leave(group, p["Lf"])
    assert not may_introduce(db.session, p["Org"], p["Th"], p["Lf"], now=NOW)
    # ... but stays a co-worker: history stays.
    leave(group, p["Ta"])
    assert may_introduce(db.session, p["Su"], p["Ta"], p["Ko"], now=NOW)


def test_dont_introduce_me(crew, client, auth):
    _group, _secret, p = crew
    auth.login_as(p["Ko"])
    page = text(client, f"/people/{p['Ko'].id}/coworkers")
    assert "Take introductions" in page
    client.post(
        "/coworkers/privacy",
        data={"coworkers_visibility": "shared_groups", "appear_by_name": "y", "accept_thanks": "y"},
    )
    db.session.refresh(p["Ko"])
    assert p["Ko"].accept_introductions is False
    with pytest.raises(RuleViolation, match="Ko does not take introductions"):
        introduce(p["Su"], p["Ta"], p["Ko"])
    assert p["Ko"] not in services.introducible(db.session, p["Su"], now=NOW)[0]
    # Nor can they ask for one. Asking to meet them is not refused (that would tell their
    # choice): the request passes at once and Su is not told.
    assert not may_ask(db.session, p["Ko"], p["Su"], p["Ta"], now=NOW)
    request = ask_for_introduction(
        db.session, requester=p["Ta"], via=p["Su"], target=p["Ko"], note="", now=NOW
    )
    db.session.commit()
    assert request.passed_at is not None and emails("introduction_requested") == 0
    # Someone who does not know Ko is not told of Ko's choice.
    with pytest.raises(RuleViolation, match="worked with"):
        introduce(p["Th"], p["Ta"], p["Ko"])


def test_a_co_worker_hidden_by_name_cannot_be_picked_except_by_an_organizer(crew):
    _group, _secret, p = crew
    p["Ko"].appear_by_name = False
    db.session.commit()
    assert not may_introduce(db.session, p["Su"], p["Ta"], p["Ko"], now=NOW)
    assert p["Ko"] not in services.introducible(db.session, p["Su"], now=NOW)[0]
    assert may_introduce(db.session, p["Org"], p["Ta"], p["Ko"], now=NOW)


# --- who sees what ----------------------------------------------------------------------------


def test_who_sees_an_introduction_waiting_declined_and_accepted(crew, client, auth):
    _group, _secret, p = crew
    introduction = introduce(p["Su"], p["Ta"], p["Ko"])
    path = f"/introductions/{introduction.id}"
    # A third member, an organizer of their group, someone of another group: nothing at all.
    for who in ("Th", "Org", "It", "Oz"):
        assert seen_by(introduction, p[who]) is None
        auth.login_as(p[who])
        assert client.get(path).status_code == 404
        assert client.post(f"{path}/answer", data={"answer": "accept"}).status_code == 404
        index = re.sub(r'value="[^"]*"', "", text(client, "/introductions"))  # CSRF token
        assert "Ta" not in index and "Ko" not in index and NOTE not in index
    # Waiting: each side is asked without seeing the other's name or the note (it names them).
    for me, other in (("Ta", "Ko"), ("Ko", "Ta")):
        auth.login_as(p[me])
        page = text(client, path)
        assert "Su would like to introduce you to someone they know." in page
        assert f">{other}<" not in page and NOTE not in page and f"{other.lower()}@" not in page
        assert "Su would like to introduce you" in text(client, "/introductions")
    auth.login_as(p["Su"])
    assert "Waiting" in text(client, path) and NOTE in text(client, path)

    # Ta declines: Ta sees their answer; Ko and Su see nothing of it.
    auth.login_as(p["Ta"])
    client.post(f"{path}/answer", data={"answer": "decline"})
    assert "You declined Su's introduction" in text(client, path)
    auth.login_as(p["Su"])
    assert "Waiting" in text(client, path) and "declin" not in text(client, path).lower()
    assert "Waiting" in text(client, "/introductions")
    auth.login_as(p["Ko"])
    assert "Su would like to introduce you to someone they know." in text(client, path)
    client.post(f"{path}/answer", data={"answer": "accept"})
    page = text(client, path)
    assert "You accepted Su's introduction" in page and "declin" not in page.lower()
    assert "Ta" not in page.replace("Take", "")  # nothing shared
    auth.login_as(p["Su"])
    assert "Waiting" in text(client, path)
    db.session.refresh(introduction)
    assert introduction.completed_at is None


def test_both_accept_then_each_sees_the_others_name_note_and_address(crew, client, auth):
    _group, _secret, p = crew
    introduction = introduce(p["Su"], p["Ta"], p["Ko"])
    path = f"/introductions/{introduction.id}"
    answer(introduction, p["Ta"])
    auth.login_as(p["Ta"])
    assert "ko@example.com" not in text(client, path)
    auth.login_as(p["Ko"])
    client.post(f"{path}/answer", data={"answer": "accept"})
    for me, other in (("Ta", "Ko"), ("Ko", "Ta")):
        auth.login_as(p[me])
        for page in (text(client, path), text(client, "/introductions")):
            assert f"{other.lower()}@example.com" in page and NOTE in page
            assert ">" + other + "<" in page
    auth.login_as(p["Su"])
    page = text(client, path)
    assert "Both accepted" in page and "ta@example.com" not in page
    # Still nothing to a third member or an organizer.
    for who in ("Th", "Org"):
        auth.login_as(p[who])
        assert client.get(path).status_code == 404
    # An answer is final: answering again changes nothing, and says so.
    auth.login_as(p["Ta"])
    again = client.post(f"{path}/answer", data={"answer": "decline"}, follow_redirects=True)
    assert "You have answered already." in again.get_data(as_text=True)
    assert "You declined" not in again.get_data(as_text=True)
    db.session.refresh(introduction)
    assert introduction.first_answer == Answer.ACCEPTED and introduction.is_accepted


def test_an_accepted_introduction_shows_on_both_co_worker_pages_in_the_readers_words(
    crew, client, auth
):
    _group, _secret, p = crew
    introduction = introduce(p["Su"], p["Ta"], p["It"])
    answer(introduction, p["Ta"])
    answer(introduction, p["It"])
    month = introduction.completed_at.astimezone().strftime
    for me, other in (("Ta", "It"), ("It", "Ta")):
        auth.login_as(p[me])
        page = text(client, f"/people/{p[me].id}/coworkers")
        assert f"introduced by Su ({month('%b %Y')})" in page
        assert other in page
    p["Ta"].locale = "ja"
    db.session.commit()
    auth.login_as(p["Ta"])
    page = text(client, f"/people/{p['Ta'].id}/coworkers")
    assert f"Suさんの紹介（{introduction.completed_at.year}年" in page
    # Others looking at Ta's page see none of it (the Secret Circle's It above all).
    auth.login_as(p["Ko"])
    page = text(client, f"/people/{p['Ta'].id}/coworkers")
    assert "introduced by" not in page and ">It<" not in page


def test_the_members_only_group_never_leaks(crew, client, auth, make):
    _group, secret, p = crew
    # Ta (outside Secret Circle) cannot learn that Su worked with It there by asking.
    for who in ("Ta", "Th"):
        assert not may_ask(db.session, p[who], p["Su"], p["It"], now=NOW)
        auth.login_as(p[who])
        assert client.get(f"/introductions/ask?via={p['Su'].id}&to={p['It'].id}").status_code == 404
    # Su may introduce them all the same; nothing names the group, in pages or emails.
    introduction = introduce(p["Su"], p["Ta"], p["It"])
    answer(introduction, p["Ta"])
    answer(introduction, p["It"])
    bodies = [
        m.body + m.subject
        for m in db.session.scalars(
            sa.select(OutboundEmail).where(OutboundEmail.kind.startswith("introduction"))
        )
    ]
    assert bodies and not any("Secret" in b or "Tokyo Python" in b for b in bodies)
    for who in ("Ta", "It", "Su"):
        auth.login_as(p[who])
        for path in ("/introductions", f"/introductions/{introduction.id}"):
            page = text(client, path)
            assert "Secret" not in page and "Closed meetup" not in page


# --- asking -----------------------------------------------------------------------------------


def test_asking_for_an_introduction_and_letting_it_pass(crew, client, auth):
    _group, _secret, p = crew
    auth.login_as(p["Ta"])
    ask = f"/introductions/ask?via={p['Su'].id}&to={p['Ko'].id}"
    page = text(client, ask)
    assert "Ask Su to introduce you to Ko." in page
    response = client.post(ask, data={"note": "I would like to help with the dashboard"})
    assert response.status_code == 302
    assert "You asked Su to introduce you to Ko." in text(client, "/introductions")
    # Twice is once.
    assert client.post(ask, data={"note": ""}).status_code == 422
    auth.login_as(p["Su"])
    page = text(client, "/introductions")
    assert "Ta asks you to introduce them to Ko." in page
    assert "I would like to help with the dashboard" in page
    assert f"/introductions/new?first={p['Ta'].id}&amp;second={p['Ko'].id}" in page
    [request] = db.session.scalars(sa.select(IntroductionRequest)).all()
    client.post(f"/introductions/requests/{request.id}/pass")
    assert "Ta asks you" not in text(client, "/introductions")
    db.session.refresh(request)
    assert request.passed_at is not None  # kept, never deleted
    # Ta is told nothing: still "asked".
    auth.login_as(p["Ta"])
    assert "You asked Su to introduce you to Ko." in text(client, "/introductions")
    kinds = db.session.scalars(
        sa.select(OutboundEmail.kind).where(OutboundEmail.kind.startswith("introduction"))
    )
    assert list(kinds) == ["introduction_requested"]
    # Only the one asked can let it pass; nobody else learns of it.
    auth.login_as(p["Ko"])
    assert client.post(f"/introductions/requests/{request.id}/pass").status_code == 404


def test_making_the_asked_introduction_answers_the_request(crew, client, auth):
    _group, _secret, p = crew
    ask_for_introduction(
        db.session, requester=p["Ta"], via=p["Su"], target=p["Ko"], note="", now=NOW
    )
    db.session.commit()
    auth.login_as(p["Su"])
    page = text(client, f"/introductions/new?first={p['Ta'].id}&second={p['Ko'].id}")
    assert f'<option selected value="{p["Ta"].id}">' in page
    response = client.post(
        "/introductions/new",
        data={"first": p["Ta"].id, "second": p["Ko"].id, "note": NOTE},
    )
    assert response.status_code == 302
    [request] = db.session.scalars(sa.select(IntroductionRequest)).all()
    assert request.introduction_id is not None
    assert "Ta asks you" not in text(client, "/introductions")


def test_asking_never_tells_anyone_the_targets_choice(crew, client, auth):
    """Th shares a group with Su but never worked with Su: refused in the same words whatever
    Ta chose. Ta, Su's co-worker, asking to meet Ko who chose "don't introduce me": "asked",
    like any request Su lets pass, and Su hears nothing of it."""
    _group, _secret, p = crew

    def flashed(path, **post):
        response = client.post(path, data=post) if post else client.get(path)
        assert response.status_code == 302
        return text(client, response.headers["Location"])

    auth.login_as(p["Th"])
    to_ta = f"/introductions/ask?via={p['Su'].id}&to={p['Ta'].id}"
    before = flashed(to_ta)
    p["Ta"].accept_introductions = False
    db.session.commit()
    after = flashed(to_ta)
    assert "Su cannot introduce you." in before and "Su cannot introduce you." in after
    assert "take introductions" not in after
    # The co-worker page offers "Ask Su" only to those Su worked with.
    assert "Ask Su for an introduction" not in text(client, f"/people/{p['Su'].id}/coworkers")
    auth.login_as(p["Ko"])
    assert "Ask Su for an introduction" in text(client, f"/people/{p['Su'].id}/coworkers")

    auth.login_as(p["Ta"])
    p["Ta"].accept_introductions = True
    p["Ko"].accept_introductions = False
    db.session.commit()
    to_ko = f"/introductions/ask?via={p['Su'].id}&to={p['Ko'].id}"
    assert "Ask Su to introduce you to Ko." in text(client, to_ko)
    page = flashed(to_ko, note="Dashboards")
    assert "You asked Su to introduce you to Ko." in page
    [request] = db.session.scalars(sa.select(IntroductionRequest)).all()
    assert request.passed_at is not None and emails("introduction_requested") == 0
    auth.login_as(p["Su"])
    assert "Ta asks you" not in text(client, "/introductions")


def test_asking_again_never_tells_that_the_request_passed(crew, client, auth):
    _group, _secret, p = crew
    auth.login_as(p["Ta"])
    ask = f"/introductions/ask?via={p['Su'].id}&to={p['Ko'].id}"
    assert client.post(ask, data={"note": ""}).status_code == 302
    [request] = db.session.scalars(sa.select(IntroductionRequest)).all()
    auth.login_as(p["Su"])
    client.post(f"/introductions/requests/{request.id}/pass")
    auth.login_as(p["Ta"])
    again = client.post(ask, data={"note": ""})
    assert again.status_code == 422
    assert "You have asked Su for this introduction already." in again.get_data(as_text=True)
    assert emails("introduction_requested") == 1


def test_who_may_ask_whom(crew):
    group, _secret, p = crew
    # Via an organizer of a group both are in (no co-working needed).
    assert may_ask(db.session, p["Th"], p["Org"], p["Lf"], now=NOW)
    # Not via someone who never worked with the requester, nor to oneself.
    assert not may_ask(db.session, p["Th"], p["Su"], p["Ko"], now=NOW)
    assert not may_ask(db.session, p["Ta"], p["Su"], p["Ta"], now=NOW)
    leave(group, p["Lf"])
    assert not may_ask(db.session, p["Th"], p["Org"], p["Lf"], now=NOW)


def test_requests_leave_the_asked_members_list_once_a_side_opts_out(crew, client, auth):
    _group, _secret, p = crew
    for requester, target in (("Th", "Lf"), ("Ta", "Ko")):
        ask_for_introduction(
            db.session, requester=p[requester], via=p["Org"], target=p[target], note="", now=NOW
        )
    db.session.commit()
    auth.login_as(p["Org"])
    assert 'title="2 wait for you"' in text(client, "/groups")
    p["Lf"].accept_introductions = False  # a target
    db.session.commit()
    page = text(client, "/introductions")
    assert "Ta asks you to introduce them to Ko." in page and "Th asks you" not in page
    assert 'title="1 waits for you"' in page
    p["Ta"].accept_introductions = False  # a requester
    db.session.commit()
    page = text(client, "/introductions")
    assert "asks you to introduce" not in page and "wait for you" not in page


# --- limits and duplicates -------------------------------------------------------------------


def test_a_pair_is_introduced_once_and_a_decline_stays_private(crew, client, auth):
    """A second introducer of a pair whose introduction has not completed (waiting or
    declined, they cannot tell) sees theirs made and waiting; nothing is stored in the
    pair's introduction and nobody is emailed. Only its own introducer, a second attempt, or
    a completed introduction gets "introduced already"."""
    _group, _secret, p = crew
    first = introduce(p["Su"], p["Ta"], p["Ko"])
    answer(first, p["Ta"], accept=False)
    sent = emails("introduction_made")
    with pytest.raises(RuleViolation, match="Ta and Ko have been introduced already"):
        introduce(p["Su"], p["Ta"], p["Ko"])
    db.session.rollback()
    # Ko asked Org for it (Org organizes a group they are both in): the same for the request.
    ask_for_introduction(
        db.session, requester=p["Ko"], via=p["Org"], target=p["Ta"], note="", now=NOW
    )
    db.session.commit()
    auth.login_as(p["Org"])
    response = client.post(
        "/introductions/new", data={"first": p["Ko"].id, "second": p["Ta"].id, "note": "Meet!"}
    )
    assert response.status_code == 302
    page = text(client, response.headers["Location"])
    assert "Your introduction is sent to Ko and Ta." in page
    assert "Ta and Ko" in page and "Waiting" in page and "Meet!" in page
    assert "Ko asks you" not in page and 'title="1 waits' not in page
    assert emails("introduction_made") == sent
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Introduction)) == 1
    assert db.session.scalar(sa.select(UnsentIntroduction.note)) == "Meet!"
    for who in ("Ta", "Ko"):  # the pair sees nothing of it
        auth.login_as(p[who])
        assert "Meet!" not in text(client, "/introductions")
    auth.login_as(p["Org"])
    again = client.post(
        "/introductions/new", data={"first": p["Ko"].id, "second": p["Ta"].id, "note": "x"}
    )
    assert again.status_code == 422 and "have been introduced already" in again.get_data(True)
    # Completed: saying so reveals no decline.
    done = introduce(p["Ko"], p["Su"], p["Ta"])
    answer(done, p["Su"])
    answer(done, p["Ta"])
    with pytest.raises(RuleViolation, match="Su and Ta have been introduced already"):
        introduce(p["Org"], p["Su"], p["Ta"])


def test_at_most_ten_introductions_a_day(crew, make):
    group, _secret, p = crew
    people = [make.member(group, make.user(display_name=f"P{n}")) for n in range(12)]
    for n in range(10):
        introduce(p["Org"], people[n], people[n + 1], now=NOW - timedelta(hours=23))
    with pytest.raises(RuleViolation, match="at most 10 introductions a day") as refused:
        introduce(p["Org"], people[0], people[11])
    assert refused.value.field == "note"
    db.session.rollback()
    introduce(p["Org"], people[0], people[11], now=NOW + timedelta(hours=1, seconds=1))


def test_at_most_ten_requests_a_day(crew, make):
    group, _secret, p = crew
    people = [make.member(group, make.user(display_name=f"Q{n}")) for n in range(11)]
    for n in range(10):
        ask_for_introduction(
            db.session, requester=p["Th"], via=p["Org"], target=people[n], note="", now=NOW
        )
    db.session.commit()
    with pytest.raises(RuleViolation, match="at most 10 introductions a day: ask tomorrow"):
        ask_for_introduction(
            db.session, requester=p["Th"], via=p["Org"], target=people[10], note="", now=NOW
        )


def test_form_errors_sit_next_to_their_fields(crew, client, auth):
    _group, _secret, p = crew
    auth.login_as(p["Su"])
    response = client.post(
        "/introductions/new", data={"first": p["Ta"].id, "second": p["Ko"].id, "note": " "}
    )
    assert response.status_code == 422
    assert "Please fill this in." in response.get_data(as_text=True)
    response = client.post(
        "/introductions/new", data={"first": p["Ta"].id, "second": p["Ta"].id, "note": NOTE}
    )
    assert response.status_code == 422
    assert "Choose two different people." in response.get_data(as_text=True)
    response = client.post(
        "/introductions/new", data={"first": "x", "second": "99999999999", "note": NOTE}
    )
    assert response.status_code == 422
    assert "Choose someone from the list." in response.get_data(as_text=True)
    assert NOTE in response.get_data(as_text=True)  # nothing lost
    for bad in ("via=x&to=1", f"via={p['Su'].id}", "via=99999999999&to=1"):
        assert client.get(f"/introductions/ask?{bad}").status_code == 404


# --- email over SMTP -------------------------------------------------------------------------


def test_the_double_opt_in_over_smtp_in_each_ones_language(crew, client, auth, smtp_server):
    _group, _secret, p = crew
    p["Ko"].locale = "ja"
    p["Ta"].locale = "en"
    db.session.commit()
    auth.login_as(p["Su"])
    client.post(
        "/introductions/new", data={"first": p["Ta"].id, "second": p["Ko"].id, "note": NOTE}
    )
    introduction = db.session.scalar(sa.select(Introduction))
    [to_ta] = smtp_server.to("ta@example.com")
    [to_ko] = smtp_server.to("ko@example.com")
    assert to_ta["Subject"] == "Su would like to introduce you to someone"
    assert to_ko["Subject"] == "Suさんから紹介があります"
    for message, other in ((to_ta, "Ko"), (to_ko, "Ta")):
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert f"/introductions/{introduction.id}" in body
        assert other not in body.replace("Take", "") and NOTE not in body
        assert "@example.com" not in body
    auth.login_as(p["Ta"])
    client.post(f"/introductions/{introduction.id}/answer", data={"answer": "accept"})
    assert len(smtp_server.messages) == 2  # nothing until both accept
    auth.login_as(p["Ko"])
    client.post(f"/introductions/{introduction.id}/answer", data={"answer": "accept"})
    [_, done_ta] = smtp_server.to("ta@example.com")
    [_, done_ko] = smtp_server.to("ko@example.com")
    assert done_ta["Subject"] == "Introduction complete: you and Ko"
    assert done_ko["Subject"] == "Taさんとの紹介が成立しました"
    ta_body = done_ta.get_body(preferencelist=("plain",)).get_content()
    ko_body = done_ko.get_body(preferencelist=("plain",)).get_content()
    assert NOTE in ta_body and "Ko's email address: ko@example.com" in ta_body
    assert NOTE in ko_body and "Taさんのメールアドレス：ta@example.com" in ko_body
    # The introducer gets no email at all: only "both accepted" on the page.
    assert smtp_server.to("su@example.com") == []


def test_a_decline_sends_nothing_and_the_email_choice_is_respected(crew, client, auth, smtp_server):
    _group, _secret, p = crew
    p["Ko"].email_introductions = False
    db.session.commit()
    introduction = introduce(p["Su"], p["Ta"], p["Ko"])
    from studygroup.views import send_committed_emails

    send_committed_emails()

    def introductions_to(address):
        return [m for m in smtp_server.to(address) if "紹介" in m["Subject"]]

    assert len(introductions_to("ta@example.com")) == 1
    assert introductions_to("ko@example.com") == []
    # The in-app notice shows regardless: the header counts it.
    auth.login_as(p["Ko"])
    assert 'title="1 waits for you"' in text(client, "/introductions")
    auth.login_as(p["Ta"])
    client.post(f"/introductions/{introduction.id}/answer", data={"answer": "decline"})
    assert len(introductions_to("ta@example.com")) == 1
    assert introductions_to("su@example.com") == introductions_to("ko@example.com") == []


def test_the_asked_member_gets_an_email(crew, client, auth, smtp_server):
    _group, _secret, p = crew
    auth.login_as(p["Ta"])
    client.post(
        f"/introductions/ask?via={p['Su'].id}&to={p['Ko'].id}", data={"note": "Dashboards!"}
    )
    [message] = smtp_server.to("su@example.com")
    assert message["Subject"] == "Taさんから、Koさんへの紹介のお願い"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Dashboards!" in body and "/introductions#requests" in body


# --- the header's notice ----------------------------------------------------------------------


def test_the_header_counts_what_waits_without_a_query_of_its_own(crew, client, auth, count_queries):
    _group, _secret, p = crew
    auth.login_as(p["Ko"])
    with count_queries() as before:
        page = text(client, "/groups")
    assert "wait for you" not in page
    introduce(p["Su"], p["Ta"], p["Ko"])
    ask_for_introduction(
        db.session, requester=p["Ta"], via=p["Org"], target=p["Th"], note="", now=NOW
    )
    db.session.commit()
    with count_queries() as after:
        page = text(client, "/groups")
    assert 'title="1 waits for you"' in page
    assert after.count == before.count
    auth.login_as(p["Org"])
    assert 'title="1 waits for you"' in text(client, "/groups")


# --- pictures and query counts ----------------------------------------------------------------


def test_accepted_introductions_are_dashed_lines_in_the_pictures(crew, client, auth):
    group, _secret, p = crew
    auth.login_as(p["Ta"])
    assert "stroke-dasharray" not in text(client, f"/people/{p['Ta'].id}/coworkers")
    waiting = introduce(p["Su"], p["Ta"], p["Ko"])
    answer(waiting, p["Ta"])
    assert "stroke-dasharray" not in text(client, f"/people/{p['Ta'].id}/coworkers")
    answer(waiting, p["Ko"])
    page = text(client, f"/people/{p['Ta'].id}/coworkers")
    assert page.count("stroke-dasharray") == 1
    assert "Dashed lines: people you were introduced to." in page
    # The group's picture for its organizer: a dashed line between two members drawn in it
    # (Su, Ta and Ko worked side by side), in the wide picture and the phone's, for an
    # introduction the organizer made (others' are private: tests/test_coworking_pictures.py).
    organizer_view = introduce(p["Org"], p["Su"], p["Ta"])
    answer(organizer_view, p["Su"])
    answer(organizer_view, p["Ta"])
    auth.login_as(p["Org"])
    page = text(client, f"/g/{group.slug}/network")
    assert "A dashed line joins two members who were introduced" in page
    assert page.count("stroke-dasharray") == 2  # Su–Ta (not Su's Ta–Ko), wide and phone
    # No line for members who are not in the picture (they never worked).
    outside = introduce(p["Org"], p["Th"], p["Lf"])
    answer(outside, p["Th"])
    answer(outside, p["Lf"])
    assert text(client, f"/g/{group.slug}/network").count("stroke-dasharray") == 2


def test_query_counts(crew, client, auth, count_queries):
    """/introductions: the member and three lists. One's own co-worker page: one more query,
    only for a member who has accepted introductions (the count comes with the member)."""
    from tests.test_coworking import page_queries

    _group, _secret, p = crew
    auth.login_as(p["Ta"])
    own = f"/people/{p['Ta'].id}/coworkers"
    before = page_queries(client, count_queries, own)
    introduction = introduce(p["Su"], p["Ta"], p["Ko"])
    assert page_queries(client, count_queries, own) == before
    answer(introduction, p["Ta"])
    answer(introduction, p["Ko"])
    assert page_queries(client, count_queries, own) == before + 1
    assert page_queries(client, count_queries, "/introductions") == 4
    auth.login_as(p["Su"])
    assert page_queries(client, count_queries, "/introductions") == 4
