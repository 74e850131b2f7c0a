"""A group's picture: who works side by side with whom, laid out on the server.

The ties are the pairs who worked side by side (same role, or overlapping windows), weighed
by how often. networkx lays them out (a force-directed layout with a fixed seed: the same
history always gives the same picture) and finds the clusters (Louvain communities, also
seeded), which get a colour each. Only each member's strongest ties are drawn, so a busy
group reads as its crews rather than a tangle; in a large group only the names that have
room are written (the rest are tooltips, and everyone is in the lists under the picture).

Layouts are kept per process by the history they were made from, so a page shown again
costs only its queries.
"""

import hashlib
import math
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

from studygroup.coworking.group_pairs import GroupNetwork
from studygroup.coworking.picture import Picture, graph, node_radius
from studygroup.forked import in_child

SEED = 20260  # any fixed number: the same history gives the same picture
CACHE_SIZE = 32
PHONE_WIDTH = 200.0  # circles' span across a phone; names reach out beyond it
PHONE_FRAME = 300.0  # the widest a phone's picture may be (a 360px screen shows ~310px)
WIDE_MIN, WIDE_MAX = 480.0, 780.0  # the same on a desktop
WIDE_FRAME = 900.0  # (the page shows ~910px)
# px² each member needs at least on a phone: more in a group of up to 120, where names are
# written in the picture, so that they have room beside the circles rather than over them.
AREA_PER_MEMBER = {True: 1400.0, False: 800.0}
HUBS_PER_CLUSTER = 2

_cache: OrderedDict[str, "GroupPicture"] = OrderedDict()
_cache_lock = threading.Lock()  # threaded servers share the cache


@dataclass
class GroupPicture:
    picture: Picture | None  # None: nobody has worked side by side yet
    narrow: Picture | None  # the same, upright, for a phone
    drawn: int  # members in the picture
    left_out: int  # active members with no tie yet
    labelled: int  # names written in the (wide) picture


def _ties_per_member(size: int) -> int:
    """How many of each member's strongest ties are drawn: fewer as the group grows."""
    return 3 if size <= 40 else 2 if size <= 120 else 1


def group_picture(network: GroupNetwork) -> GroupPicture:
    """The picture of `network`'s ties among its active members (cached by their content)."""
    members = network.members
    ties = [(p.a, p.b, p.side_by_side) for p in network.ties if p.a in members and p.b in members]
    key = hashlib.sha256(
        repr(
            (
                sorted((u.id, u.display_name) for u in members.values()),
                sorted(ties),
                sorted(network.sessions_worked.items()),
            )
        ).encode()
    ).hexdigest()
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    # Outside the lock: two first views may both draw. In a child process, so that the web
    # worker never loads networkx and numpy (studygroup/forked.py).
    result = in_child(lambda: _draw(network, ties), needs="networkx")
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _draw(network: GroupNetwork, ties: list[tuple[int, int, int]]) -> GroupPicture:
    import networkx as nx

    members = network.members
    strength: dict[int, int] = defaultdict(int)
    for a, b, weight in ties:
        strength[a] += weight
        strength[b] += weight
    ids = sorted(strength)
    left_out = len(members) - len(ids)
    if not ids:
        return GroupPicture(None, None, 0, left_out, 0)

    whole = nx.Graph()
    whole.add_nodes_from(ids)
    whole.add_weighted_edges_from(sorted(ties))
    clusters = [
        sorted(c, key=lambda i: (-strength[i], i))
        for c in nx.community.louvain_communities(whole, weight="weight", seed=SEED)
    ]
    clusters.sort(key=lambda c: (-len(c), -sum(strength[i] for i in c), c[0]))

    # Each member's strongest ties: the lines drawn, and the springs of the layout, so that
    # crews gather and the odd shared session does not pull everyone into one knot.
    per_member = _ties_per_member(len(ids))
    by_member: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for tie in ties:
        by_member[tie[0]].append(tie)
        by_member[tie[1]].append(tie)
    drawn = set()
    for member_id in ids:
        strongest = sorted(by_member[member_id], key=lambda t: (-t[2], t[0], t[1]))
        drawn.update(strongest[:per_member])
    # The layout (ForceAtlas2, as Gephi draws networks) pulls on every tie, strong ones
    # harder, so clusters gather and the people who link them sit between them.
    heaviest = max(w for _, _, w in ties)
    springs = nx.Graph()
    springs.add_nodes_from(ids)
    springs.add_weighted_edges_from((a, b, w / heaviest) for a, b, w in sorted(ties))
    positions = nx.forceatlas2_layout(
        springs, weight="weight", seed=SEED, max_iter=100 if len(ids) <= 120 else 50
    )
    unit = _landscape({i: (float(p[0]), float(p[1])) for i, p in positions.items()})
    top = max(strength.values())
    size = {i: math.sqrt(strength[i] / top) for i in ids}
    # Names are written in this order while there is room: each cluster's two busiest
    # members first, then everyone by how busy.
    rank = {i: n for c in clusters for n, i in enumerate(c)}
    people = [
        (i, members[i].display_name, size[i])
        for i in sorted(ids, key=lambda i: (min(rank[i], HUBS_PER_CLUSTER), -size[i], i))
    ]
    small = len(ids) <= 120
    radii = {i: node_radius(size[i], small=small) for i in ids}
    # The picture for a desktop lies across, the one for a phone stands upright, both drawn
    # at the size they are shown: names stay 12px wherever there is room for them.
    wide_across = min(WIDE_MAX, max(WIDE_MIN, 95 * math.sqrt(len(ids))))
    pictures = []
    for upright, across, fits, label_all in (
        (False, wide_across, WIDE_FRAME, len(ids) <= 40),
        (True, PHONE_WIDTH, PHONE_FRAME, len(ids) <= 12),
    ):
        # Names may reach out past the circles, as far as the screen the picture is for
        # allows: it is shown at its drawn size, names at 12px.
        long = max(1.0, len(ids) * AREA_PER_MEMBER[small] / across**2)
        centres = _spread(
            _scaled(unit, across, upright=upright, long=long),
            radii,
            # Room between circles: a line of text when every name is written.
            gap=24.0 if label_all else 6.0 if small else 3.0,
        )
        spare = max(0.0, (fits - _span(centres, radii)) / 2)
        picture = graph(
            people,
            centres,
            sorted(drawn),
            clusters,
            label_all=label_all,
            reach=(-spare, _span(centres, radii) + spare),
        )
        pictures.append(picture)
    wide, narrow = pictures
    labelled = sum(1 for n in wide.nodes if n.label)
    return GroupPicture(wide, narrow, len(ids), left_out, labelled)


def _span(centres: dict[int, tuple[float, float]], radii: dict[int, float]) -> float:
    """How wide the circles reach, from x = 0."""
    return max(x + radii[i] for i, (x, _y) in centres.items())


def _scaled(
    unit: dict[int, tuple[float, float]], across: float, *, upright: bool, long: float
) -> dict[int, tuple[float, float]]:
    """The unit layout (longer side across) scaled to be `across` wide. Upright: turned a
    quarter so the short side lies across, and its long side stretched to at least `long`
    times `across`, so that a large group has room on a phone's narrow screen."""
    if not upright:
        return {i: (x * across, y * across) for i, (x, y) in unit.items()}
    short = max((y for _x, y in unit.values()), default=1.0) or 1.0
    stretch = max(1.0, long * short)
    return {i: (y / short * across, x / short * across * stretch) for i, (x, y) in unit.items()}


def _landscape(positions: dict[int, tuple[float, float]]) -> dict[int, tuple[float, float]]:
    """The layout turned so its longer side lies across (pages are wider than tall), moved
    and scaled into the unit square with its proportions kept."""
    import numpy as np

    ids = list(positions)
    points = np.array([positions[i] for i in ids], dtype=float)
    points -= points.mean(axis=0)
    if len(ids) > 2:
        # The principal axis (the eigenvector of the largest eigenvalue) becomes x; the signs
        # are fixed so that the same layout always turns the same way.
        _values, vectors = np.linalg.eigh(np.cov(points.T))
        major, minor = vectors[:, 1], vectors[:, 0]
        major = major if major[0] >= 0 else -major
        minor = minor if minor[1] >= 0 else -minor
        points = points @ np.column_stack([major, minor])
    points -= points.min(axis=0)
    span = float(points.max()) or 1.0
    points /= span
    return {i: (float(x), float(y)) for i, (x, y) in zip(ids, points, strict=True)}


def _spread(
    centres: dict[int, tuple[float, float]], radii: dict[int, float], *, gap: float, rounds=60
) -> dict[int, tuple[float, float]]:
    """Push apart circles closer than their radii and `gap`, a little each round, so that no
    circle hides another and names have room. Only pairs found near each other (looked for
    again every few rounds) are compared: a large group costs milliseconds, not seconds."""
    import numpy as np

    ids = list(centres)
    points = np.array([centres[i] for i in ids], dtype=float).reshape(-1, 2)
    r = np.array([radii[i] for i in ids], dtype=float)
    # Two circles on the same spot part along a fixed direction of their own.
    angles = np.arange(len(ids)) * 2.399963  # the golden angle
    nudge = np.column_stack([np.cos(angles), np.sin(angles)])
    first = second = need = None
    for round_ in range(rounds):
        if round_ % 10 == 0:
            distance = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
            wanted = r[:, None] + r[None, :] + gap
            first, second = np.nonzero(np.triu(distance < wanted * 1.5, k=1))
            need = wanted[first, second]
        delta = points[first] - points[second]
        distance = np.sqrt((delta**2).sum(axis=1))
        short = np.clip(need - distance, 0.0, None)
        if not len(short) or short.max() < 0.5:
            if round_ % 10 == 0:
                break
            continue
        safe = np.where(distance > 1e-9, distance, 1.0)
        direction = np.where((distance > 1e-9)[:, None], delta / safe[:, None], nudge[first])
        move = direction * (short / 4)[:, None]
        np.add.at(points, first, move)
        np.add.at(points, second, -move)
    points -= points.min(axis=0)
    return {i: (float(x), float(y)) for i, (x, y) in zip(ids, points, strict=True)}
