"""A bounded LRU map keyed by content hash, with hit/miss counters."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

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
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        value = self._data.get(key)
        if value is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Hashable, value: V) -> None:
        if self.capacity == 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
