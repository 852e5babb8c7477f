"""``toolrank eval``: ranking quality on datasets in ../shared/data's format.

Each query's candidates go through :meth:`Engine.rerank`, the server's own code
path; ``raw=True`` skips normalization (tool JSON scored as serialized).
Metrics: nDCG@10 (binary relevance), Recall@1 (top-1 is relevant), Recall@5
(|relevant in top 5| / |relevant|), MRR@10, and mean tokens per candidate.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from toolrank.candidates import candidate_from_json
from toolrank.engine.engine import Engine
from toolrank.types import Candidate, RerankQuery


@dataclass(frozen=True)
class Dataset:
    name: str
    corpus: dict[str, Candidate]
    queries: list[dict]


@dataclass(frozen=True)
class SetReport:
    set: str
    queries: int
    ndcg_at_10: float
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    tokens_per_candidate: float
    raw: bool
    lexical_weight: float | None = None  # None: the per-kind defaults

    def as_dict(self) -> dict:
        return asdict(self)


def load_dataset(path: str | Path, limit: int = 0) -> Dataset:
    root = Path(path)
    corpus: dict[str, Candidate] = {}
    with open(root / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                corpus[row["id"]] = candidate_from_json(row, f"{root.name}/{row['id']}")
    queries = []
    with open(root / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                queries.append(json.loads(line))
    if limit:
        queries = queries[:limit]
    return Dataset(root.name, corpus, queries)


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, c in enumerate(ranked[:10]) if c in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    return dcg / ideal if ideal else 0.0


def mrr_at_10(ranked: list[str], relevant: set[str]) -> float:
    for i, c in enumerate(ranked[:10]):
        if c in relevant:
            return 1.0 / (i + 1)
    return 0.0


async def evaluate(engine: Engine, dataset: Dataset, *, model: str = "", raw: bool = False,
                   lexical_weight: float | None = None) -> SetReport:
    """Rank every query of ``dataset`` and average the metrics (``lexical_weight`` None: per-kind defaults)."""
    totals = {"ndcg": 0.0, "r1": 0.0, "r5": 0.0, "mrr": 0.0}
    tokens = 0
    count = 0
    for q in dataset.queries:
        ids = q["candidates"]
        relevant = set(q["relevant"])
        request = RerankQuery(q["query"], tuple(dataset.corpus[i] for i in ids), model=model,
                              lexical_weight=lexical_weight)
        outcome = await engine.rerank(request, raw=raw)
        ranked = [ids[r.index] for r in outcome.results]
        totals["ndcg"] += ndcg_at_10(ranked, relevant)
        totals["r1"] += 1.0 if ranked[0] in relevant else 0.0
        totals["r5"] += len(relevant & set(ranked[:5])) / len(relevant)
        totals["mrr"] += mrr_at_10(ranked, relevant)
        tokens += outcome.usage.candidate_tokens
        count += len(ids)
    n = max(1, len(dataset.queries))
    return SetReport(dataset.name, len(dataset.queries), totals["ndcg"] / n, totals["r1"] / n,
                     totals["r5"] / n, totals["mrr"] / n, tokens / max(1, count), raw, lexical_weight)


def format_table(reports: list[SetReport]) -> str:
    head = f"{'set':<18} {'mode':<10} {'lexical':>7} {'nDCG@10':>8} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'tok/cand':>9}"
    lines = [head, "-" * len(head)]
    for r in reports:
        lexical = "default" if r.lexical_weight is None else f"{r.lexical_weight:g}"
        lines.append(f"{r.set:<18} {'raw' if r.raw else 'normalized':<10} {lexical:>7} {r.ndcg_at_10:>8.3f} "
                     f"{r.recall_at_1:>6.3f} {r.recall_at_5:>6.3f} {r.mrr_at_10:>7.3f} {r.tokens_per_candidate:>9.1f}")
    return "\n".join(lines)
