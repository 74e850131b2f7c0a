from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import Length

from studygroup.forms import Form, required, strip
from studygroup.thanks.services import MAX_LENGTH


class ThanksForm(Form):
    body = TextAreaField(
        _l("Your note"),
        filters=[strip],
        validators=[
            required(),
            Length(max=MAX_LENGTH, message=_l("Use at most %(n)d characters.", n=MAX_LENGTH)),
        ],
        description=_l("Plain text, up to %(n)d characters.", n=MAX_LENGTH),
        render_kw={"maxlength": MAX_LENGTH, "rows": 5},
    )
