"""Kept for imports of ``toolrank.api.convert``: the conversions live in :mod:`toolrank.convert`."""

from toolrank.convert import (  # noqa: F401
    candidate_from_pb,
    candidate_to_pb,
    model_info_to_pb,
    normalized_to_pb,
    rerank_query_from_pb,
    rerank_response_to_pb,
)
