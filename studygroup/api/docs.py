"""The OpenAPI document, and a page that reads it to people: written on the server from the
same document (no scripts, none from a CDN: the site's CSP forbids them and groups run
offline), operations grouped by tag with their parameters and an example of each answer."""

import json
from functools import cache

from flask import current_app, render_template

from studygroup.api.openapi import spec

MAX_EXAMPLE_DEPTH = 6


@cache
def _document_for(app_name: str) -> dict:
    document = spec.spec
    document["info"]["description"] = spec.config.description
    return document


def openapi_document() -> dict:
    """The document Spectree writes from the decorated operations (once per process)."""
    return _document_for(current_app.import_name)


def openapi_json():
    return current_app.json.response(openapi_document())


def _resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def example_of(schema: dict, document: dict, depth: int = 0):
    """A plausible value of `schema`: what the docs page shows as an example answer."""
    schema = _resolve(schema, document)
    if depth > MAX_EXAMPLE_DEPTH:
        return None
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return example_of(options[0], document, depth + 1) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        if not properties and isinstance(schema.get("additionalProperties"), dict):
            return {"name": example_of(schema["additionalProperties"], document, depth + 1)}
        return {k: example_of(v, document, depth + 1) for k, v in properties.items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), document, depth + 1)]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "string":
        return {"date-time": "2026-12-19T00:00:00Z"}.get(schema.get("format", ""), "…")
    return None


def _operations(document: dict) -> list[tuple[str, list[dict]]]:
    """(tag, its operations) in the order the tags first appear."""
    by_tag: dict[str, list[dict]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            responses = []
            for status, answer in sorted(operation["responses"].items()):
                content = answer.get("content", {}).get("application/json")
                example = (
                    json.dumps(
                        example_of(content["schema"], document), ensure_ascii=False, indent=2
                    )
                    if content and status.startswith("2")
                    else None
                )
                responses.append(
                    {"status": status, "description": answer["description"], "example": example}
                )
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            by_tag.setdefault((operation.get("tags") or ["other"])[0], []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "id": operation["operationId"],
                    "summary": operation["summary"],
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []),
                    "body": json.dumps(
                        example_of(body["schema"], document), ensure_ascii=False, indent=2
                    )
                    if body
                    else None,
                    "token": operation.get("security") != [{"bearer": []}, {}],
                    "responses": responses,
                }
            )
    return list(by_tag.items())


def docs():
    document = openapi_document()
    return render_template("api/docs.html", document=document, operations=_operations(document)), {
        "Content-Type": "text/html; charset=utf-8"
    }
