"""The card image shared links show: 1200x630 PNG, drawn with Pillow. Pure: text in, bytes
out; the routes find the text (in the card's language) and cache the bytes."""

import io
import re
from dataclasses import dataclass
from functools import lru_cache

from studygroup.sharing.fonts import CardFonts

WIDTH, HEIGHT = 1200, 630
MARGIN = 80
TEXT_WIDTH = WIDTH - 2 * MARGIN
SAFETY = 0.98
# The site's colours (style.css: --bg, --fg, --muted, --accent, --danger).
BACKGROUND = "#fbfbf8"
INK = "#1d2330"
MUTED = "#5b6475"
ACCENT = "#1f6f5c"
DANGER = "#a3271b"

TITLE_SIZES = range(76, 43, -4)  # the largest that fits in MAX_TITLE_LINES
MAX_TITLE_LINES = 3
LINE_SPACING = 1.28

# Japanese line breaking (kinsoku shori, JIS X 4051 in short): these never start a line...
NO_LINE_START = set(
    "、。，．・：；？！‐ー〜…‥）〕］｝〉》」』】’”ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
    ",.;:!?)]}%"
)
# ...and these never end one.
NO_LINE_END = set("（〔［｛〈《「『【‘“([{")
# A run of Latin letters, digits and their punctuation breaks as a word; any other character
# (kana, kanji) may break before or after itself.
_TOKENS = re.compile(r"[\u0021-\u007e\u00a0-\u024f\u2010-\u2027]+|\s+|.", re.DOTALL)


@dataclass(frozen=True)
class CardText:
    """What a card says, already in its language."""

    title: str
    group: str
    when: str = ""
    venue: str = ""
    badge: str = ""  # "中止" / "Cancelled": drawn in red, the title greyed


def _width(font, text: str) -> float:
    # Measured by token and added up: a line is measured many times while it grows, and
    # Pillow's getlength lays the whole string out each time (a long title took 70 ms).
    # Kerning across tokens is left out; SAFETY keeps the sum on the side of caution.
    return sum(_token_width(font, token) for token in _TOKENS.findall(text))


@lru_cache(maxsize=8192)
def _token_width(font, token: str) -> float:
    return font.getlength(token)


def wrap(text: str, font, max_width: float) -> list[str]:
    """Lines no wider than `max_width`: Latin breaks between words, Japanese between any two
    characters, except before closing marks and small kana and after opening brackets. A
    word wider than a line (a long URL) is cut by characters."""
    lines: list[list[str]] = [[]]

    def width(parts: list[str]) -> float:
        return _width(font, "".join(parts).rstrip())

    def place(token: str) -> None:
        line = lines[-1]
        if token.isspace():
            if line:
                line.append(" ")
            return
        if width([*line, token]) <= max_width:
            line.append(token)
            return
        if len(token) > 1 and _width(font, token) > max_width:
            for char in token:
                place(char)
            return
        while line and line[-1] == " ":
            line.pop()
        carried: list[str] = []
        # A closing mark may not start the next line: the token before it comes along.
        if token[0] in NO_LINE_START and len(line) > 1:
            carried.append(line.pop())
        # An opening bracket may not end this line.
        while len(line) > 1 and line[-1][-1] in NO_LINE_END:
            carried.insert(0, line.pop())
        if carried and width([*carried, token]) > max_width:
            line.extend(carried)  # the rule would overflow the next line: keep them here
            carried = []
        lines.append([*carried, token])

    for token in _TOKENS.findall(" ".join(text.split())):
        place(token)
    return ["".join(line).strip() for line in lines if "".join(line).strip()]


def _ellipsize(line: str, font, max_width: float) -> str:
    while line and _width(font, line + "…") > max_width:
        line = line[:-1]
    return line.rstrip() + "…"


def fit_title(title: str, fonts: CardFonts) -> tuple[int, list[str]]:
    """The largest size at which the title takes at most three lines; at the smallest, the
    third line ends with "…"."""
    for size in TITLE_SIZES:
        lines = wrap(title, fonts.get("bold", size), TEXT_WIDTH * SAFETY)
        if len(lines) <= MAX_TITLE_LINES:
            return size, lines
    font = fonts.get("bold", size)
    lines = lines[:MAX_TITLE_LINES]
    lines[-1] = _ellipsize(lines[-1], font, TEXT_WIDTH)
    return size, lines


def _one_line(draw, xy, text: str, font, fill, max_width: float = TEXT_WIDTH) -> None:
    if _width(font, text) > max_width:
        text = _ellipsize(text, font, max_width)
    draw.text(xy, text, font=font, fill=fill)


@lru_cache(maxsize=256)
def render_card(card: CardText, fonts: CardFonts) -> bytes:
    """The PNG. Kept by content: the same text and fonts give the same bytes, drawn once per
    process (256 cards of ~60 KB at most)."""
    # Pillow (~4 MB) is imported by the first card drawn, not by every worker at start-up.
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 14), fill=ACCENT)

    group_font = fonts.get("regular", 34)
    y = 62
    badge_width = 0
    if card.badge:
        badge_font = fonts.get("bold", 34)
        text_width = _width(badge_font, card.badge)
        badge_width = int(text_width) + 40
        left = WIDTH - MARGIN - badge_width
        draw.rounded_rectangle((left, y - 6, WIDTH - MARGIN, y + 50), radius=10, fill=DANGER)
        draw.text((left + 20, y), card.badge, font=badge_font, fill="#ffffff")
    _one_line(draw, (MARGIN, y), card.group, group_font, ACCENT, TEXT_WIDTH - badge_width - 24)

    size, lines = fit_title(card.title, fonts)
    title_font = fonts.get("bold", size)
    line_height = int(size * LINE_SPACING)
    # The title and its lines sit in the middle of the space below the group's name.
    block = len(lines) * line_height + 22 + (58 if card.when else 0) + (48 if card.venue else 0)
    y = max(140, 130 + (HEIGHT - 90 - 130 - block) // 2)
    for line in lines:
        draw.text((MARGIN, y), line, font=title_font, fill=MUTED if card.badge else INK)
        y += line_height
    y += 22
    if card.when:
        _one_line(draw, (MARGIN, y), card.when, fonts.get("regular", 40), INK)
        y += 58
    if card.venue:
        _one_line(draw, (MARGIN, y), card.venue, fonts.get("regular", 34), MUTED)

    draw.rectangle((0, HEIGHT - 10, WIDTH, HEIGHT), fill=ACCENT)
    footer_font = fonts.get("bold", 28)
    draw.text(
        (WIDTH - MARGIN - _width(footer_font, "studygroup"), HEIGHT - 62),
        "studygroup",
        font=footer_font,
        fill=MUTED,
    )
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=6)
    return out.getvalue()
