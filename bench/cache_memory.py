"""The caches' memory against their budget: RSS after thousands of distinct large candidates.

    python bench/cache_memory.py --cache-memory-mb 16 --candidates 1500 --candidate-kib 16

In process, the embedded model (a bi-encoder). Sends ``candidates`` distinct candidates of
``candidate-kib`` KiB each, ``per-request`` at a time, through Rerank (normalized text, token ids and
embeddings all cached), then reports: the budget, the bytes the caches hold as weighed
(``engine.memory.used``), a deep size of every cache's entries measured independently of the
weighing (keys, values, Python objects), entries per cache, and the process RSS when the engine started,
when the budget was first full, and at the end (more churn must not grow it).

Runs against any checkout (``PYTHONPATH=OTHER/server python bench/cache_memory.py``) to compare: before
issue 20 the caches were bounded by entries (``--cache-size``, 50,000 each), whatever their size.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

from toolrank.engine.engine import Engine
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput


def rss_mib() -> float:
    m = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(m.group(1)) / 1024 if m else 0.0


def cache_values(cache: Any) -> list[Any]:
    if hasattr(cache, "values"):
        return list(cache.values())
    return list(cache._data.values())  # the OrderedDict of older checkouts


def deep_size(value: Any) -> int:
    """Bytes of one cached value as Python holds it (ndarray: header + own data)."""
    if isinstance(value, tuple):
        return sys.getsizeof(value) + sum(sys.getsizeof(v) for v in value if not (isinstance(v, int) and -5 <= v <= 256))
    if hasattr(value, "text"):  # Normalized
        return sys.getsizeof(value) + sys.getsizeof(value.text) + sys.getsizeof(value.detail)
    return sys.getsizeof(value)


async def run(budget_mb: int, cache_size: int, candidates: int, candidate_kib: int, per_request: int) -> dict[str, Any]:
    fields = {f.name for f in dataclasses.fields(Settings)}
    settings = Settings(cache_size=cache_size, **({"cache_memory_mb": budget_mb} if "cache_memory_mb" in fields else {}))
    engine = Engine.from_settings(settings)
    filler = " ".join(f"token{j % 5000}x{j // 5000}" for j in range(candidate_kib * 1024 // 11))[: candidate_kib * 1024]
    async with engine:
        served = engine.served("")
        rss_started = rss_mib()
        rss_full = None
        memory = getattr(engine, "memory", None)
        for start in range(0, candidates, per_request):
            cands = tuple(Candidate(TextInput(f"candidate {i}: {filler} {i}"))
                          for i in range(start, min(candidates, start + per_request)))
            await engine.rerank(RerankQuery(f"query {start}", cands))
            if rss_full is None and memory is not None and memory.used > 0.9 * memory.budget:
                rss_full = rss_mib()
        rss_end = rss_mib()
        caches = {"normalized": engine._normalized, "tokens": served.token_cache, "embeddings": served.embedding_cache}
        deep = {name: sum(deep_size(v) + 49 + 100 for v in cache_values(c))  # + the 16-byte key + LRU bookkeeping
                for name, c in caches.items()}
        entries = {name: len(c) for name, c in caches.items()}
    budget = budget_mb * 2**20 if memory is not None else None
    return {
        "checkout": "byte budget" if memory is not None else f"entries only (cache_size {cache_size})",
        "candidates_sent": candidates, "candidate_kib": candidate_kib,
        "budget_mib": budget_mb if memory is not None else None,
        "weighed_mib": round(memory.used / 2**20, 1) if memory is not None else None,
        "caches_deep_mib": round(sum(deep.values()) / 2**20, 1), "caches_deep_bytes": deep, "entries": entries,
        "rss_mib": {"started": round(rss_started, 1), "budget_full": round(rss_full, 1) if rss_full else None,
                    "end": round(rss_end, 1)},
        "rss_growth_mib": round(rss_end - rss_started, 1),
        "rss_growth_after_budget_full_mib": round(rss_end - rss_full, 1) if rss_full else None,
        "rss_growth_over_budget": round((rss_end - rss_started) / (budget / 2**20), 2) if budget else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-memory-mb", type=int, default=16, help="the caches' budget in MiB (default 16)")
    ap.add_argument("--cache-size", type=int, default=50_000, help="entries per cache (default 50000, the server's)")
    ap.add_argument("--candidates", type=int, default=1500, help="distinct candidates to send (default 1500)")
    ap.add_argument("--candidate-kib", type=int, default=16, help="size of each candidate in KiB (default 16)")
    ap.add_argument("--per-request", type=int, default=50, help="candidates per request (default 50)")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.cache_memory_mb, args.cache_size, args.candidates, args.candidate_kib,
                                     args.per_request))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
