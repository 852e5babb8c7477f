"""Content keys for the engine's and the catalogs' caches and stores.

The caches themselves share one memory budget in bytes (:mod:`toolrank.engine.memory`).
"""

from __future__ import annotations

import hashlib


def content_key(*parts: str) -> bytes:
    """A 16-byte digest of the parts (unambiguous: each part is length-prefixed)."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        data = p.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()
