"""The network picture, drawn on the server as SVG: no script, and the list beside it says the
same in words (screen readers and phones without JavaScript lose nothing)."""

import math
from dataclasses import dataclass


@dataclass
class Node:
    x: float
    y: float
    label: str
    weight: int  # sessions together (0 for the member in the middle)
    # Where the name goes: outside the circle, away from the lines (above for the centre).
    label_x: float = 0
    label_y: float = 0
    anchor: str = "middle"


def _outward(node: Node, angle: float, distance: float = 14) -> Node:
    node.label_x = round(node.x + distance * math.cos(angle), 1)
    node.label_y = round(node.y + distance * math.sin(angle), 1)
    cos = math.cos(angle)
    node.anchor = "start" if cos > 0.3 else "end" if cos < -0.3 else "middle"
    return node


@dataclass
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float


def star(center_label: str, others: list[tuple[str, int]], *, size: int = 420, limit: int = 24):
    """The member in the middle, co-workers on a circle; thicker lines for more sessions.

    `others` is (label, sessions together), most first; only the first `limit` are drawn.
    """
    others = others[:limit]
    middle = size / 2
    radius = size / 2 - 70
    top = max((n for _, n in others), default=1)
    centre = Node(middle, middle, center_label, 0, middle, middle - 26, "middle")
    nodes = [centre]
    edges = []
    # Start a little off the top, so no line runs straight up through the centre's name.
    offset = math.pi / max(len(others), 1)
    for i, (label, sessions) in enumerate(others):
        angle = 2 * math.pi * i / max(len(others), 1) - math.pi / 2 + offset
        x, y = middle + radius * math.cos(angle), middle + radius * math.sin(angle)
        nodes.append(_outward(Node(round(x, 1), round(y, 1), label, sessions), angle))
        edges.append(
            Edge(middle, middle, round(x, 1), round(y, 1), round(1 + 7 * sessions / top, 1))
        )
    return nodes, edges


def ring(members: list[tuple[int, str]], pairs, *, size: int = 520, limit_pairs: int = 200):
    """A group: members on a circle, a line for each pair that co-worked (thicker: more)."""
    middle = size / 2
    radius = size / 2 - 80
    position = {}
    nodes = []
    for i, (member_id, label) in enumerate(members):
        angle = 2 * math.pi * i / max(len(members), 1) - math.pi / 2
        x, y = middle + radius * math.cos(angle), middle + radius * math.sin(angle)
        position[member_id] = (round(x, 1), round(y, 1))
        nodes.append(_outward(Node(round(x, 1), round(y, 1), label, 0), angle))
    top = max((p.sessions for p in pairs), default=1)
    edges = [
        Edge(*position[p.a], *position[p.b], round(0.5 + 6 * p.sessions / top, 1))
        for p in pairs[:limit_pairs]
        if p.a in position and p.b in position
    ]
    return nodes, edges
