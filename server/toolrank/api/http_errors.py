"""HTTP error bodies, in the dialect of the route asked for.

Statuses come from the one table (``toolrank.errors.STATUS_TABLE``); the body
shape from the route: Cohere's ``{"message"}`` on the Cohere/Jina routes, TEI's
``{"error", "error_type"}`` on ``/rerank``, ``{"error": {"type", "message"}}``
everywhere else. Messages name the field; never a stack trace.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from starlette.responses import JSONResponse

COHERE_PATHS = frozenset({"/v1/rerank", "/v2/rerank"})
TEI_PATHS = frozenset({"/rerank"})

ERROR_TYPE = {400: "invalid_request", 401: "unauthenticated", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
              408: "request_timeout", 411: "length_required", 413: "request_too_large",
              422: "unprocessable_entity", 429: "overloaded", 431: "headers_too_large", 500: "internal",
              503: "unavailable", 504: "deadline_exceeded",
              505: "http_version_not_supported"}
# TEI's ErrorType names (router/src/lib.rs)
TEI_TYPE = {400: "Validation", 413: "Validation", 422: "Validation", 429: "Overloaded", 503: "Unhealthy",
            504: "Backend", 500: "Backend"}


def error_body(path: str, status: int, message: str) -> dict[str, Any]:
    if path in COHERE_PATHS:
        return {"message": message}
    if path in TEI_PATHS:
        return {"error": message, "error_type": TEI_TYPE.get(status, ERROR_TYPE.get(status, "error"))}
    return {"error": {"type": ERROR_TYPE.get(status, "error"), "message": message}}


def error_response(path: str, status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(path, status, message), status_code=status, headers=dict(headers or {}))


def field_path(loc: Iterable[Any]) -> str:
    """``("body", "documents", 1, "text")`` -> ``documents[1].text``."""
    out = ""
    for part in loc:
        if part == "body" and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"
