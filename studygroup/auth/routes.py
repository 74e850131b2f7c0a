import hashlib
import math
from datetime import timedelta

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from studygroup.auth import bp, devices
from studygroup.auth.forms import (
    ForgotPasswordForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from studygroup.auth.models import User
from studygroup.auth.reset import (
    LIFETIMES,
    PasswordLinkRefused,
    Purpose,
    account_for_reset,
    queue_reset_email,
    read_password_link,
    set_password_with_link,
)
from studygroup.auth.services import (
    HashCost,
    authenticate,
    change_password,
    end_all_sessions,
    normalize_email,
    parse_skills,
    register_user,
    remember_page_locale,
    set_skills,
)
from studygroup.auth.throttle import LoginThrottled, begin_attempt, end_attempt, take_reset_turn
from studygroup.db import unreachable_in_this_request, utcnow
from studygroup.extensions import db, login_manager
from studygroup.groups.access import load_viewer
from studygroup.i18n import (
    forget_member_locale,
    keep_member_locale,
    select_locale,
    visitor_locale,
)
from studygroup.logging import security_event
from studygroup.mail.delivery import deliver
from studygroup.security import client_address, return_path
from studygroup.views import commit_unless_duplicate


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    if unreachable_in_this_request():
        # The error page for an unreachable database renders as nobody, without asking it.
        return None
    return load_viewer(session_token, (request.view_args or {}).get("slug"))


def _email_hash(email: str) -> str:
    """Failed logins are logged by a hash of the address: traceable, not readable."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()[:16]


def _after_login_url() -> str:
    return return_path() or url_for("main.home")


# Requests that must not touch the database for a member's language.
_NO_LANGUAGE_CHECK = {None, "static", "main.healthz", "main.readyz"}


@bp.before_app_request
def remember_language():
    """Members who follow their browser: keep the language of this visit for their emails and
    feeds. Costs a write only when it changed; a request that names no language we speak
    (no Accept-Language, as from scripts) teaches nothing. Also keeps the session cookie's
    copy of a member's own setting current (set on another device, say)."""
    if request.endpoint in _NO_LANGUAGE_CHECK:
        return
    if current_app.session_interface.is_null_session(cookie_session):
        return  # a calendar feed: no member to find, its language comes from its URL
    if not current_user.is_authenticated:
        forget_member_locale()  # logged out elsewhere: no member's setting applies here
        return
    keep_member_locale(current_user)
    if current_user.locale in current_app.config["LANGUAGES"]:
        return  # their own choice decides; the page language does not matter
    visit = visitor_locale()
    if visit and remember_page_locale(db.session, current_user._get_current_object(), visit):
        db.session.commit()


def _device_lifetime() -> timedelta:
    return timedelta(days=current_app.config["LOGIN_DEVICE_COOKIE_DAYS"])


def _devices() -> list[devices.Device]:
    """The accounts this browser's device cookie vouches for (none if it is forged)."""
    found = devices.read_cookie(
        request.cookies.get(devices.COOKIE_NAME),
        key=current_app.config["SECRET_KEY"],
        now=utcnow(),
        lifetime=_device_lifetime(),
    )
    if found is None:
        security_event("device_cookie_rejected")
        return []
    return found


def _remember_device(response, user: User, known: list[devices.Device]):
    """After a login: this browser's device cookie vouches for the account from now on."""
    value = devices.cookie_with(known, user.id, key=current_app.config["SECRET_KEY"], now=utcnow())
    response.set_cookie(
        devices.COOKIE_NAME,
        value,
        max_age=_device_lifetime(),
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Strict",
    )
    return response


def _throttled(template: str, form, field, throttled: LoginThrottled):
    """The form again with why and for how long (429, Retry-After)."""
    if throttled.reason == "address":
        message = ngettext(
            "Too many failed logins from this network. Try again in %(num)d minute, or use a "
            "browser you have logged in with before.",
            "Too many failed logins from this network. Try again in %(num)d minutes, or use a "
            "browser you have logged in with before.",
            math.ceil(throttled.retry_after / 60),
        )
    else:
        message = ngettext(
            "Too many failed attempts for this account. Try again in %(num)d second.",
            "Too many failed attempts for this account. Try again in %(num)d seconds.",
            throttled.retry_after,
        )
    field.errors = [*field.errors, message]
    response = make_response(render_template(template, form=form), 429)
    response.headers["Retry-After"] = str(throttled.retry_after)
    return response


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(_after_login_url())
    form = RegisterForm()
    if form.validate_on_submit():
        user = register_user(
            db.session,
            email=form.email.data,
            password=form.password.data,
            display_name=form.display_name.data,
            locale=form.locale.data or None,
            page_locale=select_locale(),
            timezone=current_app.config["DEFAULT_TIMEZONE"],
            cost=HashCost.from_config(current_app.config),
        )
        if not commit_unless_duplicate():
            form.email.errors.append(
                _("An account with this email already exists. Log in instead.")
            )
            return render_template("auth/register.html", form=form)
        login_user(user)
        keep_member_locale(user)
        flash(_("Welcome, %(name)s! Your account is ready.", name=user.display_name), "success")
        return _remember_device(redirect(_after_login_url()), user, _devices())
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_after_login_url())
    form = LoginForm()
    if form.validate_on_submit():
        email_hash, known = _email_hash(form.email.data), _devices()
        try:
            result = authenticate(
                db.session,
                email=form.email.data,
                password=form.password.data,
                address=client_address(),
                devices=known,
                now=utcnow(),
                config=current_app.config,
            )
        except LoginThrottled as throttled:
            security_event(
                "login_throttled",
                email_hash=email_hash,
                reason=throttled.reason,
                retry_after=throttled.retry_after,
            )
            return _throttled("auth/login.html", form, form.email, throttled)
        db.session.commit()
        if result.user is not None:
            login_user(result.user, remember=form.remember.data)
            keep_member_locale(result.user)
            security_event("login", user_id=result.user.id, trusted_device=result.trusted)
            return _remember_device(redirect(_after_login_url()), result.user, known)
        security_event("login_failed", email_hash=email_hash, trusted_device=result.trusted)
        if result.device_locked:
            security_event("device_cookie_locked", email_hash=email_hash)
        form.password.errors.append(_("The email or the password is not right."))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    # Rotating the token ends this login everywhere, also copies of the cookie.
    end_all_sessions(current_user)
    db.session.commit()
    security_event("logout", user_id=current_user.id)
    logout_user()
    forget_member_locale()
    flash(_("You are logged out, on all your devices."), "info")
    return redirect(url_for("main.home"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        form.populate_obj(user)
        set_skills(db.session, user, parse_skills(form.skills.data or ""))
        keep_member_locale(user)
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    user = current_user._get_current_object()
    form = PasswordChangeForm(user)
    if request.method != "POST":
        return render_template("auth/password.html", form=form)
    # Guessing the current password from a stolen session is throttled like logging in.
    now = utcnow()
    try:
        attempt = begin_attempt(
            db.session,
            email=user.email,
            user_id=user.id,
            address=client_address(),
            devices=_devices(),
            now=now,
            config=current_app.config,
        )
    except LoginThrottled as throttled:
        security_event("password_check_throttled", user_id=user.id, reason=throttled.reason)
        return _throttled("auth/password.html", form, form.current_password, throttled)
    if form.validate_on_submit():
        change_password(user, form.new_password.data, HashCost.from_config(current_app.config))
        end_attempt(db.session, attempt, succeeded=True, now=now, config=current_app.config)
        db.session.commit()
        # Other devices are logged out; this one carries on with the new token.
        had_remember = (
            current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
        )
        login_user(user, remember=had_remember)
        security_event("password_changed", user_id=user.id)
        flash(_("Your password is changed. Other devices are logged out."), "success")
        return redirect(url_for("auth.profile"))
    wrong = bool(form.current_password.errors)
    end_attempt(db.session, attempt, succeeded=not wrong, now=now, config=current_app.config)
    db.session.commit()
    if wrong:
        security_event("password_check_failed", user_id=user.id)
    return render_template("auth/password.html", form=form)


# --- "forgot your password?" and welcome links (studygroup.auth.reset) ----------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a link to set a new password. Whether an account has the address or not, the
    answer is the same, so the page tells nobody who has an account here."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot.html", form=form)
    now = utcnow()
    wait = take_reset_turn(db.session, client_address(), now=now, config=current_app.config)
    db.session.commit()
    if wait:
        security_event("password_reset_throttled", retry_after=wait)
        minutes = math.ceil(wait / 60)
        form.email.errors = [
            *form.email.errors,
            ngettext(
                "Too many requests from this network. Try again in %(num)d minute.",
                "Too many requests from this network. Try again in %(num)d minutes.",
                minutes,
            ),
        ]
        response = make_response(render_template("auth/forgot.html", form=form), 429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = account_for_reset(db.session, form.email.data)
    queued = None
    if user is not None:
        queued = queue_reset_email(
            db.session, user, secret_key=current_app.config["SECRET_KEY"], now=now
        )
    security_event(
        "password_reset_asked",
        email_hash=_email_hash(form.email.data),
        emailed=queued is not None,
    )
    db.session.commit()
    hours = round(LIFETIMES[Purpose.RESET].total_seconds() / 3600)
    flash(
        ngettext(
            "If an account has the address %(email)s, we sent it a link to set a new password. "
            "The link works for %(num)d hour. No email? Look in the spam folder, or ask again.",
            "If an account has the address %(email)s, we sent it a link to set a new password. "
            "The link works for %(num)d hours. No email? Look in the spam folder, or ask again.",
            hours,
            email=form.email.data,
        ),
        "info",
    )
    return _send_after_the_answer(redirect(url_for("auth.login")))


def _send_after_the_answer(response):
    """Send the emails this request queued once the answer has gone out (the server closes
    the response after sending it): a reset email sent before answering would make the
    answer slower for addresses that have an account, and so tell who has one. An email
    that fails stays in the outbox for the next `send-reminders` run."""
    ids = db.session.info.pop("queued_emails", [])
    if not ids:
        return response
    app = current_app._get_current_object()

    def send():
        with app.app_context():
            try:
                deliver(db.session, now=utcnow(), ids=ids)
            except Exception:
                app.logger.exception("sending queued email failed")
            finally:
                db.session.remove()

    response.call_on_close(send)
    return response


def _private(response, status: int = 200):
    """A page whose address holds a secret link: no Referer carries it anywhere."""
    response = make_response(response, status)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """The page of a reset or welcome link: choose a new password, then logged in. A link that
    has expired or was used gets a page that says so, with the way to ask for another."""
    now, config = utcnow(), current_app.config
    try:
        link = read_password_link(db.session, token, secret_key=config["SECRET_KEY"], now=now)
    except PasswordLinkRefused as refused:
        return _refused_link(refused)
    form = ResetPasswordForm(link.user)
    if form.validate_on_submit():
        try:
            link = set_password_with_link(
                db.session,
                token,
                form.new_password.data,
                secret_key=config["SECRET_KEY"],
                now=now,
                cost=HashCost.from_config(config),
            )
        except PasswordLinkRefused as refused:
            db.session.rollback()
            return _refused_link(refused)
        db.session.commit()
        user = link.user
        login_user(user)
        keep_member_locale(user)
        security_event("password_set_by_link", user_id=user.id, purpose=link.purpose.value)
        flash(
            _("Your password is set and you are logged in. Other devices are logged out."),
            "success",
        )
        return _remember_device(redirect(url_for("main.home")), user, _devices())
    page = render_template("auth/reset.html", form=form, user=link.user, purpose=link.purpose)
    return _private(page, 422 if form.errors else 200)


def _refused_link(refused: PasswordLinkRefused):
    security_event("password_link_refused", reason=refused.problem.value)
    page = render_template("auth/reset_refused.html", problem=refused.problem.value)
    return _private(page, 404 if refused.problem.value == "broken" else 410)
