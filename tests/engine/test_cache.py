"""The engine's budgeted caches: order, bounds, counters, and safety when executor threads share them."""

from __future__ import annotations

import random
import sys
import threading

import pytest

from toolrank.engine.cache import content_key
from toolrank.engine.memory import MemoryBudget


def test_least_recently_used_goes_first():
    cache = MemoryBudget(1 << 20).cache("t", max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2
    assert cache.stats() == (3, 1, 2)


def test_capacity_zero_stores_nothing_and_counts_misses():
    cache = MemoryBudget(0).cache("t")
    cache.put("a", 1)
    assert cache.get("a") is None and len(cache) == 0 and cache.stats() == (0, 1, 0)


def test_content_key_is_unambiguous():
    assert content_key("ab", "c") != content_key("a", "bc")
    assert content_key("x") == content_key("x") and len(content_key("x")) == 16


@pytest.fixture
def tiny_switch_interval():
    """Switch threads as often as the interpreter can, so that races show up in a short test."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_threads_sharing_a_tiny_cache_never_fail_and_lose_no_count(tiny_switch_interval):
    """8 threads, capacity 8, 10 keys at random: hits and evictions interleave constantly.

    Before the lock, ``get`` (lookup, then move_to_end) raised KeyError when another
    thread evicted the key in between, and ``hits += 1`` lost updates.
    """
    cache = MemoryBudget(1 << 20).cache("t", max_entries=8)
    errors: list[BaseException] = []
    rounds = 20000

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(rounds):
            key = rnd.randrange(10)
            try:
                if cache.get(key) is None:
                    cache.put(key, key)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    hits, misses, entries = cache.stats()
    assert hits + misses == 8 * rounds
    assert entries == 8
    assert all(cache.get(k) in (None, k) for k in range(10))
