from flask_babel import lazy_gettext as _l
from wtforms import RadioField, StringField
from wtforms.validators import Length, Optional

from studygroup.forms import Form, options, required
from studygroup.participants.models import ParticipantQuestion, QuestionKind
from studygroup.participants.services import MAX_ANSWER_LENGTH, answer_field


class CancelForm(Form):
    """Cancel a registration: nothing to fill in, CSRF only."""


def registration_form(questions: list[ParticipantQuestion], formdata=None) -> Form:
    """The registration form for a session's questions, one field each (`answer_field`):
    a line of text, or yes/no radio buttons; required ones say so next to the field."""

    class RegistrationForm(Form):
        pass

    for question in questions:
        checks = [required()] if question.required else [Optional()]
        label = (
            _l("%(question)s (required)", question=question.text)
            if question.required
            else question.text
        )
        if question.kind == QuestionKind.YES_NO:
            field = RadioField(
                label,
                choices=options([("yes", _l("Yes")), ("no", _l("No"))]),
                validators=checks,
            )
        else:
            field = StringField(
                label,
                validators=[
                    *checks,
                    Length(
                        max=MAX_ANSWER_LENGTH,
                        message=_l("Use at most %(n)d characters.", n=MAX_ANSWER_LENGTH),
                    ),
                ],
                render_kw={"maxlength": MAX_ANSWER_LENGTH},
            )
        setattr(RegistrationForm, answer_field(question), field)
    form = RegistrationForm(formdata=formdata) if formdata is not None else RegistrationForm()
    form.questions = questions
    return form


def answers_from(form) -> dict[int, str]:
    return {q.id: getattr(form, answer_field(q)).data or "" for q in form.questions}
