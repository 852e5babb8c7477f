"""In-process check of concurrent merging: 16 tasks vs one at a time, same catalog, caches on.

    python bench/engine_concurrency.py [--requests 160] [--clients 16] [--model DIR] [--run-overhead N]

Separates the engine's scheduling from gRPC and client load (which share the
machine's cores in `toolrank bench` W3). The queries are BFCL's own (their
lengths vary, as real agents' do), over one catalog of 50 BFCL tools. Prints
both throughputs, their ratio, and the padded/real token ratio of the batches run.
``--run-overhead`` overrides the scheduler's per-run cost in tokens for an A/B check
(a huge value, e.g. 1000000000, restores the cut that only the token budget stops).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path

from toolrank.candidates import candidate_from_json
from toolrank.engine.engine import Engine
from toolrank.settings import Settings, parse_model_arg
from toolrank.types import RerankQuery

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tools-bfcl"


def _padding(engine: Engine, before: tuple[int, int]) -> tuple[float, tuple[int, int]]:
    stats = engine.scheduler_of().stats()
    now = (stats.real_tokens, stats.padded_tokens)
    real, padded = now[0] - before[0], now[1] - before[1]
    return padded / max(1, real), now


async def run(requests: int, clients: int, model: str | None, run_overhead: int | None = None) -> None:
    rows = [json.loads(line) for line in (DATA / "corpus.jsonl").read_text().splitlines()[:50]]
    queries = [json.loads(line)["query"] for line in (DATA / "queries.jsonl").read_text().splitlines()]
    queries = [queries[i % len(queries)] for i in range(requests)]
    catalog = tuple(candidate_from_json(r) for r in rows)
    settings = Settings(models=(parse_model_arg(model),)) if model else Settings()
    if run_overhead is not None:
        settings = replace(settings, run_overhead_tokens=run_overhead)
    async with Engine.from_settings(settings) as engine:
        await engine.rerank(RerankQuery("warm up", catalog))
        _, mark = _padding(engine, (0, 0))
        start = time.perf_counter()
        for q in queries:
            await engine.rerank(RerankQuery(q, catalog))
        sequential = requests / (time.perf_counter() - start)
        seq_padding, mark = _padding(engine, mark)

        async def client(c: int) -> None:
            for q in queries[c::clients]:
                await engine.rerank(RerankQuery(q, catalog))

        start = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        concurrent = requests / (time.perf_counter() - start)
        con_padding, _ = _padding(engine, mark)
    print(f"sequential {sequential:.1f} req/s (padded/real tokens {seq_padding:.2f}), "
          f"{clients} concurrent {concurrent:.1f} req/s (padded/real {con_padding:.2f}), "
          f"ratio {concurrent / sequential:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=160)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--model", help="model directory (default: the embedded model)")
    ap.add_argument("--run-overhead", type=int, help="Settings.run_overhead_tokens for this run (default 32)")
    args = ap.parse_args()
    asyncio.run(run(args.requests, args.clients, args.model, args.run_overhead))


if __name__ == "__main__":
    main()
