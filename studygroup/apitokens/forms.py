from flask_babel import lazy_gettext as _l
from wtforms import RadioField, StringField, ValidationError
from wtforms.validators import Length

from studygroup.apitokens.models import Scope
from studygroup.apitokens.services import NAME_MAX_LENGTH
from studygroup.forms import Form, options, required, strip
from studygroup.sessions.forms import MultiCheckboxField

# In lists of tokens, in the order of Scope.
SCOPE_NAMES = {
    Scope.READ: _l("Read"),
    Scope.WRITE: _l("Write"),
    Scope.ORGANIZE: _l("Organize"),
}
SCOPE_LABELS = {
    Scope.READ: _l("Read: your groups, sessions, places and schedule"),
    Scope.WRITE: _l("Write: sign up, cancel and offer your places, as you do on the site"),
    Scope.ORGANIZE: _l("Organize: manage the groups you organize (sessions, roles, staffing)"),
}
# Days a new token works; "never" keeps it until it is revoked.
EXPIRY_CHOICES = ("30", "90", "365", "never")


class TokenForm(Form):
    """A new token: its label, scopes (`offered`: those the member may give) and expiry."""

    name = StringField(
        _l("Name"),
        filters=[strip],
        validators=[required(), Length(max=NAME_MAX_LENGTH)],
        description=_l("What it is for, to tell your tokens apart, e.g. “calendar script”."),
    )
    # Checked below: a scope that is not offered gets a sentence of its own.
    scopes = MultiCheckboxField(
        _l("What it may do"), default=[Scope.READ.value], validate_choice=False
    )
    expiry = RadioField(
        _l("Expires"),
        choices=options(
            [
                ("30", _l("In 30 days")),
                ("90", _l("In 90 days")),
                ("365", _l("In a year")),
                ("never", _l("Never (until you revoke it)")),
            ]
        ),
        default="90",
    )

    def __init__(self, *args, offered: list[Scope], **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = {scope.value for scope in offered}
        self.scopes.choices = options((scope.value, SCOPE_LABELS[scope]) for scope in offered)

    def validate_scopes(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one."))
        if not set(field.data) <= self.offered:
            raise ValidationError(_l("Choose among the scopes offered here."))

    def chosen_scopes(self) -> set[Scope]:
        return {Scope(value) for value in self.scopes.data}

    def days(self) -> int | None:
        return None if self.expiry.data == "never" else int(self.expiry.data)
