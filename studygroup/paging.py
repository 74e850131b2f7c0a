"""Every list that can grow pages to its end: a page number from the URL, one page of rows
and how many there are in all.

Offset paging with page numbers: our lists are hundreds of rows, not millions, and numbered
pages let a person say "page 3" and jump to the last one. Flask-SQLAlchemy's `paginate` reads
the request itself and answers a page past the end with nothing or a 404; here a service gets
a plain number and a page past the end shows the last page.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from math import ceil
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import request, url_for
from sqlalchemy.orm import Session

from studygroup.input import is_ascii_number

T = TypeVar("T")
U = TypeVar("U")

# Page sizes: session cards are tall; table rows of people are short.
SESSIONS_PER_PAGE = 12
ARCHIVE_PER_PAGE = 20
PEOPLE_PER_PAGE = 50

MAX_SEARCH = 100

# Longer numbers than this are not pages anyone was sent to: page 1.
_MAX_DIGITS = 7


def page_number(raw: str | None) -> int:
    """The page asked for in the URL. Anything but plain ASCII digits ("abc", "-1", "²",
    "١٢", a 40-digit number) is page 1; so is 0. A page past the end is the last page, which
    `paginate` decides once it knows how many there are."""
    if raw and is_ascii_number(raw) and len(raw) <= _MAX_DIGITS:
        return max(int(raw), 1)
    return 1


def search_text(raw: str | None) -> str:
    """A search as typed in a list's search box, trimmed to a sensible length."""
    return (raw or "").strip()[:MAX_SEARCH]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, its number (from 1), its size and the list's total."""

    items: Sequence[T]
    number: int
    size: int
    total: int

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first(self) -> int:
        """The position of the page's first item in the whole list (from 1; 0 when empty)."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    def links(self, around: int = 2) -> list[int | None]:
        """Page numbers to link to: the first, the last, and `around` either side of this
        one; None where numbers are left out ("1 … 4 5 6 7 8 … 20")."""
        shown = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        out: list[int | None] = []
        for n in numbers:
            if out and n - out[-1] == 2:  # a gap of one page: show it rather than "…"
                out.append(n - 1)
            elif out and n - out[-1] > 2:
                out.append(None)
            out.append(n)
        return out

    def map(self, change: Callable[[Sequence[T]], Sequence[U]]) -> "Page[U]":
        """The same page with its items replaced (e.g. users by their records)."""
        return Page(change(self.items), self.number, self.size, self.total)


def paginate(
    db_session: Session, query: sa.Select, *, page: int, size: int, total: int | None = None
) -> Page[Any]:
    """Page `number` of an ordered ORM query, in two queries (a count and the page; loader
    options on `query` add theirs, the same for every page). `total` skips the count when
    the caller knows it. The order must be total (end it with an id), or rows could repeat
    or go missing between pages."""
    if total is None:
        total = db_session.scalar(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        )
    number = min(max(page, 1), max(1, ceil(total / size)))
    items = list(db_session.scalars(query.limit(size).offset((number - 1) * size)).unique().all())
    return Page(items, number, size, total)


def paginate_counted(db_session: Session, query: sa.Select, *, page: int, size: int) -> Page[Any]:
    """`paginate` in one statement for any page that has rows: the total rides on each row as
    a window count (`count(*) OVER ()`, counted before LIMIT). A page past the end has no
    row to carry it and costs `paginate`'s two more. Only for queries whose loader options
    are many-to-one (a joined collection would multiply the rows counted)."""
    number = max(page, 1)
    rows = db_session.execute(
        query.add_columns(sa.func.count().over()).limit(size).offset((number - 1) * size)
    ).all()
    if rows:
        return Page([row[0] for row in rows], number, size, rows[0][1])
    if number == 1:
        return Page([], 1, size, 0)
    return paginate(db_session, query, page=page, size=size)


def url_here(_anchor: str | None = None, **changes: Any) -> str:
    """This page's URL with some query arguments changed (None removes one). Another page
    of the list is `url_here(page=3)`; any other change (a search, a filter) starts again
    at page 1. Arguments starting with "_" are url_for's own and never come from the URL."""
    args = {k: v for k, v in request.args.lists() if not k.startswith("_")}
    args.pop("page", None)
    for name, value in changes.items():
        if value is None or (name == "page" and value == 1):
            args.pop(name, None)
        else:
            args[name] = value
    return url_for(request.endpoint, **{**args, **(request.view_args or {})}, _anchor=_anchor)
