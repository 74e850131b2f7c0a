"""The JSON API, v1: a door onto the same services the pages use (no rules of its own).

Callers authenticate with a personal API token in the `Authorization: Bearer` header, never
with the session cookie: the blueprint is exempt from CSRF because a cookie authorizes nothing
here. Shapes are pydantic models; Spectree validates requests and responses against them and
writes the OpenAPI 3.1 document from them (`/api/v1/openapi.json`, read at `/api/v1/docs`).

create_app() adds the operations' rules and hooks only (studygroup.api.routes); the modules
with their views, shapes and Spectree are imported by the first API request (issue 13).
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")

PREFIX = "/api/"
