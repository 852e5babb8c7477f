"""A bounded LRU map keyed by content hash, with hit/miss counters, safe to share between threads.

Normalization and tokenization run in executor threads while the event loop
reads and fills the same caches, so every lookup, insert, eviction and counter
update happens under one lock (``cachetools.LRUCache`` keeps the order; it is
not thread-safe by itself).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Generic, Hashable, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


def content_key(*parts: str) -> bytes:
    """A 16-byte digest of the parts (unambiguous: each part is length-prefixed)."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        data = p.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


class LruCache(Generic[V]):
    """Least-recently-used cache holding at most ``capacity`` entries (0 disables it)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(0, capacity)
        self._data: LRUCache[Hashable, V] | None = LRUCache(maxsize=self.capacity) if self.capacity else None
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._data.get(key) if self._data is not None else None
            if value is None:
                self._misses += 1
            else:
                self._hits += 1
            return value

    def put(self, key: Hashable, value: V) -> None:
        if self._data is None:
            return
        with self._lock:
            self._data[key] = value

    def values(self) -> list[V]:
        """A snapshot of the entries, least recently used first (for memory accounting)."""
        with self._lock:
            return list(self._data.values()) if self._data is not None else []

    @property
    def hits(self) -> int:
        return self._hits

    @property
    def misses(self) -> int:
        return self._misses

    def stats(self) -> tuple[int, int, int]:
        """(hits, misses, entries), read together."""
        with self._lock:
            return self._hits, self._misses, len(self._data) if self._data is not None else 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._data) if self._data is not None else 0
