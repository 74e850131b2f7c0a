from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField, ValidationError
from wtforms.validators import Length

from studygroup.forms import Form, required, strip
from studygroup.input import database_int
from studygroup.introductions.services import NOTE_LENGTH


def _person_id(value):
    """A chosen person's id; anything else is no choice (the field then says so)."""
    try:
        return database_int(value)
    except (TypeError, ValueError):
        return None


class IntroduceForm(Form):
    first = SelectField(_l("First person"), coerce=_person_id, validate_choice=False)
    second = SelectField(_l("Second person"), coerce=_person_id, validate_choice=False)
    note = TextAreaField(
        _l("Your note to both"),
        filters=[strip],
        validators=[
            required(),
            Length(max=NOTE_LENGTH, message=_l("Use at most %(n)d characters.", n=NOTE_LENGTH)),
        ],
        description=_l(
            "Why they should meet, e.g. “Takeda is looking for a first project; Kobayashi "
            "needs help with a factory dashboard”. Both see it once both accept."
        ),
        render_kw={"maxlength": NOTE_LENGTH, "rows": 4},
    )

    def set_people(self, people, *, placeholder) -> None:
        """The people to choose from (`services.introducible`), by name."""
        choices = [("", placeholder)] + [(p.id, p.display_name) for p in people]
        self.first.choices = choices
        self.second.choices = choices

    def validate_first(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose someone from the list."))

    def validate_second(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose someone from the list."))


class AskForm(Form):
    note = TextAreaField(
        _l("A few words for them (optional)"),
        filters=[strip],
        validators=[
            Length(max=NOTE_LENGTH, message=_l("Use at most %(n)d characters.", n=NOTE_LENGTH)),
        ],
        description=_l("Why you would like to meet, so they can introduce you well."),
        render_kw={"maxlength": NOTE_LENGTH, "rows": 3},
    )
