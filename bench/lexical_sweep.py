"""nDCG@10 of the fused score (model + w x z-scored BM25) for several weights, on each set.

    python bench/lexical_sweep.py ../shared/data/tools-bfcl ../shared/data/tools-metatool \
        ../shared/data/sql-spider ../shared/data/code-cosqa-dev [--weights 0,0.05,0.1,0.2,0.3,0.5] [--raw]

Each query is ranked once through ``Engine.rerank`` with ``lexical_weight=0`` (the
server's own code path: normalization, scheduler, model) to get the model scores;
every weight then reuses those scores with :func:`toolrank.engine.lexical.fuse` over
the same normalized texts, which is exactly what the engine adds for that weight
(``toolrank eval --lexical-weight W`` reproduces any column). Prints a Markdown
table; ``--json`` one object per (set, weight).
"""

from __future__ import annotations

import argparse
import asyncio
import json

import numpy as np

from toolrank.engine.engine import Engine
from toolrank.engine.lexical import fuse
from toolrank.eval import load_dataset, ndcg_at_10
from toolrank.normalize import raw_text
from toolrank.settings import Settings, parse_model_arg
from toolrank.types import RerankQuery


async def sweep(paths: list[str], weights: list[float], model: str | None, raw: bool, limit: int) -> list[dict]:
    settings = Settings(models=(parse_model_arg(model),)) if model else Settings()
    rows = []
    async with Engine.from_settings(settings) as engine:
        for path in paths:
            ds = load_dataset(path, limit)
            totals = np.zeros(len(weights))
            for q in ds.queries:
                ids = q["candidates"]
                cands = tuple(ds.corpus[i] for i in ids)
                outcome = await engine.rerank(RerankQuery(q["query"], cands, lexical_weight=0.0), raw=raw)
                scores = np.zeros(len(ids))
                for r in outcome.results:
                    scores[r.index] = r.score
                texts = [raw_text(c.content) if raw else engine.normalize_one(c.content)[0].text for c in cands]
                relevant = set(q["relevant"])
                for k, w in enumerate(weights):
                    fused = fuse(scores, q["query"], texts, w)
                    order = sorted(range(len(ids)), key=lambda i: (-fused[i], i))
                    totals[k] += ndcg_at_10([ids[i] for i in order], relevant)
            n = max(1, len(ds.queries))
            rows.extend({"set": ds.name, "raw": raw, "weight": w, "ndcg_at_10": totals[k] / n}
                        for k, w in enumerate(weights))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--weights", default="0,0.05,0.1,0.2,0.3,0.5")
    ap.add_argument("--model", help="model directory (default: the embedded model)")
    ap.add_argument("--raw", action="store_true", help="unnormalized text (what --raw ranks)")
    ap.add_argument("--limit", type=int, default=0, help="first N queries of each set")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    rows = asyncio.run(sweep(args.datasets, weights, args.model, args.raw, args.limit))
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print("| set | " + " | ".join(f"w={w:g}" for w in weights) + " |")
    print("|---|" + "---|" * len(weights))
    for name in dict.fromkeys(r["set"] for r in rows):
        vals = [r["ndcg_at_10"] for r in rows if r["set"] == name]
        best = max(vals)
        print(f"| {name} | " + " | ".join(f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in vals) + " |")


if __name__ == "__main__":
    main()
