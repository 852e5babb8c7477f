"""The batch scheduler's in-flight dedup: identical sequences computed once, outputs fanned out.

Counted, never timed: ``stats().sequences`` is the rows computed, ``stats().shared``
the submitted sequences served by an identical one. A gate on the model's ``run``
holds a batch in flight, so "while another request's batch runs" is reached by
construction rather than by timing.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from conftest import TINY
from toolrank.engine.engine import Engine
from toolrank.engine.pairs import Sequence
from toolrank.engine.scheduler import BatchScheduler
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput

TOOLS = [f"get_weather_{i}: returns the weather of city number {i} " * (1 + i % 3) for i in range(12)]


def _scores(out) -> list[float]:
    scores = [0.0] * len(out.results)
    for r in out.results:
        scores[r.index] = r.score
    return scores


def test_concurrent_requests_over_one_catalog_compute_each_candidate_once():
    """Eight agents, one tool catalog, eight queries, caches off: 12 candidates + 8 queries computed."""
    queries = [f"what is the weather in town {q}" for q in range(8)]

    async def run():
        model = LoadedModel(TINY / "tiny-bert-bi", threads=1)
        async with Engine(Settings(cache_size=0), [model]) as engine:
            cands = tuple(Candidate(TextInput(t)) for t in TOOLS)
            alone = [_scores(await engine.rerank(RerankQuery(q, cands, raw_scores=True))) for q in queries]
            scheduler = engine.scheduler_of()
            before = scheduler.stats()
            gate = _Gate(model.run)  # the first batch waits until every request has submitted its sequences
            model.run = gate  # type: ignore[method-assign]
            together = asyncio.gather(*(engine.rerank(RerankQuery(q, cands, raw_scores=True)) for q in queries))
            await _until(lambda: scheduler.stats().shared - before.shared == 7 * len(TOOLS))
            gate.release.set()
            outs = await together
            return alone, [_scores(o) for o in outs], before, scheduler.stats()

    alone, together, before, after = asyncio.run(run())
    for a, t in zip(alone, together):
        np.testing.assert_allclose(t, a, atol=1e-5)  # each request gets its own query's scores
    assert after.sequences - before.sequences == len(TOOLS) + len(queries)
    assert after.shared - before.shared == 7 * len(TOOLS)


def test_duplicates_within_one_request_are_computed_once():
    docs = ["the same document", "another one", "the same document", "the same document"]

    async def run():
        async with Engine(Settings(cache_size=0), [LoadedModel(TINY / "tiny-bert-cross", threads=1)]) as engine:
            before = engine.scheduler_of().stats()
            out = await engine.rerank(RerankQuery("q", tuple(Candidate(TextInput(d)) for d in docs), raw_scores=True))
            return _scores(out), before, engine.scheduler_of().stats()

    scores, before, after = asyncio.run(run())
    assert scores[0] == scores[2] == scores[3] != scores[1]
    assert after.sequences - before.sequences == 2


class _Gate:
    """Wraps ``run``: counts computed rows and holds each batch until released."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.rows = 0
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, ids, mask, types):
        self.entered.set()
        assert self.release.wait(30)
        self.rows += ids.shape[0]
        return self.inner(ids, mask, types)


def _setup():
    model = LoadedModel(TINY / "tiny-bert-cross", threads=1)
    expected = {}
    inner = model.run

    def seq(*ids: int) -> Sequence:
        s = Sequence((101, *ids, 102), len(ids) + 2)  # one segment: type ids all 0
        expected[s] = inner(np.array([s.ids]), np.ones((1, len(s)), np.int64), np.zeros((1, len(s)), np.int64))[0]
        return s

    gate = _Gate(inner)
    model.run = gate  # type: ignore[method-assign]
    return model, gate, seq, expected


async def _until(condition) -> None:
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


def test_a_cancelled_request_does_not_cancel_a_sequence_another_still_needs():
    model, gate, seq, expected = _setup()
    first, shared, own = seq(7), seq(8, 9), seq(10, 11, 12)

    async def run():
        scheduler = BatchScheduler(model, token_budget=1024, max_batch_size=64)
        scheduler.start()
        blocker = asyncio.ensure_future(scheduler.run([first]))
        await _until(gate.entered.is_set)  # the first batch is in flight; the next two requests wait in the pool
        a = asyncio.ensure_future(scheduler.run([shared, own]))
        b = asyncio.ensure_future(scheduler.run([shared]))
        await asyncio.sleep(0)
        a.cancel()
        await asyncio.sleep(0)
        gate.release.set()
        out_b, _, _ = await b
        await blocker
        stats = scheduler.stats()
        await scheduler.stop()
        return a, out_b, stats

    a, out_b, stats = asyncio.run(run())
    assert a.cancelled()
    np.testing.assert_allclose(out_b[0], expected[shared], atol=1e-5)
    assert stats.sequences == gate.rows == 2  # first and shared; own was dropped, nobody waited for it


def test_a_request_joins_the_identical_sequence_already_running():
    model, gate, seq, expected = _setup()
    running = seq(5, 6)

    async def run():
        scheduler = BatchScheduler(model, token_budget=1024, max_batch_size=64)
        scheduler.start()
        early = asyncio.ensure_future(scheduler.run([running]))
        await _until(gate.entered.is_set)
        late = asyncio.ensure_future(scheduler.run([running, running]))
        await asyncio.sleep(0)
        early.cancel()  # the first caller leaves: the batch still finishes for the second
        gate.release.set()
        out, _, _ = await late
        stats = scheduler.stats()
        await scheduler.stop()
        return out, stats

    out, stats = asyncio.run(run())
    np.testing.assert_allclose(out, np.stack([expected[running]] * 2), atol=1e-5)
    assert stats.sequences == 1 and stats.shared == 2


def test_batches_stop_before_a_sequence_whose_padding_costs_more_than_a_run_of_its_own():
    """Eight short queries and one long document: the long one runs alone, the short ones unpadded."""
    model, gate, seq, expected = _setup()
    gate.release.set()
    short = [seq(*range(5 + i, 13 + i)) for i in range(8)]  # 10 tokens each with [CLS]/[SEP]
    long = seq(*range(20, 120))  # 102 tokens

    async def run():
        scheduler = BatchScheduler(model, token_budget=2048, max_batch_size=64)
        scheduler.start()
        out, _, _ = await scheduler.run([*short, long])
        stats = scheduler.stats()
        await scheduler.stop()
        return out, stats

    out, stats = asyncio.run(run())
    assert stats.batches == 2
    assert stats.padded_tokens == stats.real_tokens == 8 * 10 + 102
    np.testing.assert_allclose(out[-1], expected[long], atol=1e-5)


def test_sequences_of_near_equal_length_share_one_batch_up_to_the_budget():
    model, gate, seq, expected = _setup()
    gate.release.set()
    near = [seq(200 + i, *range(5, 15 + i % 3)) for i in range(12)]  # 13-15 tokens, all distinct

    async def run():
        scheduler = BatchScheduler(model, token_budget=128, max_batch_size=64)
        scheduler.start()
        await scheduler.run(near)
        stats = scheduler.stats()
        await scheduler.stop()
        return stats

    stats = asyncio.run(run())
    assert stats.sequences == 12
    assert stats.batches == 2  # 12 rows of 13-15 tokens do not fit 128 padded tokens in one
    assert stats.padded_tokens < stats.real_tokens * 1.2
