"""A group's address (slug): the pattern, whether one is taken, and a free one suggested from
the group's name (Japanese romanised as passports and station signs write it)."""

import re
import secrets
import unicodedata

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.groups.models import Group
from studygroup.names import kakasi

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def slug_taken(db_session: Session, slug: str, *, except_group: Group | None = None) -> bool:
    query = sa.select(Group.id).where(Group.slug == slug)
    if except_group is not None:
        query = query.where(Group.id != except_group.id)
    return db_session.scalar(query) is not None


SLUG_LENGTH = 40  # a suggested address stays short enough to read out and type


def _has_kana_or_kanji(text: str) -> bool:
    """Kana and kanji: the parts of a name that are romanised. Compared character by
    character: a regular expression over these ranges takes ~3 ms to compile, in the start-up
    of every worker, for what only naming a group uses."""
    return any("\u3040" <= c <= "\u30ff" or "\u3400" <= c <= "\u9fff" for c in text)


# Long vowels as passports and station signs write them: 東京 tokyo, 大阪 osaka.
LONG_VOWEL = re.compile(r"o[ou]|uu")


def romanised_slug(name: str) -> str:
    """`name` as an address: Japanese in Hepburn romaji as passports and signs write it, long
    vowels folded (渋谷Python勉強会 -> shibuya-python-benkyokai, 東京 tokyo, コーヒー kohi), words
    joined by hyphens, cut at a word. Latin words pass unchanged (Google stays google). "" when
    nothing usable is left."""
    text = "".join(
        # Café -> Cafe; Japanese keeps its marks (が is not か + ゛ to the converter).
        unicodedata.normalize("NFKD", c)[0] if unicodedata.name(c, "").startswith("LATIN") else c
        for c in unicodedata.normalize("NFKC", name)
    )
    words = " ".join(_romaji(part) for part in kakasi().convert(text))
    slug = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
    while len(slug) > SLUG_LENGTH and "-" in slug:
        slug = slug.rsplit("-", 1)[0]
    slug = slug[:SLUG_LENGTH].strip("-")
    return slug if SLUG_RE.match(slug) else ""


def _romaji(part: dict) -> str:
    """One part of pykakasi's reading: romaji without long vowels; other text as it is."""
    if not _has_kana_or_kanji(part["orig"]):
        return part["hepburn"]
    romaji = part["hepburn"]
    if "ー" in part["hira"]:
        # The katakana long mark doubles any vowel (コーヒー koohii): read the word without it.
        romaji = "".join(p["hepburn"] for p in kakasi().convert(part["hira"].replace("ー", "")))
    return LONG_VOWEL.sub(lambda long: long[0][0], romaji)


def suggest_slug(db_session: Session, name: str, *, except_group: Group | None = None) -> str:
    """A free address for a group called `name`: its romanised name, with -2, -3... when that
    is taken, or a short random one (group-7f3a9c) when the name gives nothing."""
    base = romanised_slug(name)
    if base:
        for candidate in [base] + [f"{base}-{n}" for n in range(2, 10)]:
            if not slug_taken(db_session, candidate, except_group=except_group):
                return candidate
    while True:
        candidate = f"{base or 'group'}-{secrets.token_hex(3)}"
        if not slug_taken(db_session, candidate, except_group=except_group):
            return candidate
