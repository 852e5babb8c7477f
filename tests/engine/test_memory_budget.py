"""Memory bounded in bytes: one budget shared by the normalized-text, token-id and embedding caches, each
entry weighed by its real size, token ids kept only up to what a bi-encoder reads."""

from __future__ import annotations

import asyncio
import sys

import numpy as np

from conftest import TINY
from toolrank.engine.engine import Engine
from toolrank.engine.memory import ENTRY_OVERHEAD, MemoryBudget, weigh
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput


def test_the_caches_share_one_budget_in_bytes():
    budget = MemoryBudget(200_000)
    vectors, texts = budget.cache("embeddings"), budget.cache("normalized")
    for i in range(200):
        vectors.put(i, np.zeros(256, np.float32))  # ~1.4 KB each
        texts.put(i, "x" * 4000)  # ~4.3 KB each
        assert budget.used <= 200_000
    assert 0 < len(vectors) < 200 and 0 < len(texts) < 200
    assert budget.used == vectors.nbytes + texts.nbytes
    assert texts.get(199) is not None and vectors.get(199) is not None  # the most recent stay
    assert texts.get(0) is None and vectors.get(0) is None  # the oldest went, from both caches


def test_entries_are_weighed_by_what_they_keep_alive():
    batch = np.zeros((64, 384), np.float32)
    assert weigh(batch[0]) > batch.nbytes  # a view pins its whole batch
    assert weigh(batch[0].copy()) < 384 * 4 + 200
    assert weigh("é" * 1000) == sys.getsizeof("é" * 1000)
    assert weigh(tuple(range(1000, 1100))) > 100 * 28  # Python ints beyond the small-int cache


def test_a_too_big_entry_is_not_cached():
    budget = MemoryBudget(100_000)
    cache = budget.cache("t")
    cache.put("big", "x" * 50_000)
    assert cache.get("big") is None and budget.used == 0
    cache.put("ok", "x" * 1000)
    assert budget.used == weigh("x" * 1000) + ENTRY_OVERHEAD


def test_the_engine_stays_under_its_budget_with_large_distinct_candidates():
    budget_mb = 1

    async def go():
        model = LoadedModel(TINY / "tiny-bert-bi", threads=1)
        settings = Settings(cache_memory_mb=budget_mb, threads=1)
        async with Engine(settings, [model]) as engine:
            long_text = " ".join(f"word{j}" for j in range(600))  # far past the tiny model's window
            for r in range(12):
                docs = tuple(Candidate(TextInput(f"candidate {r}-{i}: {long_text}")) for i in range(16))
                await engine.rerank(RerankQuery(f"query {r}", docs))
                assert engine.memory.used <= budget_mb * 2**20
            served = engine.served("")
            ids = served.token_cache.values()
            return engine.memory.used, [len(x) for x in ids], served.spec.max_length, engine.cache_stats()

    used, id_lengths, max_length, stats = asyncio.run(go())
    assert used > budget_mb * 2**20 * 0.8  # it was filled, and held to the budget
    assert id_lengths and max(id_lengths) <= max_length + 1  # only what the model reads (+1: it was cut)
    assert all(entries > 0 for _h, _m, entries in stats.values())  # every cache holds some
