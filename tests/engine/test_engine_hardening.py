"""Engine defects found by reading the code (issue #11): each test failed before its fix."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sys
import threading

import numpy as np
import pytest

from conftest import TINY
from toolrank.engine.engine import Engine
from toolrank.errors import ModelUnavailable
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, NormalizeOptions, RerankQuery, TextInput, ToolInput


def _texts(n: int, tag: str = "doc") -> tuple[Candidate, ...]:
    return tuple(Candidate(TextInput(f"{tag} {i}: a distinct passage about item number {i}")) for i in range(n))


def _engine(name: str = "tiny-bert-bi", **settings) -> Engine:
    return Engine(Settings(**settings), [LoadedModel(TINY / name, threads=1)])


# -- 1. caches and counters under concurrency ----------------------------------------------------


def test_concurrent_requests_on_a_tiny_cache_all_succeed_and_counts_add_up():
    """64 concurrent requests, distinct candidates, cache_size 8: every request answered, totals exact."""
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # worker threads and the loop interleave as often as they can

    async def run():
        async with _engine(cache_size=8) as engine:
            outs = await asyncio.gather(*(engine.rerank(RerankQuery(f"query {c}", _texts(6, f"c{c}")))
                                          for c in range(64)), return_exceptions=True)
            return outs, engine.counters, engine.cache_stats()

    try:
        outs, counters, stats = asyncio.run(run())
    finally:
        sys.setswitchinterval(old_interval)
    assert [o for o in outs if isinstance(o, BaseException)] == []
    assert counters.requests == 64 and counters.candidates == 64 * 6
    assert counters.normalize_hits + counters.normalize_misses == 64 * 6
    for (cache, _), (_hits, _misses, entries) in stats.items():
        assert entries <= 8, cache


# -- 2. cached embeddings own their memory ----------------------------------------------------------


def test_a_full_embedding_cache_holds_only_its_own_rows():
    """cache_size rows of ``dim`` float32 each: views into whole batch outputs would pin far more."""
    size = 16

    async def run():
        async with _engine(cache_size=size, max_batch_size=64) as engine:
            for r in range(4):  # several batches, each larger than the cache
                await engine.rerank(RerankQuery("q", _texts(40, f"round{r}")))
            return engine.served("").embedding_cache.values()

    rows = asyncio.run(run())
    assert len(rows) == size
    dim = rows[0].shape[0]
    held = {}
    for row in rows:
        owner = row if row.base is None else row.base  # a view keeps its base (the batch matrix) alive
        held[id(owner)] = owner.nbytes
    assert sum(held.values()) == size * dim * 4


# -- 3. a dead scheduler fails fast -----------------------------------------------------------------------


def test_a_scheduler_that_dies_fails_waiting_requests_and_the_engine_turns_not_ready():
    async def run():
        engine = _engine(cache_size=0, request_timeout_s=30)
        async with engine:
            scheduler = engine.scheduler_of()
            gate = threading.Event()
            real_run = scheduler.model.run

            def slow_run(*a):
                gate.wait(10)
                return real_run(*a)

            scheduler.model.run = slow_run  # type: ignore[method-assign]
            first = asyncio.ensure_future(engine.rerank(RerankQuery("q", _texts(3))))
            await asyncio.sleep(0.05)  # the first batch is running, more sequences wait in the pool

            def broken() -> list:
                raise RuntimeError("a bug in the loop")

            scheduler._next_batch = broken  # type: ignore[method-assign]
            second = asyncio.ensure_future(engine.rerank(RerankQuery("other", _texts(3, "x"))))
            await asyncio.sleep(0.05)
            gate.set()
            results = await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), 10)
            failure = await asyncio.wait_for(engine.wait_failed(), 1)
            with pytest.raises(ModelUnavailable):
                await engine.rerank(RerankQuery("later", _texts(1)))
            return results, failure, engine.ready

    results, failure, ready = asyncio.run(run())
    assert isinstance(failure, RuntimeError)
    assert not ready
    # the first request was answered or failed with UNAVAILABLE, never left to hang until the timeout
    assert all(not isinstance(r, BaseException) or isinstance(r, ModelUnavailable) for r in results)
    assert isinstance(results[1], ModelUnavailable)


def test_stop_does_not_block_the_event_loop_while_a_batch_runs():
    """stop() waits for the running batch off the loop: other coroutines keep running meanwhile."""
    ticks = [0]
    seen_at_release: list[int] = []

    async def run():
        engine = _engine(cache_size=0)
        await engine.start()
        scheduler = engine.scheduler_of()
        gate = threading.Event()
        real_run = scheduler.model.run

        def slow_run(*a):
            gate.wait(10)
            return real_run(*a)

        scheduler.model.run = slow_run  # type: ignore[method-assign]
        request = asyncio.ensure_future(engine.rerank(RerankQuery("q", _texts(2))))
        await asyncio.sleep(0.05)

        async def ticker():
            while True:
                ticks[0] += 1
                await asyncio.sleep(0.005)

        tick_task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.02)
        start_ticks = ticks[0]

        def release():
            seen_at_release.append(ticks[0])
            gate.set()

        timer = threading.Timer(0.5, release)
        timer.start()
        await engine.stop()
        tick_task.cancel()
        await asyncio.gather(request, return_exceptions=True)
        return start_ticks

    start_ticks = asyncio.run(run())
    assert seen_at_release and seen_at_release[0] > start_ticks + 5


def _reference_batches(scheduler) -> list[list[int]]:
    """The old cut (sort the whole pool per batch), as a reference for the incremental one."""
    out = []
    while scheduler._pool:
        pool = sorted(scheduler._pool.values(), key=lambda e: (e.length, e.order))
        oldest = min((job for e in pool for job, _ in e.waiters), key=lambda j: j.submitted_ns)
        start = next(i for i, e in enumerate(pool) if any(job is oldest for job, _ in e.waiters))
        batch = pool[start:start + scheduler._batch_length([e.length for e in pool[start:start + scheduler.max_batch_size]])]
        for e in batch:
            scheduler._remove(e)
        out.append([e.order for e in batch])
    return out


def test_next_batch_cuts_like_the_sorted_pool_without_sorting(monkeypatch):
    from toolrank.engine import scheduler as scheduler_module
    from toolrank.engine.pairs import Sequence
    from toolrank.engine.scheduler import BatchScheduler, _Entry, _Job

    rng = np.random.default_rng(7)

    def fill(s: BatchScheduler) -> None:
        loop = asyncio.new_event_loop()
        for j in range(12):
            seqs = [Sequence(tuple(int(x) for x in rng.integers(5, 999, size=int(rng.integers(3, 120)))), 1)
                    for _ in range(int(rng.integers(1, 9)))]
            job = _Job(seqs, loop.create_future(), j, remaining=len(seqs))
            s._jobs[job] = None
            for i, seq in enumerate(seqs):
                entry = s._pool.get(seq) or s._add(_Entry(seq, next(s._order)))
                entry.waiters.append((job, i))
        loop.close()

    model = LoadedModel(TINY / "tiny-bert-bi", threads=1)
    state = rng.bit_generator.state
    a = BatchScheduler(model, 512, 16)
    fill(a)
    expected = _reference_batches(a)
    rng.bit_generator.state = state
    b = BatchScheduler(model, 512, 16)
    fill(b)

    def no_sort(*args, **kwargs):
        raise AssertionError("the whole pool was sorted")

    monkeypatch.setattr(scheduler_module, "sorted", no_sort, raising=False)
    got = []
    while b._pool:
        batch = b._next_batch()
        got.append([e.order for e in batch])
        for e in batch:  # answered: its requests stop waiting, as after a real run
            for job, _ in e.waiters:
                job.remaining -= 1
        for job in [j for j in b._jobs if j.remaining <= 0]:
            b._jobs.pop(job)
    assert got == expected and len(expected) > 3
    assert b.queued_tokens == 0


# -- 5. usage does not depend on cache state ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny-bert-bi", "tiny-bert-cross"])
def test_usage_is_the_same_cold_and_warm(name):
    long_doc = "word " * 400  # over every tiny model's length: truncated / windowed
    query = "a long query " * 200  # capped for the cross-encoder, cut for the bi-encoder
    cands = (*_texts(3), Candidate(TextInput(long_doc)), Candidate(ToolInput('{"name": "get_weather"}')))

    async def run():
        async with _engine(name) as engine:
            cold = await engine.rerank(RerankQuery(query, cands))
            warm = await engine.rerank(RerankQuery(query, cands))
            return cold.usage, warm.usage

    cold, warm = asyncio.run(run())
    assert dataclasses.replace(cold, cache_hits=0) == dataclasses.replace(warm, cache_hits=0)
    assert cold.cache_hits == 0 and warm.cache_hits == len(cands)
    assert cold.truncated == 2  # the long candidate and the query
    assert cold.windows >= len(cands) + (1 if name.endswith("bi") else 0)


# -- 6. the normalized-text cache key covers every option ------------------------------------------------------


def _other(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple):
        return (*value, "x")
    raise AssertionError(f"add a case for {type(value).__name__}")


def test_normalized_cache_key_covers_every_normalize_option():
    engine = _engine()
    item = ToolInput('{"name": "get_weather", "description": "weather now"}')
    _, hit = engine.normalize_one(item)
    assert not hit and engine.normalize_one(item)[1]
    for f in dataclasses.fields(NormalizeOptions):
        engine._options = dataclasses.replace(NormalizeOptions(), **{f.name: _other(getattr(NormalizeOptions(), f.name))})
        assert engine.normalize_one(item)[1] is False, f"option {f.name} is not in the cache key"
        engine._options = NormalizeOptions()


# -- 8. bi-encoder scores in [0, 1] -----------------------------------------------------------------------------------


def test_bi_encoder_scores_are_cosine_mapped_into_unit_range_and_raw_keeps_the_cosine():
    cands = _texts(12) + tuple(Candidate(TextInput(t)) for t in ("zzz qqq", "!!!", "the weather today"))

    async def run():
        async with _engine() as engine:
            model = engine.served("").model
            marker = model.tokenize(["zzz qqq"])[0][0]
            real_run = model.run

            def opposite(ids, mask, types):  # the marked candidate points away from everything: cosine < 0
                out = real_run(ids, mask, types)
                out[(ids == marker).any(axis=1)] *= -1
                return out

            model.run = opposite
            mapped = await engine.rerank(RerankQuery("the weather in Paris", cands))
            raw = await engine.rerank(RerankQuery("the weather in Paris", cands, raw_scores=True))
            return mapped, raw

    mapped, raw = asyncio.run(run())
    by_index = {r.index: r.score for r in raw.results}
    assert min(by_index.values()) < 0
    assert all(0.0 <= r.score <= 1.0 for r in mapped.results)
    for r in mapped.results:
        assert math.isclose(r.score, (by_index[r.index] + 1) / 2, abs_tol=1e-6)
    assert [r.index for r in mapped.results] == [r.index for r in raw.results]
