"""Long requests: which part of a pasted-in request to keep for the model's query window (engine/query_window.py).

    python bench/long_requests.py bench/agent_requests ../shared/data/tools-bfcl ../shared/data/tools-metatool \
        [--every N] [--limit N] [--chars 20000] [--json]

Builds a test set by wrapping each request of the given sets (deterministically, seeded by the
query id) the way agents send them, then ranks each wrapped request through ``Engine.rerank``
after fitting it with each strategy:

  * ``log_then_ask``: a pasted log or stack trace, then the request (the most common shape);
  * ``ask_then_log``: the request, then "here is the log:" and the paste;
  * ``turns_then_ask``: earlier turns of the conversation (other requests of the same set, with
    the assistant's answers and tool output), then the request;
  * ``ask_in_middle``: a paragraph of context, the request, then a pasted stack trace.

Strategies: ``head`` (what plain truncation keeps: today's behaviour), ``tail``, ``head_tail``,
``request`` (segments that read like a request; the served default), and ``similar`` (the
segments most like the candidates: each segment embedded with the served bi-encoder, scored by
its best cosine to any candidate, the best that fit kept in order). ``unwrapped`` is the request
alone: the ceiling. Prints nDCG@10 / Recall@1 per set, wrapper and strategy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from collections import defaultdict

import numpy as np

from toolrank.engine.engine import Engine
from toolrank.engine.query_window import STRATEGIES, fit_query, pack_segments, query_budget, segments
from toolrank.eval import load_dataset, ndcg_at_10
from toolrank.settings import Settings, parse_model_arg
from toolrank.types import RerankQuery

WRAPPERS = ("log_then_ask", "ask_then_log", "turns_then_ask", "ask_in_middle")
SIMILAR = "similar"

_SERVICES = ["gateway", "billing", "auth", "worker", "scheduler", "search", "cache", "db-pool", "api", "frontend"]
_LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
_EVENTS = [
    "request completed status={code} duration={ms}ms path=/api/v{v}/{thing}/{n}",
    "retrying upstream call attempt={v} backoff={ms}ms",
    "connection reset by peer while reading response from 10.0.{v}.{n}:5432",
    "cache miss key={thing}:{n} ttl=300",
    "job {thing}-{n} finished in {ms}ms with {v} warnings",
    "user {n} session refreshed token_age={ms}s",
    "slow query took {ms}ms: SELECT * FROM {thing} WHERE id = {n}",
    "healthcheck ok uptime={ms}s goroutines={n}",
]
_THINGS = ["orders", "users", "invoices", "sessions", "events", "carts", "payments", "reports"]
_TRACE = ["Traceback (most recent call last):", '  File "/srv/app/{thing}/handlers.py", line {n}, in handle',
          "    result = await self.client.fetch({thing}_id)", '  File "/srv/app/lib/http.py", line {v}, in fetch',
          "    raise TimeoutError(f\"upstream {{self.host}} timed out after {ms} ms\")",
          "TimeoutError: upstream api.internal timed out after {ms} ms"]
_CONTEXT = ["We had a rough night on call and the team is still catching up on what happened.",
            "I'm working from the train today so the connection might drop now and then.",
            "Quick background: we moved the staging cluster to a new region last week.",
            "This came up in the retro and nobody has picked it up yet."]
_ANSWERS = ["Done. Let me know if you need anything else.", "Sure, here is what I found:",
            "I've taken care of that.", "Here are the results you asked for:"]
_OUTPUT = '{{"id": "{thing}_{n}", "status": "ok", "count": {v}, "items": [{{"name": "{thing}", "size": {ms}}}]}}'


def _fill(rng: random.Random, template: str) -> str:
    return template.format(code=rng.choice([200, 201, 404, 500, 503]), ms=rng.randint(3, 9000), v=rng.randint(1, 9),
                           n=rng.randint(10, 99999), thing=rng.choice(_THINGS))


def pasted_log(rng: random.Random, chars: int) -> str:
    lines: list[str] = []
    while sum(len(line) + 1 for line in lines) < chars:
        if rng.random() < 0.08:
            lines.extend(_fill(rng, t) for t in _TRACE)
        else:
            lines.append(f"2026-12-05T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z "
                         f"{rng.choice(_LEVELS)} [{rng.choice(_SERVICES)}] {_fill(rng, rng.choice(_EVENTS))}")
    return "\n".join(lines)


def earlier_turns(rng: random.Random, others: list[str], chars: int) -> str:
    turns: list[str] = []
    while sum(len(t) + 1 for t in turns) < chars:
        turns.append(f"User: {rng.choice(others)}")
        answer = rng.choice(_ANSWERS)
        if answer.endswith(":"):
            answer += "\n" + "\n".join(_fill(rng, _OUTPUT) for _ in range(rng.randint(2, 12)))
        turns.append(f"Assistant: {answer}")
    return "\n".join(turns)


def wrap(kind: str, ask: str, rng: random.Random, others: list[str], chars: int) -> str:
    body = max(1000, chars - len(ask) - 100)
    if kind == "log_then_ask":
        return f"{pasted_log(rng, body)}\n{ask}"
    if kind == "ask_then_log":
        return f"{ask}\nHere is the log:\n{pasted_log(rng, body)}"
    if kind == "turns_then_ask":
        return f"{earlier_turns(rng, others, body)}\nUser: {ask}"
    context = " ".join(rng.sample(_CONTEXT, 2))
    return f"{context}\n{ask}\nThe trace from this morning:\n{pasted_log(rng, body - len(context))}"


async def similar_window(engine: Engine, text: str, cand_texts: list[str], budget: int) -> str:
    """The segments most like the candidates (best cosine to any candidate), as many as fit, in order."""
    tokenize = engine.served("").model.tokenize
    segs = [s.text for s in segments(text)]
    seg_vectors = (await engine.embed(segs)).vectors
    cand_vectors = (await engine.embed(cand_texts)).vectors
    best = (seg_vectors @ cand_vectors.T).max(axis=1)
    ranked = [int(i) for i in np.argsort(-best, kind="stable")]
    chosen = pack_segments(segs, ranked, tokenize, budget)
    return "\n".join(segs[i] for i in sorted(chosen)) if chosen else segs[ranked[0]]


async def run(paths: list[str], limit: int, every: int, chars: int, model_arg: str | None) -> list[dict]:
    settings = Settings(models=(parse_model_arg(model_arg),)) if model_arg else Settings()
    rows: list[dict] = []
    async with Engine.from_settings(settings) as engine:
        served = engine.served("")
        budget = query_budget(served.model)
        for path in paths:
            ds = load_dataset(path)
            others_all = [q["query"] for q in ds.queries]
            sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
            sample = ds.queries[::every][:limit] if limit else ds.queries[::every]
            for q in sample:
                ids = q["candidates"]
                relevant = set(q["relevant"])
                cands = tuple(ds.corpus[i] for i in ids)
                cand_texts = [engine.normalize_one(c.content)[0].text for c in cands]

                async def rank(text: str, ids: list[str] = ids, relevant: set[str] = relevant,
                               cands: tuple = cands) -> tuple[float, float]:
                    out = await engine.rerank(RerankQuery(text, cands))
                    ranked = [ids[r.index] for r in out.results]
                    return ndcg_at_10(ranked, relevant), float(ranked[0] in relevant)

                ceiling = await rank(q["query"])
                others = [o for o in others_all if o != q["query"]]
                for kind in WRAPPERS:
                    rng = random.Random(f"{q['id']}:{kind}")
                    text = wrap(kind, q["query"], rng, others, chars)
                    sums[(kind, "unwrapped")] = _add(sums[(kind, "unwrapped")], ceiling)
                    for strategy in STRATEGIES:
                        window = fit_query(text, served.model.tokenize, budget, strategy)
                        sums[(kind, strategy)] = _add(sums[(kind, strategy)], await rank(window.text),
                                                      q["query"] in window.text)
                    kept = await similar_window(engine, text, cand_texts, budget)
                    sums[(kind, SIMILAR)] = _add(sums[(kind, SIMILAR)], await rank(kept), q["query"] in kept)
            n = len(sample)
            for (kind, strategy), (ndcg, r1, kept) in sorted(sums.items()):
                rows.append({"set": ds.name, "wrapper": kind, "strategy": strategy, "queries": n,
                             "ndcg_at_10": round(ndcg / n, 4), "recall_at_1": round(r1 / n, 4),
                             "request_kept": round(kept / n, 4) if strategy != "unwrapped" else 1.0})
    return rows


def _add(acc: list[float], metric: tuple[float, float], kept: bool = True) -> list[float]:
    return [acc[0] + metric[0], acc[1] + metric[1], acc[2] + float(kept)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--limit", type=int, default=0, help="at most N queries of each set (0 = all)")
    ap.add_argument("--every", type=int, default=1, help="every Nth query (a spread subsample)")
    ap.add_argument("--chars", type=int, default=20_000, help="length of each wrapped request")
    ap.add_argument("--model", default=None, help="NAME=DIR or DIR (default: the embedded model)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = asyncio.run(run(args.datasets, args.limit, args.every, args.chars, args.model))
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("| set | wrapper | strategy | queries | nDCG@10 | R@1 | request kept whole |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['set']} | {r['wrapper']} | {r['strategy']} | {r['queries']} | {r['ndcg_at_10']:.3f} | "
              f"{r['recall_at_1']:.3f} | {r['request_kept']:.2f} |")


if __name__ == "__main__":
    main()
