"""/profile/tokens: a member's personal API tokens. The new token is shown in the response
to the POST that made it (never a redirect: it would have to travel in the session cookie),
once; HTML pages are sent with Cache-Control: no-store (studygroup.security)."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from studygroup.apitokens import bp
from studygroup.apitokens.forms import SCOPE_NAMES, TokenForm
from studygroup.apitokens.services import (
    create_token,
    revoke_token,
    scopes_offered_to,
    token_of,
    tokens_of,
)
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.logging import security_event


@bp.route("/profile/tokens", methods=["GET", "POST"])
@login_required
def index():
    user = current_user._get_current_object()
    form = TokenForm(offered=scopes_offered_to(db.session, user))
    new_token = None
    if form.validate_on_submit():
        now = utcnow()
        days = form.days()
        token, new_token = create_token(
            db.session,
            user,
            name=form.name.data,
            scopes=form.chosen_scopes(),
            expires_at=now + timedelta(days=days) if days else None,
            now=now,
        )
        db.session.commit()
        security_event("api_token_created", user_id=user.id, token_id=token.id)
        form = TokenForm(offered=scopes_offered_to(db.session, user), formdata=None)
    return render_template(
        "apitokens/index.html",
        form=form,
        tokens=tokens_of(db.session, user),
        new_token=new_token,
        scope_names=SCOPE_NAMES,
        now=utcnow(),
    )


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke(token_id: int):
    """GET asks (works without JavaScript); POST revokes. Another member's token is a 404."""
    user = current_user._get_current_object()
    token = token_of(db.session, user, token_id)
    if token is None:
        abort(404)
    if request.method != "POST":  # POSTs pass CSRFProtect first (studygroup.extensions)
        return render_template("apitokens/revoke.html", token=token)
    if token.revoked_at is None:
        revoke_token(db.session, token, now=utcnow())
        db.session.commit()
        security_event("api_token_revoked", user_id=user.id, token_id=token.id)
        flash(_("The token “%(name)s” is revoked: it no longer works.", name=token.name), "success")
    return redirect(url_for("apitokens.index"))
