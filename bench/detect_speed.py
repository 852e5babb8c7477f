"""What ``kind: auto`` costs: microseconds of detection per candidate, beside the normalization it leads to.

    python bench/detect_speed.py [../shared/data/...] [--repeats 3]

Every candidate of each set is sent as the string a Cohere client would send (tool
JSON, DDL, source) and the queries as prose; prints, per set, what detection found,
its median cost per candidate over ``--repeats`` rounds, and the cost of normalizing
the typed candidate, side by side (the ratio is what auto adds to normalization).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from toolrank.candidates import candidate_from_json
from toolrank.normalize import normalize, raw_text
from toolrank.normalize.detect import detect_kind
from toolrank.types import NormalizeOptions, kind_of

DEFAULT_SETS = [str(Path(__file__).resolve().parents[1].parent / "shared" / "data" / name)
                for name in ("tools-bfcl", "tools-metatool", "sql-spider", "code-cosqa-dev")]


def per_item_us(fn, items: list, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        runs.append((time.perf_counter() - t0) / max(1, len(items)) * 1e6)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="*", default=DEFAULT_SETS)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    options = NormalizeOptions()
    print("| texts | n | detected as | detect us/text | normalize us/text (typed) | detect / normalize |")
    print("|---|---|---|---|---|---|")
    for path in args.datasets:
        root = Path(path)
        with open(root / "corpus.jsonl", encoding="utf-8") as f:
            contents = [candidate_from_json(json.loads(line)).content for line in f if line.strip()]
        with open(root / "queries.jsonl", encoding="utf-8") as f:
            queries = [json.loads(line)["query"] for line in f if line.strip()]
        texts = [raw_text(c) for c in contents]
        found: dict[str, int] = {}
        for t in texts:
            hit = detect_kind(t)
            name = kind_of(hit) if hit is not None else "text"
            found[name] = found.get(name, 0) + 1
        detect_us = per_item_us(detect_kind, texts, args.repeats)
        normalize_us = per_item_us(lambda c: normalize(c, options), contents, args.repeats)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(found.items()))
        print(f"| {root.name} corpus | {len(texts)} | {summary} | {detect_us:.1f} | {normalize_us:.1f} | "
              f"{detect_us / normalize_us:.2f} |")
        q_found = sum(detect_kind(q) is not None for q in queries)
        q_us = per_item_us(detect_kind, queries, args.repeats)
        print(f"| {root.name} queries (prose) | {len(queries)} | text {len(queries) - q_found}"
              f"{f', other {q_found}' if q_found else ''} | {q_us:.1f} | | |")


if __name__ == "__main__":
    main()
