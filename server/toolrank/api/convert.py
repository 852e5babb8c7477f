"""Protobuf <-> engine dataclasses. The only module that knows both."""

from __future__ import annotations

from toolrank.models.loader import ModelSpec
from toolrank.types import (
    Candidate,
    CodeInput,
    NormalizedCandidate,
    RerankOutcome,
    RerankQuery,
    SqlInput,
    TextInput,
    ToolInput,
)
from toolrank.v1 import reranker_pb2 as pb


def candidate_from_pb(msg: pb.Candidate, detect_kinds: bool = False) -> Candidate:
    """A protobuf Candidate as a dataclass; content None when the oneof is unset.

    ``detect_kinds``: text is read as a tool, SQL or code when detection is sure ("kind: auto")."""
    which = msg.WhichOneof("content")
    content: object
    if which == "text":
        content = TextInput(msg.text, detect_kinds)
    elif which == "code":
        content = CodeInput(msg.code.source, msg.code.language, msg.code.path)
    elif which == "sql":
        content = SqlInput(msg.sql.text, msg.sql.dialect)
    elif which == "tool":
        content = ToolInput(msg.tool.json)
    else:
        content = None
    return Candidate(content, msg.id, dict(msg.metadata))  # type: ignore[arg-type]


def candidate_to_pb(cand: Candidate) -> pb.Candidate:
    """The inverse of :func:`candidate_from_pb` (used by the client)."""
    c = cand.content
    msg = pb.Candidate(id=cand.id, metadata=dict(cand.metadata))
    if isinstance(c, TextInput):
        msg.text = c.text
    elif isinstance(c, CodeInput):
        msg.code.CopyFrom(pb.Code(language=c.language, source=c.source, path=c.path))
    elif isinstance(c, SqlInput):
        msg.sql.CopyFrom(pb.Sql(dialect=c.dialect, text=c.text))
    elif isinstance(c, ToolInput):
        msg.tool.CopyFrom(pb.Tool(json=c.json))
    return msg


def rerank_query_from_pb(req: pb.RerankRequest) -> RerankQuery:
    return RerankQuery(
        query=req.query,
        candidates=tuple(candidate_from_pb(c, req.detect_kinds) for c in req.candidates),
        top_n=req.top_n,
        return_text=req.return_text,
        raw_scores=req.raw_scores,
        model=req.model,
        lexical_weight=req.lexical_weight if req.HasField("lexical_weight") else None,
    )


def rerank_response_to_pb(out: RerankOutcome) -> pb.RerankResponse:
    u, t = out.usage, out.timing
    return pb.RerankResponse(
        results=[pb.RerankResult(index=r.index, id=r.id, score=r.score, text=r.text or "") for r in out.results],
        usage=pb.Usage(query_tokens=u.query_tokens, candidate_tokens=u.candidate_tokens, truncated=u.truncated,
                       windows=u.windows, fallbacks=u.fallbacks, cache_hits=u.cache_hits),
        timing=pb.Timing(normalize_ns=t.normalize_ns, tokenize_ns=t.tokenize_ns, queue_ns=t.queue_ns,
                         inference_ns=t.inference_ns, total_ns=t.total_ns),
        model=out.model,
    )


def normalized_to_pb(items: list[NormalizedCandidate]) -> pb.NormalizeResponse:
    return pb.NormalizeResponse(candidates=[
        pb.NormalizedCandidate(index=n.index, id=n.id, kind=n.kind, text=n.normalized.text,
                               fallback=n.normalized.fallback, detail=n.normalized.detail,
                               tokens=n.tokens, raw_tokens=n.raw_tokens)
        for n in items
    ])


def model_info_to_pb(spec: ModelSpec, default: str) -> pb.ModelInfo:
    return pb.ModelInfo(name=spec.name, kind=spec.kind, max_length=spec.max_length,
                        max_query_length=spec.max_query_length, family=spec.family, path=spec.path,
                        is_default=spec.name == default)
