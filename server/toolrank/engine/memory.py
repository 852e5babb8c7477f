"""One memory budget, in bytes, shared by the engine's caches (normalized text, token ids, embeddings).

Why bytes and not entries: a cache of 50,000 entries holds 50,000 short tool schemas in a few MiB, or
50,000 16 KiB documents in gigabytes. Every entry here is weighed by what it really keeps alive (its
value's buffers and Python objects, its key, the LRU's bookkeeping), and all the caches draw on one
budget (``--cache-memory-mb``): one least-recently-used order across them, so whichever cache is hot
keeps its entries and the total never passes the budget.

Each :class:`BudgetedCache` is a view of the shared LRU under its own namespace, with its own hit/miss
counters and entry count. Thread-safe: one lock for the shared LRU (the caches are read and filled from worker threads).
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections import Counter, OrderedDict
from typing import Any, Callable, Generic, Hashable, TypeVar

import numpy as np

V = TypeVar("V")

# Per entry beyond its value: the 16-byte key object (49 bytes), the (namespace, key) tuple, and the
# LRU's dict entries and order bookkeeping (an OrderedDict entry with its links: about 200 bytes).
ENTRY_OVERHEAD = 300


def weigh(value: Any) -> int:
    """Bytes a cached value keeps alive (not counting objects shared with others, like small ints)."""
    if isinstance(value, np.ndarray):
        if value.base is None:
            return sys.getsizeof(value)  # header and its own buffer
        owner = value.base  # a view keeps its whole base alive
        return sys.getsizeof(value) + (owner.nbytes if isinstance(owner, np.ndarray) else value.nbytes)
    if isinstance(value, array):
        return sys.getsizeof(value)  # header + buffer
    if isinstance(value, (bytes, str)):
        return sys.getsizeof(value)
    if isinstance(value, tuple):
        return sys.getsizeof(value) + sum(weigh(v) for v in value if not (isinstance(v, int) and -5 <= v <= 256))
    if isinstance(value, (int, float, bool)) or value is None:
        return sys.getsizeof(value)
    slots = getattr(type(value), "__slots__", None)
    if slots is not None or hasattr(value, "__dict__"):  # a dataclass such as Normalized: its fields
        names = slots if slots is not None else vars(value)
        return sys.getsizeof(value) + sum(weigh(getattr(value, n, None)) for n in names)
    return sys.getsizeof(value)


class _SharedLru:
    """An LRU of (namespace, key) -> (value, bytes), bounded by the sum of bytes; counts per namespace.

    Written out (an OrderedDict) rather than cachetools' LRUCache: eviction of one namespace's oldest
    entry (``max_entries``) needs the LRU order, which cachetools keeps private.
    """

    def __init__(self, budget: int) -> None:
        self.maxsize = budget
        self.currsize = 0
        self._data: OrderedDict[Any, tuple[Any, int]] = OrderedDict()  # least recently used first
        self.entries: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()

    def get(self, key: Any) -> tuple[Any, int] | None:
        found = self._data.get(key)
        if found is not None:
            self._data.move_to_end(key)
        return found

    def set(self, key: Any, value: Any, size: int) -> None:
        self.pop(key)
        while self._data and self.currsize + size > self.maxsize:
            self.pop(next(iter(self._data)))
        self._data[key] = (value, size)
        self.currsize += size
        self.entries[key[0]] += 1
        self.bytes[key[0]] += size

    def pop(self, key: Any) -> None:
        found = self._data.pop(key, None)
        if found is not None:
            self.currsize -= found[1]
            self.entries[key[0]] -= 1
            self.bytes[key[0]] -= found[1]

    def oldest_of(self, namespace: str) -> Any:
        return next((k for k in self._data if k[0] == namespace), None)

    def items(self) -> list[tuple[Any, tuple[Any, int]]]:
        return list(self._data.items())


class MemoryBudget:
    """``budget_bytes`` shared by every cache made with :meth:`cache` (0 disables them all)."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = max(0, int(budget_bytes))
        self._lru = _SharedLru(self.budget) if self.budget else None
        self.lock = threading.Lock()

    def cache(self, namespace: str, weigher: Callable[[Any], int] = weigh, max_entries: int = 0) -> "BudgetedCache[Any]":
        return BudgetedCache(self, namespace, weigher, max_entries)

    @property
    def used(self) -> int:
        """Bytes the caches hold now (values, keys and bookkeeping, as weighed)."""
        with self.lock:
            return self._lru.currsize if self._lru is not None else 0

    def used_by(self, namespace: str) -> int:
        with self.lock:
            return self._lru.bytes[namespace] if self._lru is not None else 0


class BudgetedCache(Generic[V]):
    """One cache's view of a :class:`MemoryBudget` ."""

    def __init__(self, budget: MemoryBudget, namespace: str, weigher: Callable[[Any], int],
                 max_entries: int = 0) -> None:
        self.budget = budget
        self.namespace = namespace
        self.weigher = weigher
        self.max_entries = max_entries  # 0: only the byte budget bounds it
        self.capacity = budget.budget  # bytes : 0 means off
        self._hits = 0
        self._misses = 0

    def get(self, key: Hashable) -> V | None:
        lru = self.budget._lru
        with self.budget.lock:
            found = lru.get((self.namespace, key)) if lru is not None else None
            if found is None:
                self._misses += 1
                return None
            self._hits += 1
            return found[0]  # type: ignore[no-any-return]

    def put(self, key: Hashable, value: V) -> None:
        lru = self.budget._lru
        if lru is None:
            return
        size = self.weigher(value) + ENTRY_OVERHEAD
        if size > self.budget.budget // 4:  # one entry never pushes out a quarter of everything else
            return
        with self.budget.lock:
            lru.set((self.namespace, key), value, size)  # evicts the least recently used of any cache first
            if self.max_entries and lru.entries[self.namespace] > self.max_entries:
                lru.pop(lru.oldest_of(self.namespace))

    def values(self) -> list[V]:
        lru = self.budget._lru
        with self.budget.lock:
            return [v[0] for k, v in lru.items() if k[0] == self.namespace] if lru is not None else []

    @property
    def hits(self) -> int:
        return self._hits

    @property
    def misses(self) -> int:
        return self._misses

    @property
    def nbytes(self) -> int:
        return self.budget.used_by(self.namespace)

    def stats(self) -> tuple[int, int, int]:
        with self.budget.lock:
            entries = self.budget._lru.entries[self.namespace] if self.budget._lru is not None else 0
            return self._hits, self._misses, entries

    def __len__(self) -> int:
        return self.stats()[2]
