"""In-process check of concurrent merging: 16 tasks vs one at a time, same catalog, caches on.

    python bench/engine_concurrency.py [--requests 160] [--clients 16]

Separates the engine's scheduling from gRPC and client load (which share the
machine's cores in `toolrank bench` W3). Prints both throughputs and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from toolrank.candidates import candidate_from_json
from toolrank.engine.engine import Engine
from toolrank.settings import Settings
from toolrank.types import RerankQuery

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tools-bfcl" / "corpus.jsonl"


async def run(requests: int, clients: int) -> None:
    rows = [json.loads(line) for line in DATA.read_text().splitlines()[:50]]
    catalog = tuple(candidate_from_json(r) for r in rows)
    async with Engine.from_settings(Settings()) as engine:
        await engine.rerank(RerankQuery("warm up", catalog))
        start = time.perf_counter()
        for i in range(requests):
            await engine.rerank(RerankQuery(f"find the area of a triangle {i}", catalog))
        sequential = requests / (time.perf_counter() - start)

        async def client(c: int) -> None:
            for i in range(requests // clients):
                await engine.rerank(RerankQuery(f"client {c} wants tool {i}", catalog))

        start = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        concurrent = (requests // clients * clients) / (time.perf_counter() - start)
    print(f"sequential {sequential:.1f} req/s, {clients} concurrent {concurrent:.1f} req/s, "
          f"ratio {concurrent / sequential:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=160)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    asyncio.run(run(args.requests, args.clients))


if __name__ == "__main__":
    main()
