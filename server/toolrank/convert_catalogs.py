"""Protobuf <-> catalogs dataclasses (server and client side); imports no engine or onnxruntime."""

from __future__ import annotations

from toolrank.convert import (
    candidate_from_pb,
    candidate_to_pb,
    timing_from_pb,
    timing_to_pb,
    usage_from_pb,
    usage_to_pb,
)
from toolrank.catalogs.types import (
    CatalogInfo,
    FeedbackOutcome,
    FeedbackRequest,
    PutCatalogRequest,
    PutOutcome,
    SelectHit,
    SelectOutcome,
    SelectQuery,
)
from toolrank.v1 import catalogs_pb2 as cpb


def put_request_from_pb(req: cpb.PutCatalogRequest) -> PutCatalogRequest:
    return PutCatalogRequest(req.catalog, tuple(candidate_from_pb(c) for c in req.candidates), req.replace,
                             tuple(req.delete_ids), req.model, req.learn if req.HasField("learn") else None)


def put_outcome_to_pb(out: PutOutcome) -> cpb.PutCatalogResponse:
    return cpb.PutCatalogResponse(catalog=out.catalog, version=out.version, size=out.size, added=out.added,
                                  updated=out.updated, deleted=out.deleted, usage=usage_to_pb(out.usage))


def put_outcome_from_pb(resp: cpb.PutCatalogResponse) -> PutOutcome:
    return PutOutcome(resp.catalog, resp.version, resp.size, resp.added, resp.updated, resp.deleted,
                      usage_from_pb(resp.usage))


def select_query_from_pb(req: cpb.SelectRequest) -> SelectQuery:
    return SelectQuery(
        catalog=req.catalog, query=req.query, top_k=req.top_k,
        min_score=req.min_score if req.HasField("min_score") else None,
        pinned_ids=tuple(req.pinned_ids), filter=dict(req.filter), instruction=req.instruction,
        return_candidates=req.return_candidates, return_text=req.return_text, model=req.model,
        context=tuple(req.context), rerank_depth=req.rerank_depth, stage_one_only=req.stage_one_only,
        rerank_model=req.rerank_model, learn=not req.no_learning, adaptive=req.adaptive, max_tokens=req.max_tokens,
        per_step=req.per_step,
    )


def select_query_to_pb(q: SelectQuery) -> cpb.SelectRequest:
    msg = cpb.SelectRequest(
        catalog=q.catalog, query=q.query, top_k=q.top_k, pinned_ids=list(q.pinned_ids), filter=dict(q.filter),
        instruction=q.instruction, return_candidates=q.return_candidates, return_text=q.return_text,
        model=q.model, context=list(q.context), rerank_depth=q.rerank_depth, stage_one_only=q.stage_one_only,
        rerank_model=q.rerank_model, no_learning=not q.learn, adaptive=q.adaptive, max_tokens=q.max_tokens,
        per_step=q.per_step,
    )
    if q.min_score is not None:
        msg.min_score = q.min_score
    return msg


def select_outcome_to_pb(out: SelectOutcome) -> cpb.SelectResponse:
    results = []
    for h in out.results:
        r = cpb.SelectResult(id=h.id, score=h.score, pinned=h.pinned, text=h.text or "", step=h.step)
        if h.candidate is not None:
            r.candidate.CopyFrom(candidate_to_pb(h.candidate))
        results.append(r)
    return cpb.SelectResponse(results=results, version=out.version, usage=usage_to_pb(out.usage),
                              timing=timing_to_pb(out.timing), model=out.model, rerank_model=out.rerank_model,
                              no_match=out.no_match, steps=list(out.steps))


def select_outcome_from_pb(resp: cpb.SelectResponse) -> SelectOutcome:
    hits = tuple(SelectHit(r.id, r.score, r.pinned, r.text or None,
                           candidate_from_pb(r.candidate) if r.HasField("candidate") else None, r.step)
                 for r in resp.results)
    return SelectOutcome(hits, resp.version, usage_from_pb(resp.usage), timing_from_pb(resp.timing), resp.model,
                         resp.rerank_model, resp.no_match, tuple(resp.steps))


def info_to_pb(info: CatalogInfo) -> cpb.CatalogInfo:
    return cpb.CatalogInfo(catalog=info.catalog, version=info.version, size=info.size, model=info.model,
                           examples=info.examples, feedback=info.feedback, learn=info.learn)


def info_from_pb(msg: cpb.CatalogInfo) -> CatalogInfo:
    return CatalogInfo(msg.catalog, msg.version, msg.size, msg.model, msg.examples, msg.feedback, msg.learn)


def feedback_from_pb(req: cpb.FeedbackRequest) -> FeedbackRequest:
    return FeedbackRequest(req.catalog, req.query, tuple(req.chosen_ids), tuple(req.rejected_ids), req.source)


def feedback_to_pb(req: FeedbackRequest) -> cpb.FeedbackRequest:
    return cpb.FeedbackRequest(catalog=req.catalog, query=req.query, chosen_ids=list(req.chosen_ids),
                               rejected_ids=list(req.rejected_ids), source=req.source)


def feedback_outcome_to_pb(out: FeedbackOutcome) -> cpb.FeedbackResponse:
    return cpb.FeedbackResponse(catalog=out.catalog, feedback=out.feedback, dropped=out.dropped)


def feedback_outcome_from_pb(resp: cpb.FeedbackResponse) -> FeedbackOutcome:
    return FeedbackOutcome(resp.catalog, resp.feedback, resp.dropped)
