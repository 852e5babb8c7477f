"""Protobuf <-> dataclasses, both directions: the one module that knows both.

The server's transports and the client share it. It imports only ``toolrank.types``
and the generated messages, so a client never loads onnxruntime, tokenizers or
the metrics registry.
"""

from __future__ import annotations

import json

from toolrank.types import (
    Candidate,
    CandidateInput,
    CodeInput,
    ModelInfo,
    ModelSpec,
    Normalized,
    NormalizedCandidate,
    RerankOutcome,
    RerankQuery,
    Scored,
    ServerInfo,
    SqlInput,
    TextInput,
    Timing,
    ToolInput,
    Usage,
)
from toolrank.v1 import reranker_pb2 as pb

# -- candidates (both sides) ------------------------------------------------------------


def candidate_from_pb(msg: pb.Candidate, detect_kinds: bool = False) -> Candidate:
    """A protobuf Candidate as a dataclass; content None when the oneof is unset (validation names it).

    ``detect_kinds``: text is read as a tool, SQL or code when detection is sure ("kind: auto")."""
    which = msg.WhichOneof("content")
    content: CandidateInput | None
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
    metadata = dict(msg.metadata)
    if msg.examples:  # catalogs: example requests travel as metadata["examples"] (toolrank.catalogs.learning)
        metadata["examples"] = json.dumps(list(msg.examples), ensure_ascii=False)
    return Candidate(content, msg.id, metadata)  # type: ignore[arg-type]


def candidate_to_pb(cand: Candidate) -> pb.Candidate:
    """The inverse of :func:`candidate_from_pb`."""
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


# -- rerank --------------------------------------------------------------------------------


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


def rerank_query_to_pb(query: RerankQuery) -> pb.RerankRequest:
    """The request for ``query``; ``detect_kinds`` is request-wide on the wire (any text candidate asking for it)."""
    detect = any(isinstance(c.content, TextInput) and c.content.detect for c in query.candidates)
    msg = pb.RerankRequest(query=query.query, candidates=[candidate_to_pb(c) for c in query.candidates],
                           top_n=query.top_n, return_text=query.return_text, raw_scores=query.raw_scores,
                           model=query.model, detect_kinds=detect)
    if query.lexical_weight is not None:
        msg.lexical_weight = query.lexical_weight
    return msg


def usage_to_pb(u: Usage) -> pb.Usage:
    return pb.Usage(query_tokens=u.query_tokens, candidate_tokens=u.candidate_tokens, truncated=u.truncated,
                    windows=u.windows, fallbacks=u.fallbacks, cache_hits=u.cache_hits,
                    query_truncated=u.query_truncated, steps=u.steps)


def usage_from_pb(u: pb.Usage) -> Usage:
    return Usage(u.query_tokens, u.candidate_tokens, u.truncated, u.windows, u.fallbacks, u.cache_hits,
                 u.query_truncated, u.steps)


def timing_to_pb(t: Timing) -> pb.Timing:
    return pb.Timing(normalize_ns=t.normalize_ns, tokenize_ns=t.tokenize_ns, queue_ns=t.queue_ns,
                     inference_ns=t.inference_ns, total_ns=t.total_ns)


def timing_from_pb(t: pb.Timing) -> Timing:
    return Timing(t.normalize_ns, t.tokenize_ns, t.queue_ns, t.inference_ns, t.total_ns)


def rerank_response_to_pb(out: RerankOutcome) -> pb.RerankResponse:
    return pb.RerankResponse(
        results=[pb.RerankResult(index=r.index, id=r.id, score=r.score, text=r.text or "") for r in out.results],
        usage=usage_to_pb(out.usage),
        timing=timing_to_pb(out.timing),
        model=out.model,
    )


def rerank_response_from_pb(resp: pb.RerankResponse) -> RerankOutcome:
    """The inverse of :func:`rerank_response_to_pb` (an empty text comes back as None)."""
    return RerankOutcome(
        results=tuple(Scored(r.index, r.id, r.score, r.text or None) for r in resp.results),
        usage=usage_from_pb(resp.usage),
        timing=timing_from_pb(resp.timing),
        model=resp.model,
    )


# -- normalize -------------------------------------------------------------------------------


def normalized_to_pb(items: list[NormalizedCandidate]) -> pb.NormalizeResponse:
    return pb.NormalizeResponse(candidates=[
        pb.NormalizedCandidate(index=n.index, id=n.id, kind=n.kind, text=n.normalized.text,
                               fallback=n.normalized.fallback, detail=n.normalized.detail,
                               tokens=n.tokens, raw_tokens=n.raw_tokens)
        for n in items
    ])


def normalized_from_pb(resp: pb.NormalizeResponse) -> list[NormalizedCandidate]:
    return [NormalizedCandidate(c.index, c.id, c.kind, Normalized(c.text, c.fallback, c.detail), c.tokens,
                                c.raw_tokens)
            for c in resp.candidates]


# -- info ----------------------------------------------------------------------------------------


def model_info_to_pb(spec: ModelSpec, default: str) -> pb.ModelInfo:
    return pb.ModelInfo(name=spec.name, kind=spec.kind, max_length=spec.max_length,
                        max_query_length=spec.max_query_length, family=spec.family, path=spec.path,
                        is_default=spec.name == default)


def server_info_to_pb(version: str, specs: list[ModelSpec], default: str) -> pb.InfoResponse:
    return pb.InfoResponse(version=version, models=[model_info_to_pb(s, default) for s in specs],
                           default_model=default)


def server_info_from_pb(resp: pb.InfoResponse) -> ServerInfo:
    models = tuple(ModelInfo(m.name, m.kind, m.max_length, m.max_query_length, m.family, m.path, m.is_default)
                   for m in resp.models)
    return ServerInfo(resp.version, models, resp.default_model)
