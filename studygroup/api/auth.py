"""Who is calling: the bearer of a personal API token, or nobody (anonymous reads).

Only the `Authorization: Bearer` header counts. The session cookie is never read under /api/
(the paths are sessionless, see studygroup/__init__.py), so a logged-in browser tricked into
sending a request authorizes nothing."""

from dataclasses import dataclass

from flask import current_app, g, request

from studygroup.api.errors import ApiError
from studygroup.auth.models import User


@dataclass(frozen=True)
class Caller:
    user: User | None
    token_id: int | None
    scopes: frozenset[str]

    @property
    def is_anonymous(self) -> bool:
        return self.user is None


ANONYMOUS = Caller(None, None, frozenset())


def caller() -> Caller:
    return g.get("api_caller", ANONYMOUS)


def viewer() -> User | None:
    return caller().user


def require_scope(scope: str) -> User:
    """The calling member, if their token has `scope` (401 without a token, 403 without the
    scope)."""
    who = caller()
    if who.user is None:
        raise ApiError(
            401, "missing_token", headers={"WWW-Authenticate": 'Bearer realm="studygroup"'}
        )
    if scope not in who.scopes:
        raise ApiError(403, "insufficient_scope", fields={"scope": scope})
    return who.user


def api_locale() -> str:
    """Messages' language: the docs page's `?lang=`, else Accept-Language, else the calling
    member's profile language, else the default."""
    supported = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") if request.endpoint == "api.docs" else None
    if chosen in supported:
        return chosen
    asked = request.accept_languages.best_match(supported)
    if asked:
        return asked
    user = caller().user
    if user is not None and user.locale in supported:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]
