"""The network pictures, drawn on the server as SVG: no script, and the lists beside them say
the same in words (screen readers and phones without JavaScript lose nothing).

Every picture's viewBox is framed around what it draws, labels included, so no name is ever
cut at the edge. A label's width is estimated (CJK about 1 em, Latin about 0.6 em) at the
largest font the page's CSS gives it, a phone's; the browser tests measure them (getBBox).
"""

import math
import unicodedata
from dataclasses import astuple, dataclass, field, replace

from markupsafe import Markup, escape

from studygroup.templating import as_text

# figure.network text in style.css: 12px, and 17px on a phone (19px and 15px for the centre).
FONT_PX = 17.0
CENTRE_FONT_PX = 19.0
# The group picture keeps one size everywhere (style.css: figure.network.graph text).
GRAPH_FONT_PX = 12.0
HALO_PX = 2.0  # half the white outline (stroke-width 4px) drawn behind each label
PAD_PX = 6.0  # around everything, inside the frame
LABEL_GAP_PX = 4.0  # between a circle and its label

CLUSTER_COLOURS = (
    # Tableau's ten, made to tell categories apart; grey is kept for the rest.
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
    "#ff9da7",
    "#17becf",
)
NO_CLUSTER = "#9aa0a6"
INK = "#1f6f5c"
# Introductions: dark dashes, which show over a co-working line and beside any cluster colour.
INTRODUCED = "#3c3c43"


def _em(char: str) -> float:
    # Ambiguous-width characters ("…", "・") take a full em in a Japanese font.
    if unicodedata.east_asian_width(char) in ("W", "F", "A"):
        return 1.0
    # Upper bounds for a sans-serif (DejaVu Sans, the widest common one): W and m nearly
    # 1 em, capitals 0.8 em, the rest (digits 0.64 em) 0.65 em.
    if char in "mwMW@%&":
        return 1.0
    if char.isupper():
        return 0.8
    return 0.65


def text_width(text: str, font_px: float) -> float:
    """An upper estimate of `text`'s width at `font_px` in a sans-serif font."""
    return sum(_em(c) for c in text) * font_px


def fit(text: str, max_em: float) -> str:
    """`text`, cut with "…" where it would grow wider than `max_em`. A word that would keep
    only a character or two goes whole ("長谷川…", not "長谷川 ひか…"; "山田 花子…", not
    "山田 花子 (…"): a stub reads as noise, and the full name is the label's tooltip."""
    if sum(_em(c) for c in text) <= max_em:
        return text
    kept, width = [], 1.0  # the ellipsis
    for char in text:
        width += _em(char)
        if width > max_em:
            break
        kept.append(char)
    shown = "".join(kept).rstrip()
    words, _space, stub = shown.rpartition(" ")
    if words.strip() and len(stub) <= 2 and not text[len(kept)].isspace():
        shown = words.rstrip()
    return shown + "…"


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlap(self, other: "Box") -> float:
        """The area both boxes cover (0 when they do not touch)."""
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        return width * height if width > 0 and height > 0 else 0.0

    def union(self, other: "Box") -> "Box":
        return Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def inside(self, other: "Box") -> bool:
        return (
            self.left >= other.left
            and self.top >= other.top
            and self.right <= other.right
            and self.bottom <= other.bottom
        )


def label_box(x: float, y: float, anchor: str, text: str, font_px: float) -> Box:
    """Where a label drawn at (x, y) with text-anchor `anchor` and dominant-baseline middle
    reaches, with its outline."""
    width = text_width(text, font_px)
    left = {"start": x, "end": x - width}.get(anchor, x - width / 2)
    half = 0.65 * font_px  # ascenders, descenders and CJK glyphs about the middle
    return Box(left - HALO_PX, y - half - HALO_PX, left + width + HALO_PX, y + half + HALO_PX)


@dataclass
class Node:
    x: float
    y: float
    r: float
    label: str  # as drawn (maybe cut short); "" when there is no room for it
    title: str  # the full name, for the tooltip and the picture's words
    fill: str = "#ffffff"
    label_x: float = 0
    label_y: float = 0
    anchor: str = "middle"
    font_px: float = FONT_PX
    css: str = ""

    def circle_box(self) -> Box:
        return Box(
            self.x - self.r - 1, self.y - self.r - 1, self.x + self.r + 1, self.y + self.r + 1
        )

    def label_box(self) -> Box | None:
        if not self.label:
            return None
        return label_box(self.label_x, self.label_y, self.anchor, self.label, self.font_px)


@dataclass
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    colour: str = INK
    opacity: float = 0.55
    dash: str = ""  # a dashed line: an introduction, not co-working


@dataclass
class ViewBox:
    x: float
    y: float
    width: float
    height: float

    def __str__(self) -> str:
        return f"{self.x:g} {self.y:g} {self.width:g} {self.height:g}"

    def box(self) -> Box:
        return Box(self.x, self.y, self.x + self.width, self.y + self.height)


@dataclass
class Picture:
    nodes: list[Node]
    edges: list[Edge]
    view: ViewBox
    font_px: float = FONT_PX
    clusters: list["Cluster"] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)  # a group picture's member per node


def with_introductions(picture: Picture, pairs: list[tuple[int, int]]) -> Picture:
    """A copy of a group picture with a thin dashed line for each accepted introduction
    between two members drawn in it (the cached picture itself stays as it is)."""
    where = dict(zip(picture.ids, picture.nodes, strict=True))
    dashed = [
        Edge(where[a].x, where[a].y, where[b].x, where[b].y, 1.2, INTRODUCED, 0.8, dash="4 3")
        for a, b in pairs
        if a in where and b in where
    ]
    return replace(picture, edges=[*picture.edges, *dashed]) if dashed else picture


@dataclass
class Cluster:
    colour: str
    names: list[str]  # most side by side first


def _frame(nodes: list[Node]) -> ViewBox:
    """The smallest box holding every circle and label, padded."""
    boxes = [n.circle_box() for n in nodes] + [b for n in nodes if (b := n.label_box())]
    if not boxes:
        return ViewBox(0, 0, 100, 100)
    whole = boxes[0]
    for box in boxes[1:]:
        whole = whole.union(box)
    left, top = math.floor(whole.left - PAD_PX), math.floor(whole.top - PAD_PX)
    right, bottom = math.ceil(whole.right + PAD_PX), math.ceil(whole.bottom + PAD_PX)
    return ViewBox(left, top, right - left, bottom - top)


def _outward(node: Node, angle: float, distance: float) -> Node:
    node.label_x = round(node.x + distance * math.cos(angle), 1)
    node.label_y = round(node.y + distance * math.sin(angle), 1)
    cos = math.cos(angle)
    node.anchor = "start" if cos > 0.3 else "end" if cos < -0.3 else "middle"
    return node


def star(
    center_label: str,
    others: list[tuple[int | None, str, int]],
    *,
    radius: float = 130,
    limit: int = 24,
    introduced: list[tuple[int, str]] = (),
) -> Picture:
    """The member in the middle, co-workers on a circle; thicker lines for more sessions.

    `others` is (user id, label, sessions together), most first; only the first `limit` are
    drawn. The id is None for someone shown as "a member": nothing is ever matched to them.
    `introduced` is (user id, name) of the people the member was introduced to (accepted): a
    thin dashed line, to their co-worker circle when they worked together too (matched by id:
    two people may share a name), else to a circle of their own.
    """
    dashed = {user_id for user_id, _name in introduced}
    # Everyone introduced is drawn, even past `limit` co-workers: their places come first
    # (the fewest-sessions co-workers make room), so a long history never hides them.
    worked = {user_id for user_id, _label, _n in others if user_id is not None}
    extra = [
        (user_id, name, 0) for user_id, name in dict(introduced).items() if user_id not in worked
    ][:limit]
    kept = [o for o in others if o[0] in dashed][: limit - len(extra)]
    rest = [o for o in others if o[0] not in dashed]
    room = max(limit - len(extra) - len(kept), 0)
    # Most sessions first, as given; introduced co-workers keep their place in that order.
    chosen = {id(o) for o in kept + rest[:room]}
    others = [o for o in others if id(o) in chosen] + extra
    top = max((n for _, _, n in others), default=1) or 1
    centre = Node(0, 0, 14, fit(center_label, 12), center_label, INK, css="centre")
    centre.font_px = CENTRE_FONT_PX
    centre.label_y = -(14 + LABEL_GAP_PX + 0.65 * CENTRE_FONT_PX)
    nodes = [centre]
    edges = []
    # Start a little off the top, so no line runs straight up through the centre's name.
    offset = math.pi / max(len(others), 1)
    taken = [centre.label_box()]
    for i, (user_id, label, sessions) in enumerate(others):
        angle = 2 * math.pi * i / max(len(others), 1) - math.pi / 2 + offset
        x, y = round(radius * math.cos(angle), 1), round(radius * math.sin(angle), 1)
        node = Node(x, y, 8, fit(label, 7), label)
        # Crowded names (at the top and bottom, where they stand side by side) step outward
        # until they clear the ones already placed.
        best = None
        for step in range(4):
            _outward(node, angle, 8 + LABEL_GAP_PX + 2 + step * 0.9 * FONT_PX)
            mine = node.label_box()  # once per place, not once per label placed
            covered = sum(mine.overlap(box) for box in taken)
            if best is None or covered < best[0]:
                best = (covered, step)
            if not covered:
                break
        _outward(node, angle, 8 + LABEL_GAP_PX + 2 + best[1] * 0.9 * FONT_PX)
        taken.append(node.label_box())
        nodes.append(node)
        if sessions:
            edges.append(Edge(0, 0, x, y, round(1 + 7 * sessions / top, 1)))
        if user_id is not None and user_id in dashed:
            edges.append(Edge(0, 0, x, y, 1.5, INTRODUCED, 0.9, dash="5 4"))
    return Picture(nodes, edges, _frame(nodes))


# --- the group's picture --------------------------------------------------------------------


def _candidates(node: Node, font_px: float):
    """Places for a node's label, best first: right, left, above, below, then the corners;
    then the same a little further out (still near enough to read as the circle's name)."""
    for further in (0.0, 0.5 * font_px):
        gap = node.r + LABEL_GAP_PX + further
        up = node.r + 0.65 * font_px + 2 + further
        yield node.x + gap, node.y, "start"
        yield node.x - gap, node.y, "end"
        yield node.x, node.y - up, "middle"
        yield node.x, node.y + up, "middle"
        for dx, anchor in ((gap * 0.7, "start"), (-gap * 0.7, "end")):
            for dy in (-up * 0.8, up * 0.8):
                yield node.x + dx, node.y + dy, anchor


def node_radius(size: float, *, small: bool = True) -> float:
    """A member's circle in the group picture, by how much they worked side by side (0..1);
    smaller in a large group."""
    return round((5 if small else 3) + 4 * size, 1)


def place_labels(
    nodes: list[Node],
    *,
    label_all: bool,
    reach: tuple[float, float] | None = None,
    font_px: float = GRAPH_FONT_PX,
) -> None:
    """Put each label where it covers no other label and no other member's circle, in the
    nodes' order (most important first). A label with no free place goes where it covers
    least when `label_all`, and is left out otherwise (the node keeps its name as a tooltip,
    and everyone is in the lists beside the picture). With `reach` (left, right), a name goes
    only where it stays between the two, if it can."""
    import numpy as np  # with the first picture, not at start-up (see network.py)

    circles = np.array([astuple(n.circle_box()) for n in nodes], dtype=float).reshape(-1, 4)
    taken = np.empty((0, 4))

    def covered(box: Box, boxes) -> "np.ndarray":
        width = np.minimum(box.right, boxes[:, 2]) - np.maximum(box.left, boxes[:, 0])
        height = np.minimum(box.bottom, boxes[:, 3]) - np.maximum(box.top, boxes[:, 1])
        return np.clip(width, 0, None) * np.clip(height, 0, None)

    for i, node in enumerate(nodes):
        best = None
        for x, y, anchor in _candidates(node, font_px):
            box = label_box(x, y, anchor, node.label, font_px)
            on_circles = covered(box, circles)
            on_circles[i] = 0.0
            beyond = reach is not None and (box.left < reach[0] or box.right > reach[1])
            score = (beyond, float(covered(box, taken).sum()), float(on_circles.sum()))
            if best is None or score < best[0]:
                best = (score, x, y, anchor, box)
            if score == (False, 0.0, 0.0):
                break
        (beyond, on_labels, on_circles), x, y, anchor, box = best
        if (beyond or on_labels or on_circles) and not label_all:
            node.label = ""
            continue
        node.label_x, node.label_y, node.anchor = round(x, 1), round(y, 1), anchor
        node.font_px = font_px
        taken = np.vstack([taken, astuple(box)])


def graph(
    people: list[tuple[int, str, float]],
    positions: dict[int, tuple[float, float]],
    ties: list[tuple[int, int, int]],
    clusters: list[list[int]],
    *,
    label_all: bool,
    reach: tuple[float, float] | None = None,
) -> Picture:
    """The group's picture from a layout: `people` are (id, name, size 0..1) in the order
    their names are written, `positions` their centres, `ties` (a, b, weight) the lines to
    draw, `clusters` lists of ids, largest first (the first few get a colour each); names stay
    within x in `reach`."""
    colour = {}
    for number, ids in enumerate(clusters):
        for member_id in ids:
            colour[member_id] = (
                CLUSTER_COLOURS[number] if number < len(CLUSTER_COLOURS) else NO_CLUSTER
            )
    nodes, where = [], {}
    small = len(people) <= 120
    for member_id, name, size in people:
        px, py = positions[member_id]
        radius = node_radius(size, small=small)
        node = Node(
            round(px, 1),
            round(py, 1),
            radius,
            fit(name, 8),
            name,
            colour.get(member_id, NO_CLUSTER),
        )
        nodes.append(node)
        where[member_id] = node
    place_labels(nodes, label_all=label_all, reach=reach)
    top = max((w for _, _, w in ties), default=1)
    edges = []
    for a, b, weight in sorted(ties, key=lambda t: t[2]):  # the strongest drawn last, on top
        na, nb = where[a], where[b]
        same = colour.get(a) == colour.get(b) and colour.get(a, NO_CLUSTER) != NO_CLUSTER
        share = weight / top
        edges.append(
            Edge(
                na.x,
                na.y,
                nb.x,
                nb.y,
                round(0.75 + 4.5 * share, 1),
                colour[a] if same else NO_CLUSTER,
                round(0.3 + 0.5 * share, 2),
            )
        )
    names = {member_id: name for member_id, name, _ in people}
    return Picture(
        nodes,
        edges,
        _frame(nodes),
        GRAPH_FONT_PX,
        [
            Cluster(colour.get(ids[0], NO_CLUSTER), [names[i] for i in ids if i in names])
            for ids in clusters
        ],
        [member_id for member_id, _name, _size in people],
    )


# --- as SVG markup --------------------------------------------------------------------------


def svg(picture: Picture, title: str, kind: str, element_id: str, css: str = "") -> Markup:
    """The picture as an <svg> element (`kind` "graph" or "star"). Built here rather than in
    a template: a group of hundreds has thousands of attributes, and a template escapes each
    one. Numbers and colours are ours; only the names (and the title) are escaped, once."""
    graph_kind = kind == "graph"
    view = picture.view
    size = (
        f' width="{int(round(view.width, 0))}" height="{int(round(view.height, 0))}"'
        if graph_kind
        else ""
    )
    css_attr = f' class="{escape(css)}"' if css else ""
    element_id = escape(element_id)
    out = [
        f'\n  <svg viewBox="{view}"{size}{css_attr} role="img" aria-labelledby="{element_id}"'
        ' preserveAspectRatio="xMidYMid meet">\n'
        f'    <title id="{element_id}">{escape(as_text(title))}</title>\n'
        '    <g stroke-linecap="round">\n      '
    ]
    out += [
        f'<line x1="{e.x1}" y1="{e.y1}" x2="{e.x2}" y2="{e.y2}" stroke="{e.colour}"'
        f' stroke-opacity="{e.opacity}" stroke-width="{e.width}"'
        + (f' stroke-dasharray="{e.dash}"/>' if e.dash else "/>")
        for e in picture.edges
    ]
    out.append("\n    </g>\n    \n    ")
    stroke, stroke_width = ("#ffffff", 1.5) if graph_kind else (INK, 2)
    titles = {id(n): escape(n.title) for n in picture.nodes}
    out += [
        f'<circle cx="{n.x}" cy="{n.y}" r="{n.r}" fill="{n.fill}" stroke="{stroke}"'
        f' stroke-width="{stroke_width}"><title>{titles[id(n)]}</title></circle>\n    '
        for n in picture.nodes
    ]
    out.append("\n    \n    ")
    # The full name as the label's tooltip too: a label may be cut short ("長谷川 ひか…").
    out += [
        f'<g><title>{titles[id(n)]}</title><text x="{n.label_x}" y="{n.label_y}"'
        f' text-anchor="{n.anchor}" dominant-baseline="middle"'
        + (f' class="{n.css}"' if n.css else "")
        + f">{escape(n.label)}</text></g>\n    "
        for n in picture.nodes
        if n.label
    ]
    out.append("\n  </svg>\n")
    return Markup("".join(out))  # noqa: S704 - every name and the title escaped above
