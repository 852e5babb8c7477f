"""``toolrank eval --catalog``: quality over whole catalogs, not a query's 30 candidates.

Each set's whole corpus goes into one catalog (in memory, through the same put path
as the server); every query then selects from all of it, scored three ways: dense
only, BM25 only, and fused (stage one as served; plus two-stage when a cross-encoder
is served). Metrics: Recall@5 and Recall@10 (|relevant in top k| / |relevant|),
nDCG@10 with binary relevance.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.types import BM25, DENSE, FUSED, PutCatalogRequest, SelectQuery
from toolrank.engine.engine import Engine
from toolrank.eval import Dataset, ndcg_at_10
from toolrank.models.loader import CROSS_ENCODER
from toolrank.types import Candidate

TWO_STAGE = "two-stage"


@dataclass(frozen=True)
class CatalogReport:
    set: str
    mode: str  # dense, bm25, fused, two-stage
    queries: int
    catalog_size: int
    recall_at_5: float
    recall_at_10: float
    ndcg_at_10: float
    select_ms: float  # mean Select time in process

    def as_dict(self) -> dict:
        return asdict(self)


def catalog_candidates(dataset: Dataset) -> tuple[Candidate, ...]:
    return tuple(Candidate(c.content, cid, c.metadata) for cid, c in dataset.corpus.items())


async def evaluate_catalog(engine: Engine, dataset: Dataset, *, model: str = "",
                           service: CatalogService | None = None) -> list[CatalogReport]:
    """Put ``dataset``'s corpus in one catalog and report every mode over all its queries."""
    own = service is None
    service = service or CatalogService(engine, open_store("memory://"), engine.settings)
    try:
        await service.put(PutCatalogRequest(dataset.name, catalog_candidates(dataset), replace=True, model=model))
        modes = [DENSE, BM25, FUSED]
        if any(s.kind == CROSS_ENCODER for s in engine.model_specs()):
            modes.append(TWO_STAGE)
        size = (await service.get(dataset.name)).size
        return [await _run_mode(service, dataset, mode, size) for mode in modes]
    finally:
        if own:
            await service.aclose()


async def _run_mode(service: CatalogService, dataset: Dataset, mode: str, size: int) -> CatalogReport:
    r5 = r10 = ndcg = 0.0
    spent = 0.0
    for q in dataset.queries:
        relevant = set(q["relevant"])
        started = time.perf_counter()
        picked = await service.select(SelectQuery(
            dataset.name, q["query"], top_k=10, scoring=FUSED if mode == TWO_STAGE else mode,
            stage_one_only=mode != TWO_STAGE))
        spent += time.perf_counter() - started
        ranked = [h.id for h in picked.results]
        r5 += len(relevant & set(ranked[:5])) / len(relevant)
        r10 += len(relevant & set(ranked[:10])) / len(relevant)
        ndcg += ndcg_at_10(ranked, relevant)
    n = max(1, len(dataset.queries))
    return CatalogReport(dataset.name, mode, len(dataset.queries), size, r5 / n, r10 / n, ndcg / n, 1000 * spent / n)


def format_catalog_table(reports: list[CatalogReport]) -> str:
    head = f"{'set':<18} {'catalog':>7} {'mode':<10} {'R@5':>6} {'R@10':>6} {'nDCG@10':>8} {'ms/select':>9}"
    lines = [head, "-" * len(head)]
    for r in reports:
        lines.append(f"{r.set:<18} {r.catalog_size:>7} {r.mode:<10} {r.recall_at_5:>6.3f} {r.recall_at_10:>6.3f} "
                     f"{r.ndcg_at_10:>8.3f} {r.select_ms:>9.2f}")
    return "\n".join(lines)
