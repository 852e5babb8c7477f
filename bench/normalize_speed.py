"""Microseconds per candidate for each normalizer, on the ranking sets' own corpora.

    python bench/normalize_speed.py [--rounds 3] [--data ../shared/data]

Every candidate of each set's corpus.jsonl goes through :func:`toolrank.normalize.normalize`
(the server's path, no cache) ``--rounds`` times; the table gives, per set and kind, the
median, p99 and mean of each candidate's best round, with the fallback count. The sets
hold no plain-text corpus, so each set's queries stand in as ``text`` candidates. One
process, one thread: the figures are CPU cost per candidate on this machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

from bench import find_data_dir, percentile  # bench/bench.py, beside this script
from toolrank.candidates import candidate_from_json
from toolrank.normalize import normalize
from toolrank.types import NormalizeOptions


def measure(data: Path, rounds: int) -> list[dict]:
    options = NormalizeOptions()
    rows = []
    for corpus in sorted(data.glob("*/corpus.jsonl")):
        by_kind: dict[str, list[float]] = defaultdict(list)
        fallbacks: dict[str, int] = defaultdict(int)
        records = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
        queries = corpus.parent / "queries.jsonl"
        if queries.is_file():
            records += [{"text": json.loads(line)["query"]} for line in
                        queries.read_text(encoding="utf-8").splitlines() if line.strip()]
        for record in records:
            candidate = candidate_from_json(record)
            best = float("inf")
            for _ in range(rounds):
                start = time.perf_counter_ns()
                result = normalize(candidate.content, options)
                best = min(best, (time.perf_counter_ns() - start) / 1e3)
            by_kind[candidate.kind].append(best)
            fallbacks[candidate.kind] += result.fallback
        for kind, us in by_kind.items():
            rows.append({"set": corpus.parent.name, "kind": kind, "candidates": len(us),
                         "median_us": statistics.median(us), "p99_us": percentile(us, 99),
                         "mean_us": statistics.fmean(us), "fallbacks": fallbacks[kind]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", help="the ranking sets (default ../shared/data)")
    ap.add_argument("--json", action="store_true", help="one JSON object per set and kind")
    args = ap.parse_args()
    data = find_data_dir(args.data)
    if data is None:
        raise SystemExit("no ranking sets found: pass --data DIR")
    rows = measure(data, max(1, args.rounds))
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print("| set | kind | candidates | median us | p99 us | mean us | fallbacks |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['set']} | {r['kind']} | {r['candidates']} | {r['median_us']:.0f} | {r['p99_us']:.0f} | "
              f"{r['mean_us']:.0f} | {r['fallbacks']} |")


if __name__ == "__main__":
    main()
