"""OpenAPI request bodies that are not objects with properties must not vanish.

Regression: ``_properties()`` returned a tuple, always truthy, so a ``requestBody`` with an array
or scalar schema and a Swagger 2 ``in: body`` parameter without properties rendered nothing.
"""

from __future__ import annotations

import json

from toolrank.normalize.tool import normalize_tool
from toolrank.types import NormalizeOptions, ToolInput


def norm(doc: object) -> str:
    return normalize_tool(ToolInput(json.dumps(doc)), NormalizeOptions(max_chars=4096)).text


def test_openapi3_array_request_body_is_a_body_parameter() -> None:
    op = {
        "operationId": "addTags",
        "summary": "Add tags",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"},
                                                        "description": "Tag names to attach"}}},
        },
        "responses": {"204": {"description": "done"}},
    }
    assert norm(op) == "addTags (add tags): Add tags. Required: body array of string: Tag names attach"


def test_openapi3_scalar_request_body_is_a_body_parameter() -> None:
    op = {"operationId": "setNote", "requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}},
          "responses": {"200": {"description": "ok"}}}
    assert norm(op) == "setNote (set note). Optional: body string"


def test_swagger2_body_parameter_without_properties() -> None:
    doc = {
        "swagger": "2.0",
        "paths": {"/notes": {"post": {
            "operationId": "createNotes",
            "parameters": [{"name": "notes", "in": "body", "required": True, "description": "The notes to store",
                            "schema": {"type": "array", "items": {"type": "string"}}}],
        }}},
    }
    assert norm(doc) == ("createNotes (create notes) [POST /notes]. "
                         "Required: notes array of string: notes store")
