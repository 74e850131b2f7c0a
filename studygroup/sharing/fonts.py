"""The Japanese font the card is drawn with: `CARD_FONT` (env STUDYGROUP_CARD_FONT), else
what fontconfig finds for Japanese, else a few known paths; scripts/ensure-fonts installs
Debian's fonts-noto-cjk for `make run` and `make test`."""

import logging
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageFont

log = logging.getLogger(__name__)

# Debian/Ubuntu (fonts-noto-cjk), Fedora, Alpine, macOS. Index 0 of Noto's collections is JP.
KNOWN_PATHS = {
    "bold": (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
        "/System/Library/Fonts/ヒラギノ角ゴシック W6.ttc",
    ),
    "regular": (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc",
    ),
}


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0


@dataclass(frozen=True)
class CardFonts:
    """The files for bold (title) and regular text; None for both: Pillow's own font."""

    bold: FontFile | None
    regular: FontFile | None

    @property
    def name(self) -> str:
        """Part of the card's ETag: another font draws another picture."""
        return f"{self.bold.path}:{self.regular.path}" if self.bold and self.regular else "pillow"

    def get(self, weight: str, size: int) -> "ImageFont.FreeTypeFont | ImageFont.ImageFont":
        return _load(getattr(self, weight), size)


@lru_cache(maxsize=64)
def _load(font: FontFile | None, size: int):
    # Opening a 20 MB collection takes ~10 ms; a card asks for a handful of sizes.
    from PIL import ImageFont  # with the first card, not at start-up (see card.render_card)

    if font is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(font.path, size, index=font.index)


def _fontconfig(weight: str) -> FontFile | None:
    """A font fontconfig says covers Japanese (fc-match falls back to any font, so its
    languages are checked)."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    pattern = f"sans-serif:lang=ja:weight={'bold' if weight == 'bold' else 'regular'}"
    try:
        out = subprocess.run(  # noqa: S603 (a fixed program and pattern)
            [fc_match, "-f", "%{file}\n%{index}\n%{lang}", pattern],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, index, langs = ([*out.split("\n"), "", ""])[:3]
    if not path or "ja" not in langs.split("|"):
        return None
    return FontFile(path, int(index) if index.isdigit() else 0)


def _usable(font: FontFile) -> bool:
    from PIL import ImageFont  # with the first card (see card.render_card)

    try:
        ImageFont.truetype(font.path, 20, index=font.index)
    except OSError:
        return False
    return True


def find_font(weight: str, configured: str | None) -> FontFile | None:
    if configured:
        font = FontFile(configured)
        if _usable(font):
            return font
        log.warning("CARD_FONT %r cannot be opened; looking for a Japanese font", configured)
    found = _fontconfig(weight)
    if found is not None and _usable(found):
        return found
    for path in KNOWN_PATHS[weight]:
        if Path(path).is_file() and _usable(FontFile(path)):
            return FontFile(path)
    return None


@lru_cache(maxsize=4)
def card_fonts(configured: str | None) -> CardFonts:
    """Looked up once per process (and per setting). Without a Japanese font the cards are
    drawn with Pillow's own font, whose Japanese shows as boxes: a warning says so, and the
    page still gets its card."""
    bold = find_font("bold", configured)
    regular = find_font("regular", configured) or bold
    if bold is None:
        log.warning(
            "No Japanese font for the sharing cards: install fonts-noto-cjk "
            "(scripts/ensure-fonts) or set STUDYGROUP_CARD_FONT; using Pillow's default font"
        )
        return CardFonts(None, None)
    return CardFonts(bold, regular)
