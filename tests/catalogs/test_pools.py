"""Isolated bounded pools: a store that hangs cannot starve a Rerank; big puts convert and validate off the
event loop; aclose() never blocks the loop. Nothing is timed: each test holds work with a gate."""

from __future__ import annotations

import asyncio
import threading
import time

from catalog_helpers import TINY_BI, data_home, text, tiny_settings  # noqa: F401 (autouse fixture)
from toolrank.catalogs import service as service_module
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store_memory import MemoryStore
from toolrank.catalogs.types import PutCatalogRequest
from toolrank.engine.engine import Engine
from toolrank.types import Candidate, RerankQuery, TextInput


class HangingStore(MemoryStore):
    """``catalogs()`` blocks until the gate opens (a store that stopped answering); ``close()`` is slow."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.hanging = 0

    def catalogs(self):  # type: ignore[no-untyped-def]
        self.hanging += 1
        self.gate.wait(60)
        return super().catalogs()

    def close(self) -> None:
        time.sleep(0.3)
        super().close()


def test_a_hanging_store_does_not_starve_a_rerank():
    async def go():
        settings = tiny_settings()
        engine = Engine.from_settings(settings)
        await engine.start()
        store = HangingStore()
        svc = CatalogService(engine, store, settings)
        stuck = [asyncio.ensure_future(svc.list()) for _ in range(32)]  # more than any default executor
        while store.hanging < 6:  # asyncio's default executor on 2 cores has 6 threads
            await asyncio.sleep(0.01)
        docs = tuple(Candidate(TextInput(f"document number {i} about the weather")) for i in range(8))
        try:
            # answered while every store thread is stuck (on main these shared asyncio's default executor)
            out = await asyncio.wait_for(engine.rerank(RerankQuery("weather", docs)), 20)
            assert len(out.results) == 8 and not any(t.done() for t in stuck)
        finally:
            store.gate.set()
            await asyncio.gather(*stuck)
            await svc.aclose()
            await engine.stop()

    asyncio.run(go())


def test_aclose_never_blocks_the_loop():
    async def go():
        settings = tiny_settings()
        engine = Engine.from_settings(settings)
        await engine.start()
        store = HangingStore()
        store.gate.set()
        svc = CatalogService(engine, store, settings)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        await svc.aclose()  # the store's close takes 0.3 s: the loop must keep running meanwhile
        during = ticks
        task.cancel()
        await engine.stop()
        return during

    assert asyncio.run(go()) >= 3


def test_a_big_put_is_validated_off_the_event_loop(monkeypatch):
    seen: list[str] = []
    real = service_module.validate_candidates

    def spy(candidates, limits):  # type: ignore[no-untyped-def]
        seen.append(threading.current_thread().name)
        return real(candidates, limits)

    monkeypatch.setattr(service_module, "validate_candidates", spy)

    async def go():
        settings = tiny_settings(TINY_BI)
        engine = Engine.from_settings(settings)
        await engine.start()
        svc = CatalogService(engine, MemoryStore(), settings)
        try:
            big = tuple(text(f"id{i}", f"entry {i}") for i in range(service_module.OFF_LOOP_CANDIDATES + 1))
            await svc.put(PutCatalogRequest("big", big))
            await svc.put(PutCatalogRequest("small", big[:3]))
        finally:
            await svc.aclose()
            await engine.stop()
        return threading.current_thread().name

    loop_thread = asyncio.run(go())
    assert seen[0] != loop_thread and seen[0].startswith("toolrank-cpu")
    assert seen[1] == loop_thread  # small puts stay inline (no thread hop)
