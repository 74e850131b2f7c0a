"""Small helpers shared by the thin views."""

from flask import flash

from studygroup.rules import RuleViolation


def show_violation(form, error: RuleViolation) -> None:
    """Put a refused rule next to its field, or as a flash message when it has none."""
    field = getattr(form, error.field, None) if (form is not None and error.field) else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(str(error.message), "error")
