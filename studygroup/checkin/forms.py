from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField
from wtforms.validators import Email, Length

from studygroup.forms import Form, required, strip


class CodeForm(Form):
    code = StringField(
        _l("Short code"),
        filters=[strip],
        validators=[required(), Length(max=20)],
        description=_l("The six characters on the participant's confirmation."),
    )


class WalkInForm(Form):
    """Someone at the door with no registration: their name and email. An address that has an
    account already uses that account (the name typed is then not used)."""

    display_name = StringField(_l("Name"), filters=[strip], validators=[required(), Length(max=80)])
    email = EmailField(
        _l("Email"),
        filters=[strip],
        validators=[required(), Email(check_deliverability=False), Length(max=254)],
        description=_l(
            "Their account's address. A new one gets an account, and an email to choose "
            "their password."
        ),
    )
