"""The OpenAPI 3 document, built from the registered endpoints and their marshmallow schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify, render_template

from .core import ENDPOINTS, bp, endpoint, openapi_path

PROBLEM = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["title", "status"],
}


def _problem_response(description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def build_spec() -> dict:
    spec = APISpec(
        title="Offerdesk API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Service catalog and consumption API. Errors are RFC 9457 problem documents."
        },
        servers=[{"url": "/api/v1"}],
    )
    spec.components.schema("Problem", PROBLEM)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    paths: dict[str, dict] = {}
    for item in ENDPOINTS:
        paths.setdefault(openapi_path(item.rule), {})[item.method.lower()] = _operation(item)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(item) -> dict:
    """One endpoint's OpenAPI operation: its parameters, body and responses."""
    operation: dict = {
        "summary": item.summary,
        "tags": [item.tag],
        "operationId": item.view.__name__,
        "responses": {
            "401": _problem_response("Missing, unknown or revoked token"),
            "default": _problem_response("Error"),
        },
    }
    if not item.public:
        operation["security"] = [{"bearer": []}]
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if kind == "int" else "string"},
        }
        for kind, name in re.findall(r"<(?:([a-z]+):)?([a-zA-Z_]+)>", item.rule)
    ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": text,
        }
        for name, text in item.query.items()
    ]
    if parameters:
        operation["parameters"] = parameters
    if item.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": item.body}},
        }
        operation["responses"]["422"] = _problem_response("Invalid fields")
    success: dict = {"description": "Success"}
    if item.response is not None:
        success["content"] = {"application/json": {"schema": item.response}}
    operation["responses"][str(item.status)] = success
    return operation


@endpoint("/openapi.json", summary="This OpenAPI document", tag="meta", public=True)
def openapi_document():
    return jsonify(build_spec())


@bp.route("/docs")
def docs():
    return render_template("api/docs.html", spec=build_spec())
