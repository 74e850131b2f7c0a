"""A participant's short code and its QR code, drawn by the app itself (segno, no network).

The QR code holds the short code and nothing else: reception scans it on the session's check-in
page, which looks the code up among that session's participants. Always a full QR code
(`segno.make_qr`): for six letters `segno.make` would draw a Micro QR code, which phones'
scanners (BarcodeDetector, jsQR) do not read."""

import io

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import Session

from studygroup.participants.models import Participant, new_participant_code


def unused_code(db_session: Session, session_id: int) -> str:
    """A short code no participant of the session has. Call it under the session's row lock
    (`studygroup.db.lock_row`), so two registrations cannot draw the same one; the unique
    constraint (session, code) backs it up."""
    taken = set(
        db_session.scalars(sa.select(Participant.code).where(Participant.session_id == session_id))
    )
    while True:
        code = new_participant_code()
        if code not in taken:
            return code


def qr_svg(text: str, *, scale: int = 6) -> Markup:
    """An inline SVG of the QR code for `text`, sized in CSS pixels, with a quiet zone."""
    # segno (and its xml.sax writers) load with the first QR code, not in every worker.
    import segno

    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(
        buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, nl=False, svgclass="qr"
    )
    return Markup(buffer.getvalue().decode())  # noqa: S704 - segno's own SVG, no user markup


def qr_png(text: str, *, scale: int = 8) -> bytes:
    """The QR code for `text` as PNG bytes (email clients do not show inline SVG)."""
    import segno  # with the first QR code (see qr_svg)

    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=scale)
    return buffer.getvalue()
