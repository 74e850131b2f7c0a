"""The card images. Anyone may fetch a public group's cards (a chat's link preview has no
login); a members-only group has none."""

import hashlib

from flask import abort, current_app, request
from flask_babel import force_locale
from werkzeug.http import is_resource_modified

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.access import find_group
from studygroup.groups.models import Group
from studygroup.sessions.lookup import session_or_404
from studygroup.sharing import bp, services
from studygroup.sharing.card import CardText, render_card
from studygroup.sharing.fonts import card_fonts

# Raise when the drawing changes, so cached cards are asked for again.
CARD_VERSION = "1"
# Sessions looked at for the group card's next one (cancelled ones are passed over).
GROUP_SCAN = 5


def _shared_group_or_404(slug: str) -> Group:
    group = find_group(slug)
    if group is None or not services.is_shared(group):
        abort(404)
    return group


def _send_card(text: CardText, *, last_modified=None):
    """The PNG, drawn only when the client does not hold it already: the ETag is a hash of
    what the card says (and of the font and drawing), so an edit is a new card at once."""
    fonts = card_fonts(current_app.config.get("CARD_FONT"))
    etag = hashlib.sha256(repr((CARD_VERSION, fonts.name, text)).encode()).hexdigest()[:32]
    response = current_app.response_class(mimetype="image/png")
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["CARD_MAX_AGE"]
    if is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        response.set_data(render_card(text, fonts))
    return response.make_conditional(request)


@bp.get("/g/<slug>/sessions/<int:session_id>/card.png")
def session_card(slug: str, session_id: int):
    group = _shared_group_or_404(slug)
    # The card draws no role slots: they stay unloaded.
    session = session_or_404(group, session_id, slots=False)
    locale = services.card_locale(group, request.args.get("lang"), current_app.config["LANGUAGES"])
    with force_locale(locale):
        text = services.session_card_text(group, session)
    return _send_card(text, last_modified=max(session.updated_at, group.updated_at))


@bp.get("/g/<slug>/card.png")
def group_card(slug: str):
    group = _shared_group_or_404(slug)
    upcoming = services.upcoming_events(db.session, group, now=utcnow(), limit=GROUP_SCAN)
    next_one = next((s for s in upcoming if s.is_scheduled), None)
    locale = services.card_locale(group, request.args.get("lang"), current_app.config["LANGUAGES"])
    with force_locale(locale):
        text = services.group_card_text(group, next_one)
    # No Last-Modified: the next session changes as time passes, with no row edited.
    return _send_card(text)
