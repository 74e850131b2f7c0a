from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, StringField, ValidationError
from wtforms.validators import Length

from studygroup.forms import Form, number_range, options, required
from studygroup.sessions.forms import MultiCheckboxField
from studygroup.webhooks.guard import UnsafeURL
from studygroup.webhooks.models import EVENTS, WebhookFormat

EVENT_NAMES = {
    "session.posted": _l("A session is posted (one event for a whole series)"),
    "session.moved": _l("A session is moved to another time"),
    "session.cancelled": _l("A session is cancelled"),
    "role.gaps": _l("A role still has gaps some days before the session"),
    "place.freed": _l("A place freed up (cancelled, and nobody on the waitlist took it)"),
    "series.posted": _l("A series is posted"),
    "test": _l("Test event"),
}

FORMAT_NAMES = {
    WebhookFormat.JSON: _l("JSON, signed (for your own program)"),
    WebhookFormat.SLACK: _l("Slack incoming webhook"),
    WebhookFormat.DISCORD: _l("Discord webhook"),
}


class WebhookForm(Form):
    url = StringField(
        _l("Address (URL)"),
        validators=[required(), Length(max=2000)],
        description=_l("An https:// address on the public internet, e.g. the one Slack gives."),
    )
    events = MultiCheckboxField(
        _l("Events to send"),
        choices=options((e, EVENT_NAMES[e]) for e in EVENTS),
        default=list(EVENTS),
    )
    format = RadioField(
        _l("Format"),
        choices=options((f.value, FORMAT_NAMES[f]) for f in WebhookFormat),
        default=WebhookFormat.JSON.value,
    )
    language = RadioField(
        _l("Language of the messages (Slack and Discord)"),
        choices=options([("ja", "日本語"), ("en", "English")]),
        default="ja",
    )
    gap_days_before = IntegerField(
        _l("Days before the session for “a role still has gaps”"),
        validators=[required(), number_range(1, 60)],
        default=7,
    )

    def __init__(self, *args, check_url=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_url = check_url

    def validate_events(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one event."))

    def validate_url(self, field) -> None:
        """Resolved now, so a private address is refused next to the field (and again at
        every delivery: DNS may change)."""
        if self._check_url is None:
            return
        try:
            self._check_url(field.data)
        except UnsafeURL as refused:
            raise ValidationError(refused.message) from refused
