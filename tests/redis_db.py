"""A Redis database of this test run's own on the machine's Redis, never a hard-coded number.

Several runs share the machine's Redis (other checkouts, pytest-xdist workers): each claims an
empty database (1-15; 0 is left to people) with ``SET test-claim <owner> NX EX``, so two
runs never pick the same one, and only the database it claimed is ever flushed. The claim expires
on its own if a run dies.
"""

from __future__ import annotations

import os
import uuid

HOST = os.environ.get("TOOLRANK_TEST_REDIS_HOST", "127.0.0.1:6379")
CLAIM_KEY = "test-claim"  # outside the store's toolrank: keys
CLAIM_SECONDS = 3 * 3600


def claim_db(redis_module, host: str = HOST) -> tuple[str, object] | None:  # type: ignore[no-untyped-def]
    """(url, client) of a database this run now owns, emptied; None when no Redis answers or none is free."""
    owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    for db in range(1, 16):
        client = redis_module.Redis.from_url(f"redis://{host}/{db}", socket_connect_timeout=1)
        try:
            if client.dbsize() == 0 and client.set(CLAIM_KEY, owner, nx=True, ex=CLAIM_SECONDS):
                return f"redis://{host}/{db}", client
        except redis_module.exceptions.ConnectionError:
            client.close()
            return None
        client.close()
    return None


def release_db(client) -> None:  # type: ignore[no-untyped-def]
    """Empty the claimed database (the claim goes with it)."""
    client.flushdb()
    client.close()
