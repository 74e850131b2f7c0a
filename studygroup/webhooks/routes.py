"""Organizers' webhook pages (group settings -> Webhooks). Not kept by the page cache: they
show delivery bookkeeping, which raises no data revision (UNSEEN_TABLES)."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.access import group_view
from studygroup.groups.models import Group, Membership
from studygroup.i18n import locale_of
from studygroup.webhooks import bp
from studygroup.webhooks.forms import EVENT_NAMES, FORMAT_NAMES, WebhookForm
from studygroup.webhooks.models import Webhook, WebhookFormat
from studygroup.webhooks.services import (
    archive_webhook,
    check_url,
    create_webhook,
    last_attempts,
    new_secret_for,
    pause_webhook,
    queue_test_event,
    resume_webhook,
    update_webhook,
    webhook_of,
    webhooks_of,
)


def _webhook_or_404(group: Group, webhook_id: int) -> Webhook:
    webhook = webhook_of(db.session, group, webhook_id)
    if webhook is None:
        abort(404)
    return webhook


def _settings(form: WebhookForm) -> dict:
    return {
        "url": form.url.data,
        "events": form.events.data,
        "format": WebhookFormat(form.format.data),
        "language": form.language.data,
        "gap_days_before": form.gap_days_before.data,
    }


@bp.get("/g/<slug>/webhooks")
@group_view(organizer=True)
def index(group: Group, membership: Membership):
    return render_template(
        "webhooks/index.html",
        group=group,
        webhooks=webhooks_of(db.session, group),
        event_names=EVENT_NAMES,
        format_names=FORMAT_NAMES,
    )


@bp.route("/g/<slug>/webhooks/new", methods=["GET", "POST"])
@group_view(organizer=True)
def new(group: Group, membership: Membership):
    form = WebhookForm(check_url=check_url, language=locale_of(current_user))
    if form.validate_on_submit():
        webhook = create_webhook(
            db.session, group=group, creator=current_user, now=utcnow(), **_settings(form)
        )
        db.session.commit()
        flash(_("The webhook is added."), "success")
        return redirect(url_for("webhooks.show", slug=group.slug, webhook_id=webhook.id))
    return render_template(
        "webhooks/form.html", group=group, form=form, webhook=None
    ), 422 if form.errors else 200


@bp.get("/g/<slug>/webhooks/<int:webhook_id>")
@group_view(organizer=True)
def show(group: Group, membership: Membership, webhook_id: int):
    webhook = _webhook_or_404(group, webhook_id)
    return render_template(
        "webhooks/show.html",
        group=group,
        webhook=webhook,
        attempts=last_attempts(db.session, webhook),
        event_names=EVENT_NAMES,
        format_names=FORMAT_NAMES,
    )


@bp.route("/g/<slug>/webhooks/<int:webhook_id>/edit", methods=["GET", "POST"])
@group_view(organizer=True)
def edit(group: Group, membership: Membership, webhook_id: int):
    webhook = _webhook_or_404(group, webhook_id)
    if webhook.archived_at is not None:
        abort(404)
    form = WebhookForm(obj=webhook, check_url=check_url)
    if form.validate_on_submit():
        update_webhook(webhook, **_settings(form))
        db.session.commit()
        flash(_("The webhook is saved."), "success")
        return redirect(url_for("webhooks.show", slug=group.slug, webhook_id=webhook.id))
    return render_template(
        "webhooks/form.html", group=group, form=form, webhook=webhook
    ), 422 if form.errors else 200


def _act(group: Group, webhook_id: int, action, message: str):
    webhook = _webhook_or_404(group, webhook_id)
    if webhook.archived_at is not None:
        abort(404)
    action(webhook)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("webhooks.show", slug=group.slug, webhook_id=webhook.id))


@bp.post("/g/<slug>/webhooks/<int:webhook_id>/pause")
@group_view(organizer=True)
def pause(group: Group, membership: Membership, webhook_id: int):
    return _act(
        group,
        webhook_id,
        lambda w: pause_webhook(w, now=utcnow()),
        _("The webhook is paused: nothing is sent to it until you resume it."),
    )


@bp.post("/g/<slug>/webhooks/<int:webhook_id>/resume")
@group_view(organizer=True)
def resume(group: Group, membership: Membership, webhook_id: int):
    return _act(
        group,
        webhook_id,
        lambda w: resume_webhook(db.session, w, now=utcnow()),
        _("The webhook is resumed: what waited is sent now."),
    )


@bp.post("/g/<slug>/webhooks/<int:webhook_id>/archive")
@group_view(organizer=True)
def archive(group: Group, membership: Membership, webhook_id: int):
    _act(
        group,
        webhook_id,
        lambda w: archive_webhook(db.session, w, now=utcnow()),
        _("The webhook is archived: nothing more is sent to it. Its history stays."),
    )
    return redirect(url_for("webhooks.index", slug=group.slug))


@bp.post("/g/<slug>/webhooks/<int:webhook_id>/secret")
@group_view(organizer=True)
def new_secret(group: Group, membership: Membership, webhook_id: int):
    return _act(
        group,
        webhook_id,
        new_secret_for,
        _("The webhook has a new secret. Give it to the receiving program."),
    )


@bp.post("/g/<slug>/webhooks/<int:webhook_id>/test")
@group_view(organizer=True)
def test(group: Group, membership: Membership, webhook_id: int):
    webhook = _webhook_or_404(group, webhook_id)
    if not webhook.is_live:
        flash(_("Resume the webhook first: a paused webhook gets nothing."), "error")
    else:
        queue_test_event(db.session, webhook, now=utcnow())
        db.session.commit()
        flash(_("A test event is on its way. Reload the page to see the attempt."), "success")
    return redirect(url_for("webhooks.show", slug=group.slug, webhook_id=webhook.id))
