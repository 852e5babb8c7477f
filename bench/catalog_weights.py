"""Choose BM25's share of the stage-one score per candidate kind on ../shared/data (whole catalogs).

    python bench/catalog_weights.py ../shared/data/{tools-bfcl,tools-metatool,sql-spider,code-cosqa-dev}

Each set's corpus goes into one catalog (the server's put path, embedded model); every
query is embedded once, then stage one is scored for each weight b of a grid:
(1 - b) * (cos + 1) / 2 + b * bm25 / max(bm25), exact names pulled halfway to 1, as
``toolrank.catalogs.index`` serves it. Prints nDCG@10 per set and weight, and the
weight per kind that maximizes the mean nDCG@10 of that kind's sets (text: all sets).
The chosen values go into ``BM25_WEIGHT`` in server/toolrank/catalogs/index.py by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import numpy as np

from toolrank.catalogs.index import NAME_MATCH_PULL, query_terms
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.types import PutCatalogRequest
from toolrank.catalogs.evaluate import catalog_candidates
from toolrank.engine.engine import Engine
from toolrank.eval import load_dataset, ndcg_at_10
from toolrank.settings import Settings

GRID = [round(x, 2) for x in np.arange(0.0, 1.0001, 0.05)]


async def sweep(paths: list[str]) -> dict[str, dict]:
    settings = Settings(store="memory://", catalog_refresh_s=0)
    out: dict[str, dict] = {}
    async with Engine.from_settings(settings) as engine:
        svc = CatalogService(engine, open_store("memory://"), settings)
        for path in paths:
            ds = load_dataset(path)
            await svc.put(PutCatalogRequest(ds.name, catalog_candidates(ds), replace=True))
            index = svc.loaded()[ds.name]
            kinds = {e.kind for e in index.entries}
            totals = np.zeros(len(GRID))
            for q in ds.queries:
                qv = (await engine.embed([q["query"]])).vectors[0]
                dense = (index.matrix @ qv + 1.0) * 0.5
                lexical = index.bm25.score(query_terms(index.vocab, q["query"], ()))
                top = float(lexical.max())
                lexical = lexical / top if top > 0 else lexical
                named = index.stage_one(None, [], q["query"], "bm25").name_match
                relevant = set(q["relevant"])
                for i, b in enumerate(GRID):
                    s = (1 - b) * dense + b * lexical
                    s = np.where(named, s + (1 - s) * NAME_MATCH_PULL, s)
                    top10 = np.argsort(-s, kind="stable")[:10]
                    totals[i] += ndcg_at_10([index.entries[r].id for r in top10], relevant)
            out[ds.name] = {"kinds": sorted(kinds), "ndcg": (totals / len(ds.queries)).tolist()}
            print(ds.name, " ".join(f"{b:.2f}:{v:.3f}" for b, v in zip(GRID, out[ds.name]["ndcg"])), flush=True)
        await svc.aclose()
    return out


def choose(results: dict[str, dict]) -> dict[str, float]:
    chosen = {}
    for kind in ("tool", "sql", "code", "text"):
        sets = [r["ndcg"] for r in results.values() if kind in r["kinds"]] or [r["ndcg"] for r in results.values()]
        mean = np.mean(np.array(sets), axis=0)
        chosen[kind] = GRID[int(np.argmax(mean))]
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--json-out", default="bench/out/catalog_weights.json")
    args = parser.parse_args()
    results = asyncio.run(sweep(args.datasets))
    chosen = choose(results)
    print("BM25 weight per kind:", json.dumps(chosen))
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps({"grid": GRID, "sets": results, "chosen": chosen}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
