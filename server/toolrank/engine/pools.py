"""Bounded thread pools of their own for each kind of blocking work, so that one kind cannot starve another.

asyncio's default executor is one pool for everything (6 threads on 2 cores): with a slow catalog store,
six blocked store calls left no thread for a Rerank's normalization, and a 1.7 ms Rerank took 3.9 s. Here

* ``cpu``: normalization, tokenization, fusion, large request conversion and validation (threads = cores:
  the work holds the GIL often enough that more threads only queue);
* ``store``: catalog store I/O (Redis, SQLite): waits on the network or the disk, so more threads than
  cores, but bounded: a store that hangs ties up its own pool only;
* ``build``: catalog index builds (BM25 counts, matrices): big, rare, and never in front of a Rerank.

Each call keeps the caller's context variables (as ``asyncio.to_thread`` does), so tracing spans follow.
``shutdown()`` never blocks the event loop: it does not wait for threads that are still running.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class Pools:
    """The engine's three pools (shared by the catalogs layer, which runs on the same engine)."""

    def __init__(self, cpu_workers: int = 0, store_workers: int = 8, build_workers: int = 1) -> None:
        cores = os.cpu_count() or 2
        self.sizes = {"cpu": cpu_workers or max(2, cores), "store": max(1, store_workers),
                      "build": max(1, build_workers)}
        self._executors = {name: ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"toolrank-{name}")
                           for name, size in self.sizes.items()}
        self.closed = False

    async def cpu(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._run("cpu", fn, args)

    async def store(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._run("store", fn, args)

    async def build(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._run("build", fn, args)

    async def _run(self, pool: str, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        # after shutdown (a store closed after the engine stopped): a thread of asyncio's, never the loop
        return await loop.run_in_executor(None if self.closed else self._executors[pool], call)

    def shutdown(self) -> None:
        """Stop taking work; running calls finish on their own threads (never waited for on the loop)."""
        self.closed = True
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
