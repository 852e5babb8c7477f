"""Request validation shared by every transport: one message per problem, naming the field."""

from __future__ import annotations

from toolrank.errors import InvalidRequest, RequestTooLarge
from toolrank.normalize import raw_text
from toolrank.settings import Limits
from toolrank.types import CodeInput, RerankQuery, SqlInput, ToolInput

MAX_LEXICAL_WEIGHT = 10.0


def _field_of(content: object) -> str:
    if isinstance(content, CodeInput):
        return "code.source"
    if isinstance(content, SqlInput):
        return "sql.text"
    if isinstance(content, ToolInput):
        return "tool.json"
    return "text"


def validate_candidates(candidates: tuple, limits: Limits, field: str = "candidates") -> None:
    """Raise InvalidRequest for a missing, empty or oversized candidate (index named)."""
    if not candidates:
        raise InvalidRequest(f"{field}: at least one candidate is required")
    if len(candidates) > limits.max_candidates:
        raise RequestTooLarge(
            f"{field}: {len(candidates)} candidates, over the limit of {limits.max_candidates}")
    total = 0
    for i, cand in enumerate(candidates):
        if cand.content is None:
            raise InvalidRequest(f"{field}[{i}]: no content (set one of text, code, sql, tool)")
        text = raw_text(cand.content)
        where = f"{field}[{i}].{_field_of(cand.content)}"
        if not text.strip():
            raise InvalidRequest(f"{where}: empty")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.max_candidate_bytes:
            raise RequestTooLarge(
                f"{where}: {size} bytes, over the limit of {limits.max_candidate_bytes} bytes per candidate")
        total += size
        if total > limits.max_request_bytes:
            raise RequestTooLarge(
                f"{field}: over {limits.max_request_bytes} bytes in all (reached at candidate {i})")


def validate_rerank(query: RerankQuery, limits: Limits) -> None:
    """Check a rerank request against the limits before any work is done."""
    if not query.query.strip():
        raise InvalidRequest("query: empty")
    size = len(query.query.encode("utf-8", "surrogatepass"))
    if size > limits.max_query_bytes:
        raise RequestTooLarge(f"query: {size} bytes, over the limit of {limits.max_query_bytes} bytes")
    if query.top_n < 0:
        raise InvalidRequest("top_n: must be >= 0")
    if query.lexical_weight is not None and not 0.0 <= query.lexical_weight <= MAX_LEXICAL_WEIGHT:
        raise InvalidRequest(f"lexical_weight: must be between 0 and {MAX_LEXICAL_WEIGHT:g}, got {query.lexical_weight}")
    validate_candidates(query.candidates, limits)
