"""Which models, fused how, rank best: score every model once, fuse offline (``python bench/stacks.py``).

Two steps, so that a stack costs nothing once its members are cached:

``cache``  runs each model through the real engine (normalization, tokenization, windows: the
           served path) on the first ``--limit`` queries of each set, with ``raw_scores`` and no
           lexical fusion, and stores per query the candidate ids, every model's raw score
           (cosine for a bi-encoder, logit for a cross-encoder) and BM25 over the normalized
           text. One JSON file per (set, model) under ``--cache``; a file already there is kept,
           so adding a model (e.g. a fine-tuned one) costs only that model.

``fuse``   ranks with each stack of ``--stacks`` (the JSON ensemble format the server reads:
           members with weights per candidate kind, ``bm25`` as a member) and prints nDCG@10
           and Recall@1 per set, plus two references computed the old way: today's default
           (cosine + 0.05 x z(BM25) for tools and SQL) and the cross-encoder with sigmoid +
           0.05 x z(BM25) (the scale bug of issue 18).

    python bench/stacks.py cache --model all-MiniLM-L6-v2=server/toolrank/models/default \\
        --model bge-small-en-v1.5=DIR --model ms-marco-MiniLM-L12-v2=DIR --limit 100 \\
        ../shared/data/tools-bfcl ../shared/data/tools-metatool ../shared/data/sql-spider \\
        ../shared/data/code-cosqa-dev
    python bench/stacks.py fuse --stacks bench/stacks.json --limit 100 DATASET_DIR...

``cost``   serves every model and every stack in one engine (caches off: each request pays for
           every candidate) and times W1-shaped requests (1 query x 50 tools of tools-bfcl, one
           at a time) per stack, beside today's default (the embedded model with its per-kind
           BM25 weight): median latency, candidate tokens per second of inference, and the ratio
           to today's default, all in the same run.

    python bench/stacks.py cost --model NAME=DIR ... --repeats 10 ../shared/data/tools-bfcl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from toolrank.engine.ensemble import EnsembleSpec, fuse_z, parse_ensemble  # noqa: E402
from toolrank.engine.lexical import bm25_scores, lexical_tokens, zscore  # noqa: E402
from toolrank.eval import load_dataset, ndcg_at_10  # noqa: E402

DEFAULT_CACHE = ROOT / "bench" / "out" / "stacks-cache"
OLD_LEXICAL = {"tool": 0.05, "sql": 0.05, "code": 0.0, "text": 0.0}  # before issue 18, on the model's own scale


async def cache_model(name: str, path: str, sets: list[str], limit: int, cache: Path, threads: int) -> None:
    from toolrank.engine.engine import Engine
    from toolrank.settings import Settings
    from toolrank.types import RerankQuery

    def have(set_dir: str) -> list[dict[str, Any]]:
        f = cache / f"{Path(set_dir).name}.{name}.json"
        return json.loads(f.read_text(encoding="utf-8"))["queries"] if f.is_file() else []

    def wanted(set_dir: str) -> int:
        with open(Path(set_dir) / "queries.jsonl", encoding="utf-8") as f:
            n = sum(1 for line in f if line.strip())
        return min(n, limit) if limit else n

    todo = [s for s in sets if len(have(s)) < wanted(s)]  # missing, or cached on fewer queries: extend
    if not todo:
        return
    settings = Settings(models=((name, path),), threads=threads, request_timeout_s=0)
    async with Engine.from_settings(settings) as engine:
        for set_dir in todo:
            data = load_dataset(set_dir, limit)
            rows = have(set_dir)
            previous = json.loads((cache / f"{data.name}.{name}.json").read_text(encoding="utf-8")) if rows else {}
            t0 = time.perf_counter() - previous.get("seconds", 0.0)
            tokens = previous.get("tokens", 0)
            for q in data.queries[len(rows):]:
                ids = q["candidates"]
                cands = tuple(data.corpus[i] for i in ids)
                out = await engine.rerank(RerankQuery(q["query"], cands, return_text=True, raw_scores=True,
                                                      lexical_weight=0.0))
                scores = [0.0] * len(ids)
                texts = [""] * len(ids)
                for r in out.results:
                    scores[r.index] = r.score
                    texts[r.index] = r.text or ""
                tokens += out.usage.candidate_tokens + out.usage.query_tokens
                bm25 = bm25_scores(lexical_tokens(q["query"]), [lexical_tokens(t) for t in texts])
                rows.append({"id": q["id"], "candidates": ids, "relevant": q["relevant"], "scores": scores,
                             "bm25": bm25.tolist(), "kinds": [c.kind for c in cands]})
            seconds = time.perf_counter() - t0
            cache.mkdir(parents=True, exist_ok=True)
            (cache / f"{data.name}.{name}.json").write_text(json.dumps(
                {"set": data.name, "model": name, "kind": engine.model_specs()[0].kind, "limit": limit, "seconds": seconds, "tokens": tokens,
                 "queries": rows}), encoding="utf-8")
            print(f"{data.name} {name}: {len(rows)} queries, {seconds:.0f} s", flush=True)


def load_cache(cache: Path, set_name: str) -> dict[str, dict[str, Any]]:
    """model -> cached file of one set."""
    out = {}
    for f in sorted(cache.glob(f"{set_name}.*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        out[data["model"]] = data
    return out


def metrics(rankings: list[tuple[list[str], set[str]]]) -> tuple[float, float]:
    n = max(1, len(rankings))
    return (sum(ndcg_at_10(r, rel) for r, rel in rankings) / n,
            sum(1.0 for r, rel in rankings if r and r[0] in rel) / n)


def rank(ids: list[str], scores: np.ndarray) -> list[str]:
    order = sorted(range(len(ids)), key=lambda i: (-scores[i], i))
    return [ids[i] for i in order]


def stack_scores(stack: EnsembleSpec, per_model: dict[str, list[float]], bm25: list[float],
                 kinds: list[str]) -> np.ndarray:
    """The served ensemble's fused value (engine/ensemble.py), from cached member scores."""
    columns = {m.model: np.asarray(per_model[m.model], dtype=np.float64) for m in stack.members
               if m.model != "bm25"}
    columns["bm25"] = np.asarray(bm25, dtype=np.float64)
    return fuse_z(stack, columns, kinds)


def old_default(scores: list[float], bm25: list[float], kinds: list[str], sigmoid: bool) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if sigmoid:
        s = 1.0 / (1.0 + np.exp(-s))
    w = np.array([OLD_LEXICAL.get(k, 0.0) for k in kinds])
    return s + w * zscore(np.asarray(bm25))


def evaluate_set(cached: dict[str, dict[str, Any]], models: list[str], stacks: list[EnsembleSpec],
                 limit: int) -> dict[str, tuple[float, float]]:
    """(nDCG@10, R@1) of BM25, each model alone, each with the old 0.05 fusion, and each stack."""
    queries = {m: cached[m]["queries"][:limit] if limit else cached[m]["queries"] for m in models}
    most = max(len(q) for q in queries.values())
    base = max(queries.values(), key=len)

    def rows_for(fn: Any, members: Sequence[str]) -> tuple[int, list[tuple[list[str], set[str]]]]:
        """Over the queries every member has (a member cached on fewer queries limits its stacks)."""
        n = min([len(queries[m]) for m in members] or [most])
        out = []
        for i in range(n):
            ids = base[i]["candidates"]
            per_model = {m: queries[m][i]["scores"] for m in members}
            out.append((rank(ids, fn(per_model, base[i]["bm25"], base[i]["kinds"])), set(base[i]["relevant"])))
        return n, out

    results: dict[str, tuple[float, float]] = {}

    def add(label: str, fn: Any, members: Sequence[str]) -> None:
        n, rows = rows_for(fn, members)
        results[label if n == most else f"{label} (first {n})"] = metrics(rows)

    add("bm25", lambda pm, b, k: np.asarray(b), [])
    for m in models:
        cross = cached[m].get("kind") == "cross-encoder" or "marco" in m
        add(m, lambda pm, b, k, m=m: np.asarray(pm[m]), [m])
        add(f"{m} + 0.05 z(BM25) on its {'sigmoid' if cross else 'cosine'} (before)",
            lambda pm, b, k, m=m, cross=cross: old_default(pm[m], b, k, sigmoid=cross), [m])
    for stack in stacks:
        if all(mb.model == "bm25" or mb.model in models for mb in stack.members):
            add(stack.name, lambda pm, b, k, s=stack: stack_scores(s, pm, b, k), stack.models)
    return results


def fuse(sets: list[str], stacks: list[EnsembleSpec], cache: Path, limit: int, as_json: bool,
         markdown: bool = False) -> int:
    table: list[dict[str, Any]] = []
    for set_dir in sets:
        name = Path(set_dir).name
        cached = load_cache(cache, name)
        if not cached:
            print(f"{name}: nothing cached under {cache}", file=sys.stderr)
            continue
        current = load_dataset(set_dir, limit).queries
        stale = [m for m in cached if any(q["id"] != c["id"] or q["candidates"] != c["candidates"]
                                          or sorted(q["relevant"]) != sorted(c["relevant"])
                                          for q, c in zip(current, cached[m]["queries"]))]
        if stale:
            print(f"{name}: the set changed since {stale} were cached: delete those files and cache again",
                  file=sys.stderr)
            continue
        models = sorted(cached)
        results = evaluate_set(cached, models, stacks, limit)
        cost = {m: {"seconds": cached[m]["seconds"], "tokens": cached[m]["tokens"]} for m in models}
        n = max(len(cached[m]["queries"][:limit] if limit else cached[m]["queries"]) for m in models)
        table.append({"set": name, "queries": n, "results": results, "cost": cost})
    if as_json:
        print(json.dumps(table, indent=1))
        return 0
    if markdown:
        names = list(dict.fromkeys(k for t in table for k in t["results"]))
        print("| stack | " + " | ".join(f"{t['set']} ({t['queries']})" for t in table) + " |")
        print("|---|" + "---|" * len(table))
        for k in names:
            cells = [f"{t['results'][k][0]:.3f} / {t['results'][k][1]:.2f}" if k in t["results"] else "-"
                     for t in table]
            print(f"| {k} | " + " | ".join(cells) + " |")
        return 0
    for t in table:
        print(f"\n{t['set']} (first {t['queries']} queries)")
        print(f"  {'stack':<60} {'nDCG@10':>8} {'R@1':>6}")
        for k, (nd, r1) in t["results"].items():
            print(f"  {k:<60} {nd:>8.3f} {r1:>6.3f}")
        for m, c in t["cost"].items():
            print(f"  cost {m}: {c['seconds']:.0f} s, {c['tokens']} tokens")
    return 0


async def cost(models: list[tuple[str, str]], stacks: list[EnsembleSpec], set_dir: str, repeats: int,
               threads: int, per_request: int = 50) -> list[dict[str, Any]]:
    import statistics

    from toolrank.engine.engine import Engine
    from toolrank.settings import Settings
    from toolrank.types import RerankQuery

    served = {n for n, _ in models}
    usable = [s for s in stacks if set(s.models) <= served]
    data = load_dataset(set_dir, repeats)
    pool = list(data.corpus.values())
    requests = [RerankQuery(q["query"], tuple(pool[(i * per_request + j) % len(pool)] for j in range(per_request)))
                for i, q in enumerate(data.queries)]
    settings = Settings(models=tuple(models), threads=threads, cache_size=0, request_timeout_s=0)
    rows = []
    async with Engine.from_settings(replace_settings(settings, usable)) as engine:
        targets = [(f"{models[0][0]} + per-kind BM25 (today's default)", models[0][0])]
        targets += [(n, n) for n, _ in models[1:]] + [(s.name, s.name) for s in usable]
        for _, name in targets:  # warm each model's session and scheduler once
            await engine.rerank(RerankQuery(requests[0].query, requests[0].candidates, model=name))
        times: dict[str, list[float]] = {name: [] for _, name in targets}
        tokens = dict.fromkeys(times, 0)
        infer = dict.fromkeys(times, 0)
        for r in requests:  # interleaved: a slow spell on this shared machine hits every stack alike
            for _, name in targets:
                t0 = time.perf_counter()
                out = await engine.rerank(RerankQuery(r.query, r.candidates, model=name))
                times[name].append(time.perf_counter() - t0)
                tokens[name] += out.usage.candidate_tokens
                infer[name] += out.timing.inference_ns
        for label, name in targets:
            rows.append({"stack": label, "median_ms": 1000 * statistics.median(times[name]),
                         "tokens_per_s": tokens[name] / max(infer[name] / 1e9, 1e-9)})
    base = rows[0]["median_ms"]
    for r in rows:
        r["ratio"] = r["median_ms"] / base
    return rows


def replace_settings(settings: Any, stacks: list[EnsembleSpec]) -> Any:
    """The settings with each stack as an --ensemble flag (the form the server reads)."""
    from dataclasses import replace

    flags = []
    for s in stacks:
        if any(m.weights for m in s.members):
            continue  # per-kind weights have no flag form; a single-kind bench needs none
        flags.append(s.name + "=" + ",".join(f"{m.model}:{m.weight:g}" for m in s.members))
    return replace(settings, ensembles=tuple(flags))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cache")
    c.add_argument("--model", action="append", required=True, metavar="NAME=DIR")
    c.add_argument("--threads", type=int, default=2)
    k = sub.add_parser("cost")
    k.add_argument("--model", action="append", required=True, metavar="NAME=DIR", help="the first is today's default")
    k.add_argument("--stacks", default=str(ROOT / "bench" / "stacks.json"))
    k.add_argument("--repeats", type=int, default=10)
    k.add_argument("--only", action="append", metavar="STACK", help="time only these stacks (default: all)")
    k.add_argument("--threads", type=int, default=2)
    k.add_argument("set")
    f = sub.add_parser("fuse")
    f.add_argument("--stacks", default=str(ROOT / "bench" / "stacks.json"))
    f.add_argument("--json", action="store_true")
    f.add_argument("--markdown", action="store_true", help="one table: nDCG@10 / R@1 per stack and set")
    for q in (c, f):
        q.add_argument("sets", nargs="+")
        q.add_argument("--limit", type=int, default=100, help="first N queries of each set (0 = all)")
        q.add_argument("--cache", default=str(DEFAULT_CACHE))
    args = p.parse_args(argv)
    if args.command == "cost":
        stacks = [parse_ensemble(s) for s in json.loads(Path(args.stacks).read_text(encoding="utf-8"))["stacks"]]
        if args.only:
            stacks = [s for s in stacks if s.name in args.only]
        models = [(n, p) for n, _, p in (m.partition("=") for m in args.model)]
        rows = asyncio.run(cost(models, stacks, args.set, args.repeats, args.threads))
        print(f"{'stack':<50} {'W1 median ms':>13} {'x today':>8} {'cand tok/s':>11}")
        for r in rows:
            print(f"{r['stack']:<50} {r['median_ms']:>13.0f} {r['ratio']:>8.2f} {r['tokens_per_s']:>11.0f}")
        return 0
    cache = Path(args.cache)
    if args.command == "cache":
        for spec in args.model:
            name, _, path = spec.partition("=")
            asyncio.run(cache_model(name, path, args.sets, args.limit, cache, args.threads))
        return 0
    stacks = [parse_ensemble(s) for s in json.loads(Path(args.stacks).read_text(encoding="utf-8"))["stacks"]]
    from dataclasses import replace

    from toolrank.engine.stacks import shipped

    shipped_stacks = shipped()
    stacks += [replace(s, name=f"shipped: {s.name}") for s in (shipped_stacks.default, *shipped_stacks.offered)]
    return fuse(args.sets, stacks, cache, args.limit, args.json, args.markdown)


if __name__ == "__main__":
    sys.exit(main())
