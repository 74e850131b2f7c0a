"""The one exception type domain services raise when a rule refuses an action."""


class RuleViolation(Exception):
    """A rule refused the action. `message` is a (lazily) translated, user-facing sentence;
    `field` names the form field it belongs next to, when there is one."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
