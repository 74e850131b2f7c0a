"""CSV downloads that Excel opens correctly and can never run as formulas."""

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Response
from flask_babel import get_locale

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(value) -> str:
    """Text as it should stand in a cell; one starting like a formula gets a leading quote
    (OWASP's CSV injection advice), so a spreadsheet shows it instead of running it."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


# Dates as a spreadsheet in the reader's language reads them as dates: 2026/12/19 in Japan,
# ISO 8601 (2026-12-19) in English, where day and month orders differ by country.
CSV_DATE = {"ja": "yyyy/MM/dd"}


def csv_date(value: datetime | None, tz: str) -> str:
    """`value`'s day in `tz`, written for a spreadsheet in the reader's language."""
    if value is None:
        return ""
    locale = str(get_locale())
    pattern = CSV_DATE.get(locale, "yyyy-MM-dd")
    return format_datetime(value, pattern, tzinfo=ZoneInfo(tz), locale=locale)


def counted(items) -> str:
    """`{"Setup": 3, "Reception": 1}` as a cell: `Setup ×3; Reception ×1` (as on the pages)."""
    return "; ".join(f"{name} ×{n}" for name, n in items)


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> Response:
    buffer = io.StringIO()
    # The BOM makes Excel read UTF-8 (Japanese names) instead of the system code page.
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return Response(
        buffer.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
