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

from toolrank.engine.ensemble import BM25_MEMBER, EnsembleSpec, fuse_z, to_unit
from toolrank.engine.lexical import bm25_scores, lexical_tokens
from toolrank.types import RerankOutcome, RerankQuery, Scored, Timing, Usage

if TYPE_CHECKING:
    from toolrank.engine.engine import Engine


async def rerank_ensemble(engine: "Engine", spec: EnsembleSpec, query: RerankQuery, raw: bool,
                          t0: int, observe: bool = True) -> RerankOutcome:
    """One ranked outcome from ``spec``'s members; the caller has validated and admitted the request.
    ``observe`` False: one step of a multi-step request (engine/steps.py), counted once by the caller."""
    kinds = await engine.pools.cpu(_kinds, engine, query, raw)
    active = spec.active(kinds)
    models = [m.model for m in active if m.model != BM25_MEMBER] or [spec.models[0]]
    member_query = replace(query, raw_scores=True, lexical_weight=0.0, top_n=0, return_text=True)
    outcomes = await asyncio.gather(*(engine._rerank(replace(member_query, model=name), engine.served(name), raw,
                                                     t0, observe=False) for name in models))
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
    outcome = RerankOutcome(results, usage, timing, spec.name)
    if observe:
        engine.counters.requests += 1
        engine.counters.candidates += n
        engine.counters.fallbacks += usage.fallbacks
        engine.observers.rerank(outcome, n)
    return outcome


def _kinds(engine: "Engine", query: RerankQuery, raw: bool) -> list[str]:
    """Each candidate's kind as normalization reads it (cached: the members then hit the same entries)."""
    if raw:
        return [c.kind for c in query.candidates]
    return [engine.normalize_one(c.content)[0].kind or c.kind for c in query.candidates]
