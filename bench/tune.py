"""Measure onnxruntime session settings and batch cuts for toolrank's engine, interleaved.

    python bench/tune.py MODEL_DIR [--requests 4] [--rounds 3] [--what budget|session]

Why: the defaults in toolrank/models/loader.py (session_options) and settings.py
(token_budget, max_batch_size) are chosen by these numbers, not guessed. Every
configuration runs the same W1 requests (50 normalized tool schemas) in the engine,
caches off, in alternating rounds so that machine noise hits all of them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import replace

import bench  # bench/bench.py, beside this script
from toolrank.engine.engine import Engine
from toolrank.models import loader
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--requests", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dataset", default="tools-bfcl")
    ap.add_argument("--per-request", type=int, default=50)
    ap.add_argument("--what", default="budget", choices=["budget", "session"])
    args = ap.parse_args()
    reqs = bench.load_requests(bench.find_data_dir(None), args.dataset, args.per_request, args.requests)
    bench._normalize_items(reqs, 2048)
    queries = [RerankQuery(r.query, tuple(Candidate(TextInput(it.text), str(i)) for i, it in enumerate(r.items)))
               for r in reqs]
    base_opts = loader.session_options

    if args.what == "budget":
        configs = {f"budget={b} batch={n}": dict(token_budget=b, max_batch_size=n)
                   for b, n in ((512, 64), (1024, 64), (2048, 64), (4096, 64), (8192, 64), (1024, 16))}
        session_variants = {k: {} for k in configs}
    else:
        configs = {}
        session_variants = {}
        for name, change in {
            "default": {},
            "mem_pattern=on": {"enable_mem_pattern": True},
            "arena=off": {"enable_cpu_mem_arena": False},
            "spinning=off": {"spin": "0"},
            "threads=1": {"intra_op_num_threads": 1},
        }.items():
            configs[name] = {}
            session_variants[name] = change

    engines = {}
    for name in configs:
        change = dict(session_variants[name])

        def opts(threads: int, change=change):  # noqa: ANN001
            o = base_opts(threads)
            for key, value in change.items():
                if key == "spin":
                    o.add_session_config_entry("session.intra_op.allow_spinning", value)
                else:
                    setattr(o, key, value)
            return o

        loader.session_options = opts
        model = loader.LoadedModel(args.model)
        loader.session_options = base_opts
        settings = replace(Settings(models=(("", args.model),), cache_size=0), **configs[name])
        engines[name] = Engine(settings, [model])

    async def run() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {k: [] for k in engines}
        for e in engines.values():
            await e.start()
            await e.rerank(queries[0], raw=True)
        for _ in range(args.rounds):
            for name, e in engines.items():
                for q in queries:
                    t = time.perf_counter()
                    await e.rerank(q, raw=True)
                    times[name].append((time.perf_counter() - t) * 1e3)
        for e in engines.values():
            stats = e.scheduler_of().stats()
            print(f"  {[k for k, v in engines.items() if v is e][0]}: {stats.batches} batches, "
                  f"padding +{stats.padded_tokens / max(1, stats.real_tokens) - 1:.0%}", file=sys.stderr)
            await e.stop()
        return times

    times = asyncio.run(run())
    for name, ts in times.items():
        print(f"{name:28s} median {statistics.median(ts):8.1f} ms  min {min(ts):8.1f} ms  n={len(ts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
