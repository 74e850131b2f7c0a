"""The JSON API, v1: a door onto the same services the pages use (no rules of its own).

Callers authenticate with a personal API token in the `Authorization: Bearer` header, never
with the session cookie: the blueprint is exempt from CSRF because a cookie authorizes nothing
here. Shapes are pydantic models; Spectree validates requests and responses against them and
writes the OpenAPI 3.1 document from them (`/api/v1/openapi.json`, read at `/api/v1/docs`).
"""

from flask import Blueprint
from spectree import SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData

from studygroup.api.errors import check_response, refuse_invalid_request
from studygroup.api.schemas import ErrorBody

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")

PREFIX = "/api/"

spec = SpecTree(
    "flask",
    title="studygroup API",
    version="1",
    description=(
        "Groups, sessions, their roles and head-counts, sign-ups and your schedule. "
        "Authenticate with a personal API token: `Authorization: Bearer <token>`."
    ),
    mode="strict",  # only the operations decorated with spec.validate are in the document
    annotations=True,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    validation_error_status=422,
    validation_error_model=ErrorBody,
    security_schemes=[
        SecurityScheme(
            name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")
        ),
    ],
    before=refuse_invalid_request,
    after=check_response,
    page_templates={},  # no Swagger/Redoc pages: they load scripts from a CDN
)
