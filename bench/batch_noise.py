"""How much a model's rankings move with batch makeup alone: nDCG@10 under several batch cuts.

    python bench/batch_noise.py ../shared/data/sql-spider [more sets] [--model DIR]
        [--run-overheads 1,32,128,1000000000]

Dynamic int8 quantization scales each batch's activations as a whole, so a text's
embedding (or a pair's logit) depends on what it is batched with. This runs `toolrank
eval`'s code path (normalized, then raw) once per value of the scheduler's per-run cost
(``RUN_OVERHEAD_TOKENS``: 1 cuts many small batches, 1000000000 fills each batch to the
token budget), and prints each set's nDCG@10 range. An fp32 model should not move beyond
float rounding; the spread of an int8 model is the noise floor of its quality figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import replace

from toolrank.engine.engine import Engine
from toolrank.eval import evaluate, load_dataset
from toolrank.settings import Settings, parse_model_arg


async def run(sets: list[str], overheads: list[int], model: str | None) -> list[dict]:
    settings = Settings(models=(parse_model_arg(model),)) if model else Settings()
    datasets = [load_dataset(path) for path in sets]
    rows = []
    for overhead in overheads:
        async with Engine.from_settings(replace(settings, run_overhead_tokens=overhead)) as engine:  # fresh caches for every cut
            for ds in datasets:
                for raw in (False, True):
                    report = await evaluate(engine, ds, raw=raw)
                    rows.append({"set": ds.name, "raw": raw, "run_overhead": overhead, "ndcg_at_10": report.ndcg_at_10})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--model", help="model directory (default: the embedded model)")
    ap.add_argument("--run-overheads", default="1,32,128,1000000000")
    ap.add_argument("--json", action="store_true", help="one JSON object per (cut, set, mode)")
    args = ap.parse_args()
    overheads = [int(v) for v in args.run_overheads.split(",")]
    rows = asyncio.run(run(args.datasets, overheads, args.model))
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print("| set | mode | " + " | ".join(f"cut {o}" for o in overheads) + " | min-max |")
    print("|---|---|" + "---|" * (len(overheads) + 1))
    for name in dict.fromkeys(r["set"] for r in rows):
        for raw in (False, True):
            vals = [r["ndcg_at_10"] for r in rows if r["set"] == name and r["raw"] == raw]
            print(f"| {name} | {'raw' if raw else 'normalized'} | " + " | ".join(f"{v:.4f}" for v in vals)
                  + f" | {min(vals):.4f}-{max(vals):.4f} |")


if __name__ == "__main__":
    main()
