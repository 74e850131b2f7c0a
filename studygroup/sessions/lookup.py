"""The one way a view finds the session named in its URL.

Kept apart from sessions.routes so that every feature's views may import it without an import
cycle (sessions.routes itself imports signups' views, which need it too).
"""

from flask import abort

from studygroup.extensions import db
from studygroup.groups.models import Group
from studygroup.sessions.models import StudySession
from studygroup.sessions.services import get_session


def session_or_404(
    group: Group, session_id: int, *, slots: bool = True, taking_participants: bool = False
) -> StudySession:
    """The session if it belongs to `group`, else 404 (another group's id included).

    `slots=False` leaves the role slots unloaded (one statement fewer, for pages that never
    show them). `taking_participants=True` also gives 404 for a session that takes no
    participants (the participant pages have nothing to show for it).
    """
    session = get_session(db.session, group, session_id, slots=slots)
    if session is None or (taking_participants and not session.takes_participants):
        abort(404)
    return session
