"""Catalog scale on this machine, side by side in one run (in process: engine + CatalogService).

    python bench/catalog_scale.py ../shared/data/{tools-bfcl,tools-metatool,sql-spider,code-cosqa-dev}

1. A 10,000-candidate catalog from the real sets (tools, tables and code together: 6,310
   real candidates; the rest are copies of real ones under new ids with " (copy N)"
   appended, so that they are embedded too). PutCatalog throughput (candidates/s, every
   text embedded) and memory (index arrays, and process RSS growth).
2. Select p50/p99 over real queries, interleaved query by query with (a) Rerank of the
   same 10,000 candidates (embedded model, warm caches: every text normalized, tokenized
   and embedded before timing) and (b) the floor: one query embedding through the same
   engine plus one matrix-vector product over the catalog's embeddings (single-threaded
   einsum, the fastest product on this machine: see ``toolrank.catalogs.index.cosines``).
3. Select latency from 1k to 100k candidates: past the real size the catalog is filled
   with exact duplicates under new ids (their embeddings are shared, so building it costs
   no inference); the floor is measured on each size too.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from toolrank.catalogs.evaluate import catalog_candidates
from toolrank.catalogs.index import cosines
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.types import PutCatalogRequest, SelectQuery
from toolrank.engine.engine import Engine
from toolrank.eval import load_dataset
from toolrank.settings import Settings
from toolrank.types import Candidate, CodeInput, RerankQuery, SqlInput, TextInput, ToolInput


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def copy_of(c: Candidate, n: int) -> Candidate:
    """The same candidate under a new id with its text changed slightly (so that it is embedded again)."""
    x, tag = c.content, f" (copy {n})"
    if isinstance(x, ToolInput):
        doc = json.loads(x.json)
        fn = doc.get("function") if isinstance(doc.get("function"), dict) else doc
        fn["description"] = str(fn.get("description", "")) + tag
        content = ToolInput(json.dumps(doc))
    elif isinstance(x, CodeInput):
        content = CodeInput(x.source + f"\n# copy {n}\n", x.language, x.path)
    elif isinstance(x, SqlInput):
        content = SqlInput(x.text.rstrip().rstrip(";") + f"; -- copy {n}", x.dialect)
    else:
        content = TextInput(x.text + tag)  # type: ignore[union-attr]
    return Candidate(content, f"{c.id}#copy{n}", c.metadata)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


async def main_async(args: argparse.Namespace) -> dict:
    sets = [load_dataset(p) for p in args.datasets]
    real = [c for ds in sets for c in catalog_candidates(ds)]
    queries = [q["query"] for ds in sets for q in ds.queries[: args.queries_per_set]]
    target = args.size
    pool = list(real)
    n = 1
    while len(pool) < target:
        pool.extend(copy_of(c, n) for c in real[: target - len(pool)])
        n += 1
    pool = pool[:target]
    settings = Settings(store="memory://", catalog_refresh_s=0, max_catalog_candidates=200_000, request_timeout_s=0,
                        limits=replace(Settings().limits, max_candidates=target, max_request_bytes=1 << 30))
    report: dict = {"real_candidates": len(real), "catalog": target, "queries": len(queries)}
    async with Engine.from_settings(settings) as engine:
        svc = CatalogService(engine, open_store("memory://"), settings)
        gc.collect()
        rss0 = rss_mib()
        started = time.perf_counter()
        out = await svc.put(PutCatalogRequest("scale", tuple(pool)))
        put_s = time.perf_counter() - started
        gc.collect()
        index = svc.loaded()["scale"]
        report["put"] = {"candidates": out.size, "seconds": put_s, "candidates_per_s": out.size / put_s,
                         "texts_embedded": out.usage.windows, "tokens": out.usage.candidate_tokens}
        report["memory"] = {"index_arrays_mib": index.nbytes / 2**20, "rss_growth_mib": rss_mib() - rss0,
                            "embedding_dim": int(index.matrix.shape[1])}
        print(f"put {out.size} in {put_s:.1f} s ({out.size / put_s:.0f}/s), index {index.nbytes / 2**20:.1f} MiB, "
              f"RSS +{rss_mib() - rss0:.0f} MiB", flush=True)

        rerank_q = RerankQuery("warm up", tuple(pool), top_n=10)
        t = time.perf_counter()
        await engine.rerank(rerank_q)  # the put filled the embedding cache; this fills the normalize and token caches
        report["rerank_first_s"] = time.perf_counter() - t
        await engine.rerank(rerank_q)

        async def floor(q: str, matrix: np.ndarray) -> float:
            t = time.perf_counter()
            v = (await engine.embed([q], cache=False)).vectors[0]
            scores = cosines(matrix, v)  # the fastest matrix-vector product here (see its docstring)
            scores.argmax()
            return time.perf_counter() - t

        async def select(q: str, name: str) -> float:
            t = time.perf_counter()
            await svc.select(SelectQuery(name, q, top_k=10))
            return time.perf_counter() - t

        async def rerank(q: str) -> float:
            t = time.perf_counter()
            await engine.rerank(replace(rerank_q, query=q))
            return time.perf_counter() - t

        times: dict[str, list[float]] = {"select": [], "floor": [], "rerank": []}
        for i, q in enumerate(queries):
            times["floor"].append(await floor(q, index.matrix))
            times["select"].append(await select(q, "scale"))
            if i < args.rerank_repeats:
                times["rerank"].append(await rerank(q))
        report["latency_ms"] = {k: {"n": len(v), "p50": 1000 * pct(v, 50), "p99": 1000 * pct(v, 99)}
                                for k, v in times.items()}
        lat = report["latency_ms"]
        print(json.dumps(lat), flush=True)

        growth = []
        base = [c for c in pool]
        for size in args.growth:
            items = list(base[:size])
            k = 1
            while len(items) < size:  # exact duplicates under new ids: shared embeddings, no inference
                items.extend(Candidate(c.content, f"{c.id}#dup{k}", c.metadata) for c in base[: size - len(items)])
                k += 1
            name = f"g{size}"
            t = time.perf_counter()
            await svc.put(PutCatalogRequest(name, tuple(items)))
            build_s = time.perf_counter() - t
            matrix = svc.loaded()[name].matrix
            sel, flo = [], []
            for q in queries[: args.growth_queries]:
                flo.append(await floor(q, matrix))
                sel.append(await select(q, name))
            row = {"size": size, "synthetic": max(0, size - len(real)), "select_p50": 1000 * pct(sel, 50),
                   "select_p99": 1000 * pct(sel, 99), "floor_p50": 1000 * pct(flo, 50),
                   "index_mib": svc.loaded()[name].nbytes / 2**20, "build_s": build_s}
            growth.append(row)
            print(json.dumps(row), flush=True)
            await svc.delete(name)
            gc.collect()
        report["growth"] = growth
        await svc.aclose()
    return report


def print_tables(r: dict) -> None:
    lat = r["latency_ms"]
    s, f, k = lat["select"], lat["floor"], lat["rerank"]
    print(f"\n| {r['catalog']:,} candidates ({r['real_candidates']:,} real) | p50 ms | p99 ms | Select is |")
    print("|---|---|---|---|")
    print(f"| Select (stage one, embedded model) | {s['p50']:.1f} | {s['p99']:.1f} | |")
    print(f"| Rerank of the same candidates, warm caches (n={k['n']}) | {k['p50']:.1f} | {k['p99']:.1f} | "
          f"{k['p50'] / s['p50']:.1f}x faster (p50) |")
    print(f"| floor: one query embedding + one matmul | {f['p50']:.1f} | {f['p99']:.1f} | "
          f"{s['p50'] / f['p50']:.2f}x the floor (p50) |")
    p, m = r["put"], r["memory"]
    print(f"\nPutCatalog: {p['candidates']:,} candidates in {p['seconds']:.1f} s = {p['candidates_per_s']:.0f}/s "
          f"({p['texts_embedded']:,} texts, {p['tokens']:,} tokens embedded); memory: index arrays "
          f"{m['index_arrays_mib']:.1f} MiB, process RSS +{m['rss_growth_mib']:.0f} MiB")
    print("\n| candidates | synthetic duplicates | Select p50 ms | p99 ms | floor p50 ms | index MiB |")
    print("|---|---|---|---|---|---|")
    for g in r["growth"]:
        print(f"| {g['size']:,} | {g['synthetic']:,} | {g['select_p50']:.1f} | {g['select_p99']:.1f} | "
              f"{g['floor_p50']:.1f} | {g['index_mib']:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries-per-set", type=int, default=50, help="real queries from each set")
    parser.add_argument("--rerank-repeats", type=int, default=20, help="Rerank runs (each scores every candidate)")
    parser.add_argument("--growth", type=int, nargs="*", default=[1_000, 10_000, 30_000, 100_000])
    parser.add_argument("--growth-queries", type=int, default=100)
    parser.add_argument("--json-out", default="bench/out/catalog_scale.json")
    args = parser.parse_args()
    report = asyncio.run(main_async(args))
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(report, indent=2))
    print_tables(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
