"""What a full cache holds: bytes pinned by cached embeddings, and the process RSS, against the cache's bound.

    python bench/cache_memory.py --cache-size 5000 --per-request 50 --rounds 3

In process, the embedded model (a bi-encoder, 384 floats per embedding). Fills the
engine's caches with ``rounds x cache_size`` distinct candidates, ``per-request`` at a
time, then reports for the embedding cache: entries, the bound (entries x dim x 4 bytes),
and the bytes its values actually keep alive (each value's own buffer, or the whole array
it is a view of, counted once). Also the RSS after the engine started, once the caches are
full, and at the end (more churn must not grow it), and a deep size of every cache's
entries (keys, values, Python objects) as the caches' own bound.

Runs against any checkout (``PYTHONPATH=OTHER/server python bench/cache_memory.py``) to
compare: before the fix, a cached row was a view that kept its request's whole output
matrix alive.
"""

from __future__ import annotations

import argparse
import asyncio
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


async def run(cache_size: int, per_request: int, rounds: int) -> dict[str, Any]:
    engine = Engine.from_settings(Settings(cache_size=cache_size))
    async with engine:
        served = engine.served("")
        rss_started = rss_mib()
        total = rounds * cache_size
        rss_full = rss_started
        for start in range(0, total, per_request):
            cands = tuple(Candidate(TextInput(f"candidate {i}: a passage about topic {i % 977} and item {i}"))
                          for i in range(start, min(total, start + per_request)))
            await engine.rerank(RerankQuery(f"query {start}", cands))
            if start < cache_size <= start + per_request:
                rss_full = rss_mib()
        rss_end = rss_mib()
        rows = cache_values(served.embedding_cache)
        held: dict[int, int] = {}
        for row in rows:
            owner = row if row.base is None else row.base
            held[id(owner)] = owner.nbytes
        dim = rows[0].shape[0] if rows else 0
        caches = {"normalized": engine._normalized, "tokens": served.token_cache, "embeddings": served.embedding_cache}
        deep = {name: sum(deep_size(v) + 49 + 100 for v in cache_values(c))  # + the 16-byte key + LRU bookkeeping
                for name, c in caches.items()}
    return {
        "cache_size": cache_size, "per_request": per_request, "candidates_sent": total,
        "embedding_entries": len(rows), "embedding_bound_bytes": len(rows) * dim * 4,
        "embedding_held_bytes": sum(held.values()),
        "held_over_bound": round(sum(held.values()) / max(1, len(rows) * dim * 4), 3),
        "caches_deep_bytes": deep, "caches_deep_mib": round(sum(deep.values()) / 2**20, 1),
        "rss_mib": {"started": round(rss_started, 1), "caches_full": round(rss_full, 1), "end": round(rss_end, 1)},
        "rss_growth_mib": round(rss_end - rss_started, 1),
        "rss_growth_after_full_mib": round(rss_end - rss_full, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-size", type=int, default=5000, help="entries per cache (default 5000)")
    ap.add_argument("--per-request", type=int, default=50, help="distinct candidates per request (default 50)")
    ap.add_argument("--rounds", type=int, default=3, help="cache-fulls of candidates to send (default 3)")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.cache_size, args.per_request, args.rounds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
