"""Serve an ensemble's Rerank: run its active members through the engine's own path, fuse on z-scores.

Each member scores the request as a plain Rerank would (normalization and token
caches shared, each model's own scheduler), with ``raw_scores`` and no lexical
fusion; members run concurrently. BM25 comes from the normalized texts the
members saw. Fusion and the [0, 1] mapping are :mod:`toolrank.engine.ensemble`'s.
Usage adds the members' tokens and windows (what the request cost); timing adds
their queue and inference time (the work done), with the slowest member's
normalize and tokenize.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from toolrank.engine.ensemble import BM25_MEMBER, EnsembleSpec, Member, fuse_z, to_unit, with_lexical_weight
from toolrank.engine.lexical import bm25_scores, lexical_tokens
from toolrank.types import Normalized, RerankOutcome, RerankQuery, Scored, Timing, Usage

if TYPE_CHECKING:
    from toolrank.engine.engine import Engine


async def rerank_ensemble(engine: "Engine", spec: EnsembleSpec, query: RerankQuery, raw: bool,
                          t0: int, observe: bool = True) -> RerankOutcome:
    """One ranked outcome from ``spec``'s members; the caller has validated and admitted the request.
    ``observe`` False: one step of a multi-step request (engine/steps.py), counted once by the caller."""
    if query.lexical_weight is not None:
        spec = with_lexical_weight(spec, query.lexical_weight)
    prepared = await engine.normalize_request(query.candidates, raw)  # once, for every member
    kinds = [n.kind or c.kind for n, c in zip(prepared[0], query.candidates)]  # as normalization reads them
    active = spec.active(kinds)
    models = [m.model for m in active if m.model != BM25_MEMBER] or [spec.models[0]]
    alone = _alone(active, kinds) if len(spec.models) > 1 else None
    if alone is not None:
        return _finish(engine, await _rerank_one(engine, spec, alone, query, kinds, raw, t0, prepared),
                       n=len(kinds), observe=observe)
    member_query = replace(query, raw_scores=True, lexical_weight=0.0, top_n=0, return_text=True)
    outcomes = await asyncio.gather(*(engine._rerank(replace(member_query, model=name), engine.served(name), raw,
                                                     t0, observe=False, prepared=prepared) for name in models))
    n = len(query.candidates)
    columns: dict[str, np.ndarray] = {}
    texts = [""] * n
    for name, outcome in zip(models, outcomes):
        column = np.zeros(n, dtype=np.float64)
        for r in outcome.results:
            column[r.index] = r.score
            texts[r.index] = r.text or ""
        columns[name] = column
    if any(m.model == BM25_MEMBER for m in active):
        columns[BM25_MEMBER] = await engine.pools.cpu(
            lambda: bm25_scores(lexical_tokens(query.query), [lexical_tokens(t) for t in texts]))
    fused = fuse_z(spec, columns, kinds)
    order = sorted(range(n), key=lambda i: (-fused[i], i))
    scores = fused if query.raw_scores else to_unit(spec, fused, kinds)
    if query.top_n:
        order = order[: query.top_n]
    results = tuple(Scored(i, query.candidates[i].id, float(scores[i]), texts[i] if query.return_text else None)
                    for i in order)
    usages = [o.usage for o in outcomes]
    timings = [o.timing for o in outcomes]
    usage = Usage(
        query_tokens=sum(u.query_tokens for u in usages),
        candidate_tokens=sum(u.candidate_tokens for u in usages),
        truncated=max(u.truncated for u in usages),
        windows=sum(u.windows for u in usages),
        fallbacks=max(u.fallbacks for u in usages),
        cache_hits=min(u.cache_hits for u in usages),
    )
    timing = Timing(max(t.normalize_ns for t in timings), max(t.tokenize_ns for t in timings),
                    sum(t.queue_ns for t in timings), sum(t.inference_ns for t in timings),
                    time.perf_counter_ns() - t0)
    return _finish(engine, RerankOutcome(results, usage, timing, spec.name), n, observe)


def _alone(active: tuple[Member, ...], kinds: list[str]) -> Member | None:
    """In a stack that routes kinds to models (several models, e.g. the default stack), the one model that
    runs for these kinds when its weight is the same for all of them: then the fusion ranks as the model's
    raw score + BM25 at the weight ratio, and the request is served as that model alone would serve it (its
    score scale, its cost). None when several run, or none, or the stack has one model (always fused)."""
    models = [m for m in active if m.model != BM25_MEMBER]
    if len(models) != 1 or len({models[0].weight_for(k) for k in set(kinds)}) != 1:
        return None
    return models[0]


async def _rerank_one(engine: "Engine", spec: EnsembleSpec, member: Member, query: RerankQuery,
                      kinds: list[str], raw: bool, t0: int,
                      prepared: tuple[list[Normalized], list[bool]]) -> RerankOutcome:
    """Only ``member`` runs for these kinds (e.g. the default stack on tools alone): its own path and score
    scale, as if it were served alone, with BM25 at the stack's weight (over the model's) per candidate kind;
    the same order as the z-score fusion, named as the stack."""
    bm25 = next((m for m in spec.members if m.model == BM25_MEMBER), None)
    scale = member.weight_for(kinds[0]) if kinds else 1.0
    weights = np.array([bm25.weight_for(k) / scale if bm25 else 0.0 for k in kinds], dtype=np.float64)
    outcome = await engine._rerank(replace(query, model=member.model), engine.served(member.model), raw, t0,
                                   observe=False, lexical_weights=weights, prepared=prepared)
    return replace(outcome, model=spec.name)


def _finish(engine: "Engine", outcome: RerankOutcome, n: int, observe: bool) -> RerankOutcome:
    """Count and report the request once (not when it is one step of a multi-step request)."""
    usage = outcome.usage
    if observe:
        engine.counters.requests += 1
        engine.counters.candidates += n
        engine.counters.fallbacks += usage.fallbacks
        engine.observers.rerank(outcome, n)
    return outcome

