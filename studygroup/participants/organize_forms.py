"""Forms of the organizers' participant pages (questions, cancelling a participant)."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import Length

from studygroup.forms import Form, options, required
from studygroup.participants.models import QuestionKind
from studygroup.participants.organize import QUESTION_MAX_LENGTH

KIND_NAMES = {
    QuestionKind.TEXT: _l("A line of text"),
    QuestionKind.YES_NO: _l("Yes or no"),
}


class QuestionForm(Form):
    text = StringField(
        _l("Question"),
        validators=[required(), Length(max=QUESTION_MAX_LENGTH)],
        description=_l("e.g. “Your company” or “Will you join the after-party?”"),
    )
    kind = RadioField(
        _l("Kind of answer"),
        choices=options((kind.value, name) for kind, name in KIND_NAMES.items()),
        default=QuestionKind.TEXT.value,
    )
    required = BooleanField(_l("An answer is required"))


class EditQuestionForm(Form):
    text = StringField(_l("Question"), validators=[required(), Length(max=QUESTION_MAX_LENGTH)])
    required = BooleanField(_l("An answer is required"))


class MoveQuestionForm(Form):
    direction = SelectField(choices=options([("up", _l("Up")), ("down", _l("Down"))]))


class ActionForm(Form):
    """A button that only needs the CSRF token (remove a question, cancel a participant)."""
