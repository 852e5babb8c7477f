"""Learning from use, simulated on the development sets: does feedback on one half of the traffic help the other?

    python bench/learning.py [--sets ../shared/data/tools-metatool ...] [--sweep] [--json]

Per set, the whole corpus is one catalog (stage one as served: the default bi-encoder fused
with BM25; ``code-cosqa-dev``: the union of its queries' 30 candidates, to bound the embedding
cost on a shared CPU). Queries whose relevant ids recur are split per tool, alternating: the
first request for a tool (and every other one after it) arrives as feedback (query + its
relevant ids as chosen), the others are measured: *different requests for the same tools*.
Reported for the measured half: Recall@1 and nDCG@10 with learning off, on, and on with 20%
of the feedback wrong (chosen ids replaced by a random other id). The *disjoint* row: tools
split in two, feedback from queries on one half only, measured on queries of the other half:
learning must not cost there (the check: nDCG@10 and Recall@1 drop by at most 0.01).

``--sweep`` scores every (gate, weight, fusion) on the same embeddings (no model calls per
setting: stage-one scores and vectors are computed once) and prints the grid, which is how
:mod:`toolrank.catalogs.learning`'s defaults were chosen. The final rows run the served path
(``CatalogService.feedback`` then ``select``) with the defaults.

Embeddings are kept in a SQLite store under ``--store`` (default /tmp) so reruns embed nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))

from toolrank.catalogs import learning  # noqa: E402
from toolrank.catalogs.index import query_terms  # noqa: E402
from toolrank.catalogs.service import CatalogService  # noqa: E402
from toolrank.catalogs.store import open_store  # noqa: E402
from toolrank.catalogs.types import FUSED, FeedbackRequest, PutCatalogRequest, SelectQuery  # noqa: E402
from toolrank.engine.engine import Engine  # noqa: E402
from toolrank.eval import Dataset, load_dataset, ndcg_at_10  # noqa: E402
from toolrank.settings import Settings  # noqa: E402
from toolrank.types import Candidate  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SETS = ("tools-metatool", "tools-bfcl", "sql-spider", "code-cosqa-dev")
NOISE = 0.2


def split_same_tools(queries: list[dict]) -> tuple[list[dict], list[dict]]:
    """(feedback, measured): per tool, its requests alternate; measured only where its tool had feedback."""
    by_tool: dict[str, list[dict]] = defaultdict(list)
    for q in queries:
        by_tool[sorted(q["relevant"])[0]].append(q)
    feedback, measured = [], []
    for group in by_tool.values():
        if len(group) < 2:
            continue
        feedback += group[0::2]
        measured += group[1::2]
    return feedback, measured


def split_disjoint(queries: list[dict]) -> tuple[list[dict], list[dict]]:
    """(feedback, measured) sharing no relevant id: tools hashed into two halves."""
    def half(cid: str) -> int:
        return zlib.crc32(cid.encode()) % 2

    feedback = [q for q in queries if all(half(r) == 0 for r in q["relevant"])]
    measured = [q for q in queries if all(half(r) == 1 for r in q["relevant"])]
    return feedback, measured


def noisy(feedback: list[dict], ids: list[str], rate: float, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for q in feedback:
        if rng.random() < rate:
            wrong = rng.choice([i for i in ids if i not in q["relevant"]])
            q = {**q, "relevant": [wrong]}
        out.append(q)
    return out


def metrics(scores: np.ndarray, ids: list[str], relevant: set[str]) -> tuple[float, float]:
    top = np.argsort(-scores, kind="stable")[:10]
    ranked = [ids[i] for i in top]
    return float(ranked[0] in relevant), ndcg_at_10(ranked, relevant)


class Prepared:
    """Stage-one scores and query vectors of a set's queries, computed once."""

    def __init__(self, name: str, ids: list[str], row_of: dict[str, int], stage: dict[str, np.ndarray],
                 vectors: dict[str, np.ndarray]) -> None:
        self.name, self.ids, self.row_of, self.stage, self.vectors = name, ids, row_of, stage, vectors

    def measure(self, feedback: list[dict], measured: list[dict], params: learning.LearningParams | None
                ) -> tuple[float, float]:
        learned = None
        if params is not None:
            records = [learning.FeedbackRecord(q["query"], tuple(r for r in q["relevant"] if r in self.row_of))
                       for q in feedback]
            learned = learning.learned_examples([[] for _ in self.ids], records, self.row_of, self.vectors)
        r1 = nd = 0.0
        for q in measured:
            scores = self.stage[q["query"]]
            if learned is not None and params is not None:
                adj = learning.adjustment(learned, self.vectors[q["query"]], scores, params)
                scores = learning.fuse(scores, adj, params)
            a, b = metrics(scores, self.ids, set(q["relevant"]))
            r1, nd = r1 + a, nd + b
        n = max(1, len(measured))
        return r1 / n, nd / n


async def prepare(service: CatalogService, engine: Engine, ds: Dataset, queries: list[dict]) -> Prepared:
    service.store.drop_feedback(ds.name)  # a rerun starts from no feedback
    await service.put(PutCatalogRequest(ds.name, tuple(Candidate(c.content, cid, c.metadata)
                                                       for cid, c in ds.corpus.items()), replace=True))
    index = service.loaded()[ds.name]
    texts = list(dict.fromkeys(q["query"] for q in queries))
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(texts), 64):
        out = await engine.embed(texts[start:start + 64], index.record.model)
        vectors.update(zip(texts[start:start + 64], (np.asarray(v, np.float32) for v in out.vectors)))
    stage = {t: index.stage_one(vectors[t], query_terms(index.vocab, t, ()), t, FUSED).scores for t in texts}
    return Prepared(ds.name, [e.id for e in index.entries], dict(index.row_of), stage, vectors)


async def served_check(service: CatalogService, name: str, feedback: list[dict], measured: list[dict],
                       ) -> tuple[float, float, float, float]:
    """The served path: Feedback RPCs' service call, then Select with learning off and on."""
    for q in feedback:
        await service.feedback(FeedbackRequest(name, q["query"], tuple(q["relevant"]), (), "bench"))
    out = []
    for learn in (False, True):
        r1 = nd = 0.0
        for q in measured:
            picked = await service.select(SelectQuery(name, q["query"], top_k=10, stage_one_only=True, learn=learn))
            ranked = [h.id for h in picked.results]
            r1 += float(bool(ranked) and ranked[0] in q["relevant"])
            nd += ndcg_at_10(ranked, set(q["relevant"]))
        out += [r1 / max(1, len(measured)), nd / max(1, len(measured))]
    return out[0], out[1], out[2], out[3]


def restrict(ds: Dataset, queries: list[dict]) -> Dataset:
    keep = {c for q in queries for c in q["candidates"]} | {r for q in queries for r in q["relevant"]}
    return Dataset(ds.name, {k: v for k, v in ds.corpus.items() if k in keep}, queries)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="*", default=[str(DATA / s) for s in SETS])
    ap.add_argument("--store", default="/tmp/toolrank-bench-learning.sqlite3")
    ap.add_argument("--model", help="a bi-encoder directory (default: the embedded all-MiniLM-L6-v2)")
    ap.add_argument("--sweep", action="store_true", help="print the (gate, weight, fusion) grid")
    ap.add_argument("--cosqa-queries", type=int, default=120,
                    help="code-cosqa-dev: queries kept (their candidates form the catalog; default 120)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    settings = Settings(store=f"sqlite:///{args.store}", catalog_refresh_s=0.0,
                        **({"models": ((Path(args.model).name, args.model),)} if args.model else {}))
    engine = Engine.from_settings(settings)
    await engine.start()
    service = CatalogService(engine, open_store(settings.store), settings)
    defaults = learning.LearningParams()
    rows = []
    try:
        for path in args.sets:
            started = time.perf_counter()
            ds = load_dataset(path)
            if ds.name.startswith("code-"):
                same_fb, same_ms = split_same_tools(ds.queries)
                rest = [q for q in ds.queries if q not in same_fb and q not in same_ms]
                ds = restrict(ds, (same_fb + same_ms + rest)[:max(args.cosqa_queries, len(same_fb) + len(same_ms))])
            prepared = await prepare(service, engine, ds, ds.queries)
            fb, ms = split_same_tools(ds.queries)
            dfb, dms = split_disjoint(ds.queries)
            noisy_fb = noisy(fb, prepared.ids, NOISE)
            if args.sweep:
                grid = [("max", 0.0, 1.0, 1.0)] + [("gated", g, w, r) for g in (0.4, 0.5, 0.6, 0.7, 0.8)
                                                   for w in (1.0, 2.0, 4.0) for r in (0.02, 0.05, 0.1, 1.0)]
                for fusion, gate, weight, reach in grid:
                            p = learning.LearningParams(gate=gate, weight=weight, fusion=fusion, reach=reach)
                            same = prepared.measure(fb, ms, p)
                            noise = prepared.measure(noisy_fb, ms, p)
                            disj = prepared.measure(dfb, dms, p)
                            print(json.dumps({"set": ds.name, "fusion": fusion, "gate": gate, "weight": weight, "reach": reach,
                                              "same_r1": round(same[0], 3), "same_ndcg": round(same[1], 3),
                                              "noisy_r1": round(noise[0], 3), "noisy_ndcg": round(noise[1], 3),
                                              "disjoint_r1": round(disj[0], 3), "disjoint_ndcg": round(disj[1], 3)}),
                                  flush=True)
            off = prepared.measure(fb, ms, None)
            on = prepared.measure(fb, ms, defaults)
            noise = prepared.measure(noisy_fb, ms, defaults)
            d_off = prepared.measure(dfb, dms, None)
            d_on = prepared.measure(dfb, dms, defaults)
            served = await served_check(service, ds.name, fb, ms)
            rows.append({"set": ds.name, "catalog": len(prepared.ids), "feedback": len(fb), "measured": len(ms),
                         "off_r1": off[0], "off_ndcg": off[1], "on_r1": on[0], "on_ndcg": on[1],
                         "noisy_r1": noise[0], "noisy_ndcg": noise[1],
                         "disjoint_feedback": len(dfb), "disjoint_measured": len(dms),
                         "disjoint_off_r1": d_off[0], "disjoint_off_ndcg": d_off[1],
                         "disjoint_on_r1": d_on[0], "disjoint_on_ndcg": d_on[1],
                         "served_off_ndcg": served[1], "served_on_ndcg": served[3],
                         "seconds": round(time.perf_counter() - started, 1)})
    finally:
        await service.aclose()
        await engine.stop()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    head = (f"{'set':<16} {'cat':>5} {'fb/ms':>8} {'R@1 off':>7} {'on':>6} {'noisy':>6} {'nDCG off':>8} {'on':>6} "
            f"{'noisy':>6} | {'disjoint fb/ms':>14} {'R@1 off':>7} {'on':>6} {'nDCG off':>8} {'on':>6} | served nDCG")
    print(head)
    for r in rows:
        print(f"{r['set']:<16} {r['catalog']:>5} {r['feedback']:>3}/{r['measured']:<4} {r['off_r1']:>7.3f} "
              f"{r['on_r1']:>6.3f} {r['noisy_r1']:>6.3f} {r['off_ndcg']:>8.3f} {r['on_ndcg']:>6.3f} "
              f"{r['noisy_ndcg']:>6.3f} | {r['disjoint_feedback']:>6}/{r['disjoint_measured']:<7} "
              f"{r['disjoint_off_r1']:>7.3f} {r['disjoint_on_r1']:>6.3f} {r['disjoint_off_ndcg']:>8.3f} "
              f"{r['disjoint_on_ndcg']:>6.3f} | {r['served_off_ndcg']:.3f} -> {r['served_on_ndcg']:.3f}")
    worst = min(min(r["disjoint_on_ndcg"] - r["disjoint_off_ndcg"], r["disjoint_on_r1"] - r["disjoint_off_r1"])
                for r in rows)
    print(f"disjoint check (learning costs at most 0.01): worst change {worst:+.3f} -> "
          f"{'PASS' if worst >= -0.01 else 'FAIL'}")
    return 0 if worst >= -0.01 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
