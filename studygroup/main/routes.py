import sqlalchemy as sa
from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.services import groups_of, public_groups
from studygroup.i18n import keep_member_locale
from studygroup.main import bp
from studygroup.main.attention import GAPS_AHEAD, organize_page
from studygroup.pagecache.cache import kept_page
from studygroup.paging import SESSIONS_PER_PAGE, page_number
from studygroup.security import safe_next_url
from studygroup.signups.cards import session_cards


@bp.get("/")
@kept_page
def home():
    if not current_user.is_authenticated:
        return render_template("main/landing.html", groups=public_groups(db.session))
    memberships = groups_of(db.session, current_user)
    active_ids = [m.group_id for m in memberships if m.is_active]
    cards = session_cards(
        db.session,
        group_ids=active_ids,
        now=utcnow(),
        page=page_number(request.args.get("page")),
        size=SESSIONS_PER_PAGE,
    )
    return render_template(
        "main/home.html", memberships=memberships, sessions=cards.sessions, staffing=cards.staffing
    )


@bp.get("/organize")
@login_required
@kept_page
def organize():
    """The organizer portal: first what needs me, then every group I organize with its next
    sessions and head-counts."""
    page = organize_page(db.session, current_user, utcnow())
    return render_template(
        "main/organize.html",
        needs=page.needs,
        gaps_days=GAPS_AHEAD.days,
        memberships=[n.membership for n in page.needs],
        by_group=page.by_group,
        upcoming_counts=page.upcoming,
        filled=page.filled,
    )


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            keep_member_locale(current_user)
            db.session.commit()
    return redirect(safe_next_url(request.form.get("next")) or url_for("main.home"))


@bp.get("/healthz")
def healthz():
    """The process answers. Touches nothing else, so a slow database never fails it."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """The database answers one cheap query."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        current_app.logger.warning("readiness check failed: database unreachable")
        db.session.rollback()
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}
