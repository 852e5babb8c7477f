"""Fair scheduling, side by side in one run: today's oldest-first batch order against round-robin turns.

``python bench/fairness.py [--big 300] [--repeats 3]`` (from a checkout; ../shared/data when present, else
synthetic tool schemas). The engine runs in process on the default model with every cache off, so each
request's work is real. Both policies run in the same process, alternating (A B A B ...), so the shared
machine's noise hits both alike; the figures to read are the ratios.

* fairness: a big request (``--big`` tool schemas, 1 query) starts; 50 ms later a small one (1 query x 1
  tool) arrives. Reported: the small request's latency (and the big one's), per policy.
* throughput: W1 (1 query x 50 tool schemas, one request at a time) and W3 (16 W1-shaped requests at once,
  each its own 50 tools: pure compute), candidates per second per policy; round-robin must stay within 5%.

"Oldest-first" is main's ``_next_batch`` before issue 20: every batch starts at the oldest waiting request's
shortest sequence; it is reinstated here by replacing ``BatchScheduler._start_key`` for the A runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "server"))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from bench import find_data_dir, load_requests  # noqa: E402  (bench/bench.py)
from toolrank.engine.engine import Engine  # noqa: E402
from toolrank.engine.scheduler import BatchScheduler  # noqa: E402
from toolrank.settings import Settings  # noqa: E402
from toolrank.types import Candidate, RerankQuery, ToolInput  # noqa: E402

ROUND_ROBIN = BatchScheduler._start_key


def oldest_first(self: BatchScheduler) -> Any:
    """Main's policy before issue 20: the oldest waiting request's shortest sequence starts every batch."""
    for job in list(self._jobs):
        if job.future.done():
            self._drop(job)
            continue
        keys = [e.key for e in (self._pool.get(s) for s in job.sequences) if e is not None]
        if keys:
            return min(keys)
    return None


POLICIES = {"oldest-first (main)": oldest_first, "round-robin": ROUND_ROBIN}


def query_of(request: Any, tag: str = "") -> RerankQuery:
    return RerankQuery(request.query, tuple(
        Candidate(ToolInput(json.dumps({**it.record["tool"], "description": f"{it.record['tool'].get('description', '')} {tag}"})), str(i))
        for i, it in enumerate(request.items)))


async def fairness(engine: Engine, big: RerankQuery, small: RerankQuery) -> tuple[float, float]:
    """The small request is sent once the big one's sequences are queued in the scheduler (after its
    normalization and tokenization), so it competes with the big one's batches, not with its preparation."""
    scheduler = engine.scheduler_of()

    async def timed(q: RerankQuery, wait_for_big: bool) -> float:
        while wait_for_big and scheduler.queued_tokens == 0:
            await asyncio.sleep(0.002)
        t0 = time.perf_counter()
        await engine.rerank(q)
        return time.perf_counter() - t0

    big_s, small_s = await asyncio.gather(timed(big, False), timed(small, True))
    return small_s, big_s


async def throughput(engine: Engine, queries: list[RerankQuery], concurrent: bool) -> tuple[float, float, int]:
    """Candidates per second, and (machine-independent) the batches' real/padded token ratio and batch count."""
    before = engine.scheduler_of().stats()
    t0 = time.perf_counter()
    if concurrent:
        await asyncio.gather(*(engine.rerank(q) for q in queries))
    else:
        for q in queries:
            await engine.rerank(q)
    rate = sum(len(q.candidates) for q in queries) / (time.perf_counter() - t0)
    after = engine.scheduler_of().stats()
    density = (after.real_tokens - before.real_tokens) / max(1, after.padded_tokens - before.padded_tokens)
    return rate, density, after.batches - before.batches


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--big", type=int, default=300, help="tool schemas in the big request (default 300)")
    p.add_argument("--repeats", type=int, default=3, help="A/B rounds (default 3)")
    p.add_argument("--w1", type=int, default=4, help="W1 requests per round (default 4)")
    p.add_argument("--data", help="the ranking sets (default ../shared/data; synthetic when absent)")
    opts = p.parse_args()
    data = find_data_dir(opts.data)
    big_req = load_requests(data, "tools-bfcl", opts.big, 1)[0]
    w = load_requests(data, "tools-bfcl", 50, 16 + opts.w1)
    keys = ("small_s", "big_s", "w1", "w3", "w1_density", "w3_density", "w1_batches", "w3_batches")
    results: dict[str, dict[str, list[float]]] = {n: {k: [] for k in keys} for n in POLICIES}
    async with Engine.from_settings(Settings(cache_size=0)) as engine:
        await engine.rerank(query_of(w[0], "warmup"))
        for r in range(opts.repeats):
            for name, policy in POLICIES.items():
                BatchScheduler._start_key = policy  # type: ignore[method-assign]
                tag = f"{r}-{name}"  # distinct text per run: nothing is shared or cached between runs
                small = RerankQuery("what is the weather in Paris", (Candidate(ToolInput(json.dumps(
                    {"name": "get_weather", "description": f"Current weather for a city {tag}"})), "w"),))
                s, b = await fairness(engine, query_of(big_req, tag), small)
                results[name]["small_s"].append(s)
                results[name]["big_s"].append(b)
                for key, reqs, together in (("w1", w[16:], False), ("w3", w[:16], True)):
                    rate, density, batches = await throughput(engine, [query_of(x, tag) for x in reqs], together)
                    results[name][key].append(rate)
                    results[name][key + "_density"].append(density)
                    results[name][key + "_batches"].append(batches)
    BatchScheduler._start_key = ROUND_ROBIN  # type: ignore[method-assign]
    med = {n: {k: statistics.median(v) for k, v in m.items()} for n, m in results.items()}
    a, b = med["oldest-first (main)"], med["round-robin"]
    print(f"data: {data or 'synthetic'}; big request {opts.big} tool schemas; {opts.repeats} A/B rounds; medians")
    print(f"{'policy':<22}{'small req s':>12}{'big req s':>11}{'W1 cand/s':>11}{'W3 cand/s':>11}"
          f"{'W1 real/pad':>12}{'W3 real/pad':>12}{'W1 batches':>11}{'W3 batches':>11}")
    for n, m in med.items():
        print(f"{n:<22}{m['small_s']:>12.3f}{m['big_s']:>11.3f}{m['w1']:>11.1f}{m['w3']:>11.1f}"
              f"{m['w1_density']:>12.3f}{m['w3_density']:>12.3f}{m['w1_batches']:>11.0f}{m['w3_batches']:>11.0f}")
    print(f"round-robin / oldest-first: small latency x{b['small_s'] / a['small_s']:.3f}, big latency "
          f"x{b['big_s'] / a['big_s']:.3f}, W1 throughput x{b['w1'] / a['w1']:.3f}, W3 throughput "
          f"x{b['w3'] / a['w3']:.3f}, W3 padding density x{b['w3_density'] / a['w3_density']:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
