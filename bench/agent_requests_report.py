"""nDCG@10 and Recall@1 of a set per query ``category``, beside the whole set, for several eval modes.

    python bench/agent_requests_report.py bench/agent_requests \
        [--runs normalized:default,normalized:0,raw:default,raw:0] [--model DIR] [--json]

``toolrank eval`` reports a set as a whole; this splits its queries by their ``category`` field
and runs :func:`toolrank.eval.evaluate` (the same code path and metrics as ``toolrank eval``) on each
part. A run is ``MODE:WEIGHT``: MODE ``normalized`` or ``raw``, WEIGHT ``default`` (per-kind) or the
BM25 ``lexical_weight``; the ``all`` row of a run equals ``toolrank eval [--raw] [--lexical-weight W]``.
Prints a Markdown table (one nDCG@10 / R@1 column pair per run); ``--json`` one object per cell.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import defaultdict

from toolrank.engine.engine import Engine
from toolrank.eval import Dataset, SetReport, evaluate, load_dataset
from toolrank.settings import Settings, parse_model_arg


def parse_run(run: str) -> tuple[bool, float | None]:
    mode, _, weight = run.partition(":")
    if mode not in ("normalized", "raw"):
        raise SystemExit(f"--runs: {run!r}: the mode is 'normalized' or 'raw'")
    return mode == "raw", None if weight in ("", "default") else float(weight)


def split(ds: Dataset) -> list[Dataset]:
    """The whole set as ``all``, then one dataset per category in first-seen order."""
    parts: dict[str, list[dict]] = defaultdict(list)
    for q in ds.queries:
        parts[str(q.get("category", "uncategorized"))].append(q)
    return [Dataset("all", ds.corpus, ds.queries)] + [Dataset(c, ds.corpus, qs) for c, qs in parts.items()]


async def report(path: str, runs: list[str], model: str | None, limit: int) -> list[tuple[str, SetReport]]:
    settings = Settings(models=(parse_model_arg(model),)) if model else Settings()
    out = []
    async with Engine.from_settings(settings) as engine:
        parts = split(load_dataset(path, limit))
        for run in runs:
            raw, weight = parse_run(run)
            for part in parts:
                out.append((run, await evaluate(engine, part, raw=raw, lexical_weight=weight)))
    return out


def markdown(rows: list[tuple[str, SetReport]], runs: list[str]) -> str:
    cells = {(run, r.set): r for run, r in rows}
    categories = list(dict.fromkeys(r.set for _, r in rows))
    head = "| category | queries | " + " | ".join(f"{run} nDCG@10 | {run} R@1" for run in runs) + " |"
    lines = [head, "|" + "---|" * (2 + 2 * len(runs))]
    for c in categories:
        n = cells[(runs[0], c)].queries
        values = " | ".join(f"{cells[(run, c)].ndcg_at_10:.3f} | {cells[(run, c)].recall_at_1:.3f}" for run in runs)
        lines.append(f"| {c} | {n} | {values} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", help="a folder holding corpus.jsonl and queries.jsonl with a category per query")
    ap.add_argument("--runs", default="normalized:default,normalized:0,raw:default,raw:0",
                    help="comma-separated MODE:WEIGHT (default: %(default)s)")
    ap.add_argument("--model", help="model directory (default: the embedded model)")
    ap.add_argument("--limit", type=int, default=0, help="first N queries (default 0 = all)")
    ap.add_argument("--json", action="store_true", help="one JSON object per (run, category)")
    args = ap.parse_args()
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    for run in runs:
        parse_run(run)
    rows = asyncio.run(report(args.dataset, runs, args.model, args.limit))
    if args.json:
        for run, r in rows:
            print(json.dumps({"run": run, **r.as_dict()}))
    else:
        print(markdown(rows, runs))


if __name__ == "__main__":
    main()
