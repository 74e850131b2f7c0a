"""The network pictures: labels inside the frame, ties by side-by-side work, clusters, the
same picture for the same history, and an empty history that says so."""

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest

from studygroup.coworking.group_pairs import group_network
from studygroup.extensions import db
from studygroup.signups.organizing import assign
from studygroup.testing.network import make_network_group
from tests.factories import slots_of

NOW = datetime.now(UTC)
LONG_NAMES = [
    "勅使河原 三郎太郎左衛門",
    "Alexandra Konstantinopoulou-Papadimitriou",
    "WWWWWWWWWWWWWWWWWWWW",
    "山田 花子 (Hanako Yamada)",
    "Jean-Baptiste Rousseau",
    "佐藤",
    "Li",
    "ＭＭＭＭ全角ＭＭＭ",
]


def _estimated_width(text: str, font_px: float) -> float:
    """The test's own estimate, independent of the code's: CJK (wide) characters 1 em, Latin
    capitals 0.75 em, the rest 0.6 em."""
    em = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            em += 1.0
        elif char.isupper():
            em += 0.75
        else:
            em += 0.6
    return em * font_px


def _texts_outside(svg: str, font_px: float) -> list[str]:
    """Labels of an SVG (as the page sends it) that reach outside its viewBox."""
    x0, y0, width, height = (float(v) for v in re.search(r'viewBox="([^"]+)"', svg)[1].split())
    outside = []
    for attrs, text in re.findall(r"<text ([^>]*)>([^<]*)</text>", svg):
        x = float(re.search(r'\bx="([-\d.]+)"', attrs)[1])
        y = float(re.search(r'\by="([-\d.]+)"', attrs)[1])
        anchor = re.search(r'text-anchor="(\w+)"', attrs)[1]
        size = font_px * (19 / 17 if 'class="centre"' in attrs else 1)
        w = _estimated_width(text, size)
        left = {"start": x, "end": x - w}.get(anchor, x - w / 2)
        top, bottom = y - 0.6 * size, y + 0.6 * size
        if left < x0 or left + w > x0 + width or top < y0 or bottom > y0 + height:
            outside.append(text)
    return outside


def _svgs(page: str) -> list[str]:
    return re.findall(r"<svg viewBox=.*?</svg>", page, re.S)


@pytest.fixture
def crew(make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    return organizer, group


def _past(make, group, days_ago):
    return make.session(group, day=date.today() - timedelta(days=days_ago))


def _put(organizer, member, slot):
    return assign(db.session, organizer=organizer, member=member, slot=slot, now=NOW).place


def test_long_names_stay_inside_the_members_picture(client, auth, crew, make):
    """The co-workers page's picture, long Japanese and English names at a phone's 17px
    (the largest size the page's CSS gives them): every label lies inside the viewBox."""
    organizer, group = crew
    me = make.member(group, make.user(display_name="勅使河原 三郎太郎左衛門 (Saburo)"))
    people = [make.member(group, make.user(display_name=name)) for name in LONG_NAMES * 2]
    for n, person in enumerate(people):
        session = _past(make, group, 10 + n)
        _put(organizer, me, slots_of(session)["setup"])
        _put(organizer, person, slots_of(session)["setup"])
    db.session.commit()
    auth.login_as(me)
    page = client.get(f"/people/{me.id}/coworkers").get_data(as_text=True)
    (svg,) = _svgs(page)
    assert len(re.findall("<text ", svg)) == len(people) + 1
    assert _texts_outside(svg, 17) == []


def test_labels_follow_the_readers_view_of_names_and_cut_long_ones_with_a_tooltip(
    client, auth, crew, make
):
    organizer, group = crew
    me = make.member(group, make.user(display_name="Me"))
    long = make.member(group, make.user(display_name="長谷川 ひかりさくら子"))
    hidden = make.member(group, make.user(display_name="Hidden Hana"))
    hidden.appear_by_name = False
    for n, person in enumerate((long, hidden)):
        session = _past(make, group, 10 + n)
        _put(organizer, me, slots_of(session)["setup"])
        _put(organizer, person, slots_of(session)["setup"])
    db.session.commit()
    auth.login_as(me)
    page = client.get(f"/people/{me.id}/coworkers", headers={"Accept-Language": "ja"})
    (svg,) = _svgs(page.get_data(as_text=True))
    assert "Hidden" not in svg
    labels = re.findall(r"<g><title>([^<]*)</title><text [^>]*>([^<]*)</text></g>", svg)
    # Cut at a word (not "長谷川 ひか…"), the whole name as the label's tooltip and the circle's.
    assert ("長谷川 ひかりさくら子", "長谷川…") in labels
    assert ("あるメンバー", "あるメンバー") in labels
    assert "<title>長谷川 ひかりさくら子</title></circle>" in svg


def test_side_by_side_weighs_the_group_picture(client, auth, crew, make):
    """Sharing a session is not a tie: only side by side (same role or overlapping times)."""
    from studygroup.coworking import network as network_module

    organizer, group = crew
    ai, bo, cy, di = (
        make.member(group, make.user(display_name=n)) for n in ["Ai", "Bo", "Cy", "Di"]
    )
    for days in (30, 20, 10):
        session = _past(make, group, days)
        roles = slots_of(session)
        _put(organizer, ai, roles["setup"])  # 9:00-10:00
        _put(organizer, bo, roles["setup"])
        _put(organizer, cy, roles["speaker"])  # 10:00-12:00: same session, not side by side
    session = _past(make, group, 5)
    _put(organizer, cy, slots_of(session)["reception"])  # 9:30-10:30: overlaps setup
    _put(organizer, di, slots_of(session)["setup"])
    db.session.commit()

    network = group_network(db.session, group, now=NOW)
    pairs = {
        (network.members[p.a].display_name, network.members[p.b].display_name): p
        for p in network.pairs
    }
    together = {tuple(sorted(k)): (p.sessions, p.side_by_side) for k, p in pairs.items()}
    assert together[("Ai", "Bo")] == (3, 3)
    assert together[("Ai", "Cy")] == (3, 0)
    assert together[("Cy", "Di")] == (1, 1)
    assert network.partners[cy.id] == 1  # Di; Ai and Bo only shared sessions with Cy

    network_module._cache.clear()
    drawing = network_module.group_picture(network)
    lines = {
        tuple(sorted((network.members[a].display_name, network.members[b].display_name)))
        for a, b, _w in ((p.a, p.b, p.side_by_side) for p in network.ties)
    }
    assert lines == {("Ai", "Bo"), ("Cy", "Di")}
    assert len(drawing.picture.edges) == 2
    assert drawing.drawn == 4 and drawing.left_out == 1  # the organizer never worked

    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/network").get_data(as_text=True)
    svgs = _svgs(page)
    assert len(svgs) == 2  # across for a desktop, upright for a phone
    for svg in svgs:
        assert svg.count("<line ") == 2
        assert sorted(re.findall(r"<text [^>]*>([^<]*)</text>", svg)) == ["Ai", "Bo", "Cy", "Di"]
        assert _texts_outside(svg, 12) == []
    few = page.split("Worked with few others")[1].split("Pairs who")[0]
    assert "Cy — 1 person side by side, 4 sessions" in few


@pytest.mark.parametrize("size", [12, 60])
def test_a_group_picture_is_framed_clustered_and_the_same_every_time(crew, size):
    from studygroup.coworking import network as network_module

    group_picture = network_module.group_picture
    organizer, group = crew
    make_network_group(db.session, organizer, group, size, seed=size)
    db.session.commit()
    network = group_network(db.session, group, now=NOW)
    network_module._cache.clear()
    first = group_picture(network)
    network_module._cache.clear()
    again = group_picture(network)
    assert first == again  # same history, same picture
    assert first.drawn == size and first.left_out == 1  # the organizer
    for picture in (first.picture, first.narrow):
        frame = picture.view.box()
        labelled = [n for n in picture.nodes if n.label]
        for node in picture.nodes:
            assert node.circle_box().inside(frame)
            assert node.label_box() is None or node.label_box().inside(frame), node.label
        # Names never cover each other, nor another member's circle.
        boxes = [n.label_box() for n in labelled]
        for i, box in enumerate(boxes):
            assert all(box.overlap(other) == 0 for other in boxes[i + 1 :]), labelled[i].label
        for node in labelled:
            others = (n.circle_box() for n in picture.nodes if n is not node)
            assert all(node.label_box().overlap(c) == 0 for c in others), node.label
    assert first.labelled >= min(size, 40)
    # Clusters: at least two, and each member in exactly one.
    clusters = first.picture.clusters
    assert len(clusters) >= 2
    names = [name for c in clusters for name in c.names]
    assert sorted(names) == sorted(
        network.members[i].display_name for i in network.members if i != organizer.id
    )
    # Each member's strongest ties only: far fewer lines than pairs who worked side by side.
    assert len(first.picture.edges) <= 3 * size < len(network.ties)


def test_an_empty_history_says_so(client, auth, crew, make):
    organizer, group = crew
    make.member(group, make.user(display_name="New member"))
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/network").get_data(as_text=True)
    assert "No one has worked a session yet." in page
    assert "Everyone has worked with several others" not in page
    assert "<svg" not in page.split("<main")[1]


def test_an_empty_history_says_so_in_japanese(client, auth, crew, make):
    organizer, group = crew
    organizer.locale = "ja"
    db.session.commit()
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/network").get_data(as_text=True)
    assert "まだ誰も開催回で活動していません。" in page


def test_a_history_with_no_one_side_by_side_says_so(client, auth, crew, make):
    organizer, group = crew
    ai, bo = (make.member(group, make.user(display_name=n)) for n in ("Ai", "Bo"))
    session = _past(make, group, 3)
    _put(organizer, ai, slots_of(session)["setup"])
    _put(organizer, bo, slots_of(session)["speaker"])
    db.session.commit()
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/network").get_data(as_text=True)
    assert "Nobody has worked side by side yet" in page
    assert "Ai — 0 people side by side, 1 session" in page


def test_the_layout_is_cached_by_the_history(crew, make, monkeypatch):
    from studygroup.coworking import network as network_module

    group_picture = network_module.group_picture
    organizer, group = crew
    make_network_group(db.session, organizer, group, 12, seed=3)
    db.session.commit()
    network_module._cache.clear()
    drawn = []
    real = network_module._draw
    monkeypatch.setattr(network_module, "_draw", lambda *a: drawn.append(1) or real(*a))
    # Drawn here, not in a child process (studygroup/forked.py), so that `drawn` counts.
    monkeypatch.setattr(network_module, "in_child", lambda work, needs: work())
    group_picture(group_network(db.session, group, now=NOW))
    group_picture(group_network(db.session, group, now=NOW))
    assert len(drawn) == 1
    member = db.session.get(
        type(organizer), next(iter(group_network(db.session, group, now=NOW).ties)).a
    )
    member.display_name = "Renamed"
    db.session.commit()
    group_picture(group_network(db.session, group, now=NOW))
    assert len(drawn) == 2  # a new name is a new picture


def test_an_organizer_sees_the_network_in_a_fixed_number_of_queries(
    client, auth, crew, make, count_queries
):
    organizer, group = crew
    make_network_group(db.session, organizer, group, 12, seed=5)
    db.session.commit()
    auth.login_as(organizer)
    with count_queries() as small:
        assert client.get(f"/g/{group.slug}/network").status_code == 200
    make_network_group(db.session, organizer, group, 30, seed=6)
    db.session.commit()
    with count_queries() as large:
        assert client.get(f"/g/{group.slug}/network").status_code == 200
    assert large.count == small.count


def test_the_star_draws_everyone_introduced_past_its_limit_of_co_workers():
    """With more co-workers than the star has room for, the people one was introduced to are
    still drawn, with their dashed line: the fewest-sessions co-workers make room (the demo
    organizer worked with 26 people and was introduced to Priya, who never worked with her)."""
    from studygroup.coworking.picture import INTRODUCED, star

    others = [(n, f"Co-worker {n}", 40 - n) for n in range(1, 31)]  # most sessions first
    drawing = star("Me", others, limit=24, introduced=[(99, "Priya"), (30, "Co-worker 30")])
    labels = [node.title for node in drawing.nodes[1:]]
    assert len(labels) == 24
    assert "Priya" in labels and "Co-worker 30" in labels  # the least-worked co-worker too
    assert labels[:22] == [f"Co-worker {n}" for n in range(1, 23)]  # the rest, most first
    assert sum(1 for edge in drawing.edges if edge.colour == INTRODUCED) == 2
