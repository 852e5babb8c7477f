"""Multi-step requests: the step splitter and the whole/step fusion, measured (engine/steps.py).

    python bench/steps_eval.py bench/agent_requests ../shared/data/tools-bfcl ../shared/data/tools-metatool \
        ../shared/data/sql-spider ../shared/data/code-cosqa-dev [--weights 0,0.3,0.5,0.7,1] [--limit N] [--json]
    python bench/steps_eval.py bench/agent_requests --cost 5     # latency of the split vs the whole request
    python bench/steps_eval.py bench/agent_requests --select 3,5 # catalog Select: step cover, per_step on/off

Per query, through ``Engine.rerank`` (the server's own path, default per-kind lexical weights):
the whole request's scores, and each step's scores (``split_steps=False`` on each call, so
this script does the fusion itself); every weight w then ranks by
``(1 - w) x z(whole) + w x max over steps of z(step)`` (:func:`toolrank.engine.steps.fuse_steps`: what
the engine serves for w = STEP_WEIGHT; w = 0 is scoring the whole request only, today's ranking),
and ``raw w=`` by the same mix of the scores themselves.
Also the issue's naive split (every clause at ``,`` ``;`` "and" "then", best clause, no whole).

A set whose queries carry ``category`` (the agent set) is reported as ``multi_step`` and the
rest; other sets as one (they are single-step). Metrics: nDCG@10, Recall@1 (the first result is
relevant), and cover@5 / cover@10: the fraction of a query's steps with one of their tools in the
top 5 / 10 (the set's ``steps`` field, equal alternatives per step; else one relevant tool per step). ``split`` is how many queries the splitter cut into steps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections import defaultdict
from dataclasses import replace

import numpy as np

from toolrank.engine.engine import Engine
from toolrank.engine.steps import fuse_steps, split_steps
from toolrank.eval import load_dataset, ndcg_at_10
from toolrank.settings import Settings, parse_model_arg
from toolrank.types import RerankQuery

NAIVE = re.compile(r"\s*(?:[,;]|\band then\b|\band\b|\bthen\b)\s*", re.IGNORECASE)


def naive_split(text: str) -> list[str]:
    """The issue's naive split: every clause at a comma, semicolon, "and" or "then"."""
    return [c for c in NAIVE.split(text) if c.strip()] or [text]


async def scores_of(engine: Engine, query: str, cands: tuple, model: str) -> np.ndarray:
    out = await engine.rerank(RerankQuery(query, cands, model=model, split_steps=False))
    s = np.zeros(len(cands))
    for r in out.results:
        s[r.index] = r.score
    return s


def step_sets(q: dict) -> list[set[str]]:
    """The tools each step may use: the set's ``steps`` (equal alternatives per step) when it has them, else one
    relevant tool per step."""
    return [set(step) for step in q["steps"]] if q.get("steps") else [{r} for r in q["relevant"]]


def cover(picked: list[str], steps: list[set[str]]) -> float:
    """The fraction of steps with one of their tools among ``picked``."""
    return sum(1 for step in steps if step & set(picked)) / len(steps)


def metrics(scores: np.ndarray, ids: list[str], relevant: set[str], steps: list[set[str]]) -> dict[str, float]:
    order = sorted(range(len(ids)), key=lambda i: (-scores[i], i))
    ranked = [ids[i] for i in order]
    return {
        "ndcg_at_10": ndcg_at_10(ranked, relevant),
        "recall_at_1": 1.0 if ranked[0] in relevant else 0.0,
        "cover_at_5": cover(ranked[:5], steps),
        "cover_at_10": cover(ranked[:10], steps),
    }


async def run(paths: list[str], weights: list[float], model_arg: str | None, limit: int) -> list[dict]:
    settings = Settings(models=(parse_model_arg(model_arg),)) if model_arg else Settings()
    rows: list[dict] = []
    async with Engine.from_settings(settings) as engine:
        for path in paths:
            ds = load_dataset(path, limit)
            sums: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
            counts: dict[str, int] = defaultdict(int)
            split: dict[str, int] = defaultdict(int)
            for q in ds.queries:
                group = q.get("category", "all")
                group = "multi_step" if group == "multi_step" else ("single_step" if "category" in q else "all")
                ids = q["candidates"]
                relevant = set(q["relevant"])
                steps_of = step_sets(q)
                cands = tuple(ds.corpus[i] for i in ids)
                whole = await scores_of(engine, q["query"], cands, "")
                steps = split_steps(q["query"]).steps
                per_step = [await scores_of(engine, s, cands, "") for s in steps] if len(steps) > 1 else []
                clauses = naive_split(q["query"])
                naive = [whole] if len(clauses) < 2 else [await scores_of(engine, c, cands, "") for c in clauses]
                counts[group] += 1
                split[group] += len(steps) > 1
                for w in weights:
                    for k, v in metrics(fuse_steps(whole, per_step, w), ids, relevant, steps_of).items():
                        sums[(group, f"w={w:g}")][k] += v
                    # the same weight on the raw scores, for comparison (what z-scores improve on)
                    raw = whole if not per_step else (1 - w) * whole + w * np.max(np.stack(per_step), axis=0)
                    for k, v in metrics(raw, ids, relevant, steps_of).items():
                        sums[(group, f"raw w={w:g}")][k] += v
                for k, v in metrics(np.max(np.stack(naive), axis=0), ids, relevant, steps_of).items():
                    sums[(group, "naive")][k] += v
            for (group, mode), totals in sorted(sums.items()):
                n = counts[group]
                rows.append({"set": ds.name, "group": group, "mode": mode, "queries": n, "split": split[group],
                             **{k: round(v / n, 4) for k, v in totals.items()}})
    return rows


async def cost(path: str, model_arg: str | None, repeats: int) -> list[dict]:
    """Wall time of Engine.rerank per multi-step request of ``path``: split (served) vs whole only, interleaved."""
    settings = Settings(models=(parse_model_arg(model_arg),)) if model_arg else Settings()
    ds = load_dataset(path)
    multi = [q for q in ds.queries if split_steps(q["query"]).multi]
    times = {True: 0.0, False: 0.0}
    async with Engine.from_settings(settings) as engine:
        for q in multi:  # warm the candidate caches first: both modes then pay only for what differs
            await engine.rerank(RerankQuery(q["query"], tuple(ds.corpus[i] for i in q["candidates"])))
        for _ in range(repeats):
            for split in (False, True):
                for q in multi:
                    cands = tuple(ds.corpus[i] for i in q["candidates"])
                    start = time.perf_counter()
                    await engine.rerank(RerankQuery(q["query"], cands, split_steps=split))
                    times[split] += time.perf_counter() - start
    n = max(1, len(multi) * repeats)
    return [{"set": ds.name, "multi_step_queries": len(multi), "whole_ms": round(1000 * times[False] / n, 2),
             "split_ms": round(1000 * times[True] / n, 2),
             "ratio": round(times[True] / max(times[False], 1e-9), 2)}]


def _is_multi(q: dict) -> bool:
    """A multi-step request: so labelled (the agent set), else one with several relevant tools (tools-bfcl)."""
    return q["category"] == "multi_step" if "category" in q else len(q["relevant"]) > 1


async def select_cover(path: str, model_arg: str | None, ks: list[int]) -> list[dict]:
    """Catalog Select over the whole corpus of ``path``: the fraction of each request's relevant tools in the
    returned set of k, for today's Select (whole request only), steps fused, and steps fused with per_step.
    Multi-step requests: see :func:`_is_multi`."""
    from toolrank.catalogs.service import CatalogService
    from toolrank.catalogs.store import open_store
    from toolrank.catalogs.types import PutCatalogRequest, SelectQuery

    settings = Settings(models=(parse_model_arg(model_arg),), store="memory://", catalog_refresh_s=0.0) \
        if model_arg else Settings(store="memory://", catalog_refresh_s=0.0)
    ds = load_dataset(path)
    modes = {"whole": {"split_steps": False}, "steps": {}, "steps+per_step": {"per_step": True}}
    rows = []
    async with Engine.from_settings(settings) as engine:
        service = CatalogService(engine, open_store(settings.store), settings)
        await service.put(PutCatalogRequest("set", tuple(replace(c, id=cid) for cid, c in ds.corpus.items())))
        for group in ("multi_step", "single_step"):
            queries = [q for q in ds.queries if _is_multi(q) == (group == "multi_step")]
            for k in ks:
                for mode, options in modes.items():
                    covered = r1 = 0.0
                    for q in queries:
                        out = await service.select(SelectQuery("set", q["query"], top_k=k, **options))
                        ids = [h.id for h in out.results]
                        covered += cover(ids, step_sets(q))
                        r1 += float(bool(ids) and ids[0] in q["relevant"])
                    n = max(1, len(queries))
                    rows.append({"set": ds.name, "group": group, "k": k, "mode": mode, "queries": len(queries),
                                 "cover": round(covered / n, 4), "recall_at_1": round(r1 / n, 4)})
        await service.aclose()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--weights", default="0,0.3,0.5,0.7,1")
    ap.add_argument("--model", default=None, help="NAME=DIR or DIR (default: the embedded model)")
    ap.add_argument("--limit", type=int, default=0, help="first N queries of each set (0 = all)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cost", type=int, default=0, metavar="REPEATS",
                    help="instead: time each multi-step request of the first set, split vs whole, REPEATS times")
    ap.add_argument("--select", default="", metavar="K,K",
                    help="instead: catalog Select over the first set's corpus, step cover of the top K")
    args = ap.parse_args()
    if args.select:
        rows = asyncio.run(select_cover(args.datasets[0], args.model, [int(k) for k in args.select.split(",")]))
        print("| set | group | k | mode | queries | cover | R@1 |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['set']} | {r['group']} | {r['k']} | {r['mode']} | {r['queries']} | {r['cover']:.3f} | "
                  f"{r['recall_at_1']:.3f} |")
        return
    if args.cost:
        print(json.dumps(asyncio.run(cost(args.datasets[0], args.model, args.cost)), indent=1))
        return
    rows = asyncio.run(run(args.datasets, [float(w) for w in args.weights.split(",")], args.model, args.limit))
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("| set | group | queries | split | mode | nDCG@10 | R@1 | cover@5 | cover@10 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['set']} | {r['group']} | {r['queries']} | {r['split']} | {r['mode']} | {r['ndcg_at_10']:.3f} | "
              f"{r['recall_at_1']:.3f} | {r['cover_at_5']:.3f} | {r['cover_at_10']:.3f} |")


if __name__ == "__main__":
    main()
