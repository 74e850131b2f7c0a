"""Sorting and finding members by name, the same on SQLite and PostgreSQL.

A member may give the reading of their name (ふりがな). Lists sort by the reading when there is
one, else by a reading of the display name that pykakasi guesses (長谷川 -> はせがわ), so
Japanese names come in 50-音 order though most members never type a reading; names without
kanji (kana, Latin letters) sort as they are. A search looks in the name and in the given or
guessed reading, so はせがわ finds 長谷川 either way. Both keys are stored on the user (kept up
to date by the model) and normalised here: NFKC (full-width Latin and half-width katakana
become ordinary letters and kana), case-folded, and katakana written as hiragana, so ハセガワ,
はせがわ and ﾊｾｶﾞﾜ are one reading.

Skill and interest tags (`skill_key`) and a search for them (`skill_search_term`) are folded
the same way, so "ＰＬＣ" finds "PLC" and "ぷろぐらみんぐ" finds "プログラミング".
"""

import unicodedata
from functools import cache, lru_cache

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# ァ (U+30A1) to ヶ (U+30F6) are the hiragana ぁ (U+3041) to ゖ (U+3096) plus 0x60.
_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


def fold(text: str) -> str:
    """NFKC, case-folded, katakana as hiragana: the one normal form of names and tags."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return folded.translate(_KATAKANA_TO_HIRAGANA)


# Variant kanji of family names that pykakasi's dictionary lacks, as their common forms.
_VARIANTS = str.maketrans(
    {"髙": "高", "﨑": "崎", "𠮷": "吉", "德": "徳", "濵": "濱", "栁": "柳", "槗": "橋", "𣘺": "橋"}
)


@cache
def kakasi():
    """pykakasi's converter: its dictionaries take about a second to load, once per process."""
    import pykakasi  # on first use, not at start-up

    return pykakasi.kakasi()


def _has_kanji(text: str) -> bool:
    return any(unicodedata.name(c, "").startswith("CJK ") or c == "々" for c in text)


@lru_cache(maxsize=4096)
def generated_reading(display_name: str) -> str | None:
    """The name in hiragana as pykakasi reads it (長谷川 ひかり -> はせがわ ひかり), or None
    when there is no kanji to read (the name sorts as it is, and pykakasi is not loaded).

    A kanji pykakasi does not know (it would drop the rest of the name) stays as it is and
    the reading goes on after it."""
    text = unicodedata.normalize("NFKC", display_name).translate(_VARIANTS)
    if not _has_kanji(text):
        return None
    reading = []
    while text:
        done = 0
        for part in kakasi().convert(text):
            if not part["hira"] or not text.startswith(part["orig"], done):
                break
            reading.append(part["hira"])
            done += len(part["orig"])
        if done < len(text):
            reading.append(text[done])  # unknown to pykakasi: kept, and the rest read again
            done += 1
        text = text[done:]
    return "".join(reading)


READING_LENGTH = 80  # user.reading's column


def is_reading(text: str) -> bool:
    """Whether `text` can be the reading of a name: hiragana, katakana (full or half width,
    with ー and ・), spaces (full-width too), or Latin letters for a Latin name (with the
    hyphens, apostrophes and dots such names have). Kanji, digits and symbols cannot."""
    return all(_reading_character(c) for c in text)


def _reading_character(char: str) -> bool:
    if "\u3041" <= char <= "\u30ff" or "\uff66" <= char <= "\uff9f":  # kana, ー, ・, ゛
        return True
    if char in " \u3000-'’.":
        return True
    return char.isalpha() and unicodedata.name(char, "").startswith(("LATIN ", "FULLWIDTH LATIN "))


def name_sort_key(display_name: str, reading: str | None) -> str:
    """What a member is sorted by: their reading if they gave one, else the reading of their
    name that pykakasi guesses, else (no kanji) their name."""
    key = reading or generated_reading(display_name) or display_name
    return " ".join(fold(key).split())


def name_search_key(display_name: str, reading: str | None) -> str:
    """What a search by name looks in: name and reading (given, else guessed), without spaces
    ("hikari hasegawa" and "はせがわひかり" both find 長谷川 ひかり (Hikari Hasegawa), reading
    はせがわ ひかり)."""
    reading = reading or generated_reading(display_name) or ""
    return "\n".join(search_term(part) for part in (display_name, reading) if part)


def search_term(text: str) -> str:
    """A search as typed, in the form of the stored keys."""
    return "".join(fold(text).split())


# skill.key's column, as skill.name's. NFKC may lengthen a name (㍿ is 株式会社): such a key
# is cut, so two long names alike in their first 40 folded characters would be one tag.
SKILL_KEY_LENGTH = 40


def skill_key(name: str) -> str:
    """What a skill tag is matched by, and what makes two tags one: folded (`fold`), runs of
    spaces as one space. "Ｋｕｂｅｒｎｅｔｅｓ", "kubernetes" and "KUBERNETES" are one tag, and
    "クバネテス" and "くばねてす" another."""
    return " ".join(fold(name).split())[:SKILL_KEY_LENGTH]


def skill_search_term(text: str) -> str:
    """A search for skills as typed, in the form of `skill_key` (found inside a key)."""
    return " ".join(fold(text).split())


class by_code_point(FunctionElement):  # noqa: N801 (reads as a SQL function)
    """Order text by its code points on every engine.

    SQLite compares code points already; PostgreSQL uses the database's collation, whose
    locale rules would order kana and Latin differently from SQLite (and from 50-音 order).
    """

    inherit_cache = True
    type = sa.Text()


@compiles(by_code_point)
def _as_is(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(by_code_point, "postgresql")
def _collate_c(element, compiler, **kw):
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


def by_name() -> list:
    """ORDER BY terms that list users by reading or name (ties by name, then id)."""
    from studygroup.auth.models import User  # here: auth.models imports this module

    return [by_code_point(User.name_sort_key), by_code_point(User.display_name), User.id]


def name_order(user) -> tuple:
    """by_name()'s order in Python, for users already loaded: sort(key=name_order)."""
    return (user.name_sort_key, user.display_name, user.id)


def name_matches(search: str):
    """WHERE clause: the user's name or reading contains `search` (case, width and kana
    type aside). `%` and `_` in the search are plain characters."""
    from studygroup.auth.models import User  # here: auth.models imports this module

    return User.name_search_key.contains(search_term(search), autoescape=True)
