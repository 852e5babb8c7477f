"""The catalogs' memory is bounded: BM25 per catalog (not one vocabulary that only grows), filter masks,
per-name locks, a negative cache for missing names, and unreferenced embeddings collected after deletes."""

from __future__ import annotations

import asyncio
import gc

import pytest

from catalog_helpers import TOOLS, data_home, text, tiny_settings  # noqa: F401 (autouse fixture)
from toolrank.catalogs import index as index_module
from toolrank.catalogs import service as service_module
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store_memory import MemoryStore
from toolrank.catalogs.types import PutCatalogRequest, SelectQuery
from toolrank.engine.engine import Engine
from toolrank.errors import CatalogNotFound


def run_with_service(body, store=None):
    async def go():
        settings = tiny_settings()
        engine = Engine.from_settings(settings)
        await engine.start()
        svc = CatalogService(engine, store or MemoryStore(), settings)
        try:
            return await body(svc)
        finally:
            await svc.aclose()
            await engine.stop()

    return asyncio.run(go())


def test_a_small_catalog_does_not_pay_for_a_big_ones_vocabulary():
    async def body(svc):
        words = [f"term{i}" for i in range(20_000)]
        big = tuple(text(f"d{i}", " ".join(words[i * 100:(i + 1) * 100])) for i in range(200))
        await svc.put(PutCatalogRequest("big", big))
        await svc.put(PutCatalogRequest("small", (text("one", "send an email"),)))
        small = svc.loaded()["small"]
        picked = await svc.select(SelectQuery("small", "email", scoring="bm25"))
        return len(small.vocab), small.bm25.nbytes, picked.results[0].id

    vocab, nbytes, top = run_with_service(body)
    assert vocab < 10 and nbytes < 1000 and top == "one"  # main: one 8-byte pointer per term ever seen


def test_a_catalogs_vocabulary_starts_afresh_when_mostly_stale(monkeypatch):
    monkeypatch.setattr(service_module, "VOCAB_SLACK", 0)

    async def body(svc):
        sizes = []
        for r in range(6):
            docs = tuple(text(f"d{i}", f"round{r} word{r}x{i} other{r}y{i}") for i in range(20))
            await svc.put(PutCatalogRequest("c", docs, replace=True))
            index = svc.loaded()["c"]
            sizes.append((len(index.vocab), index.bm25.terms_present))
        picked = await svc.select(SelectQuery("c", "word5x3", scoring="bm25", top_k=1))
        return sizes, picked.results[0].id

    sizes, top = run_with_service(body)
    assert all(vocab <= 2 * present + present for vocab, present in sizes), sizes
    assert top == "d3"


def test_filter_masks_are_bounded_in_bytes(monkeypatch):
    monkeypatch.setattr(index_module, "FILTER_MASK_BYTES", 64)

    async def body(svc):
        docs = tuple(text(f"d{i}", f"doc {i}", team=f"t{i % 5}") for i in range(20))
        await svc.put(PutCatalogRequest("c", docs))
        for i in range(50):
            out = await svc.select(SelectQuery("c", "doc", filter={"team": f"t{i % 5}", "n": str(i)}))
            assert out.results == ()
        picked = await svc.select(SelectQuery("c", "doc", filter={"team": "t1"}, top_k=20))
        masks = svc.loaded()["c"]._filters
        return masks.nbytes, len(masks), sorted(h.id for h in picked.results)

    nbytes, count, ids = run_with_service(body)
    assert nbytes <= 64 and count <= 3
    assert ids == sorted(f"d{i}" for i in range(1, 20, 5))


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    def load(self, name):  # type: ignore[no-untyped-def]
        self.loads += 1
        return super().load(name)


def test_missing_names_leave_no_lock_and_are_answered_from_a_negative_cache():
    store = CountingStore()

    async def body(svc):
        for i in range(300):
            with pytest.raises(CatalogNotFound):
                await svc.select(SelectQuery(f"missing-{i}", "q"))
        for _ in range(20):
            with pytest.raises(CatalogNotFound):
                await svc.select(SelectQuery("missing-0", "q"))
        gc.collect()
        locks, loads = len(svc._locks), store.loads
        await svc.put(PutCatalogRequest("missing-0", (text("a", "alpha"),)))  # a put clears the negative entry
        found = await svc.select(SelectQuery("missing-0", "alpha"))
        return locks, loads, [h.id for h in found.results]

    locks, loads, found = run_with_service(body, store)
    assert locks == 0
    assert loads == 300  # the 20 repeats of one missing name cost no store round trip
    assert found == ["a"]


def test_deleting_a_catalog_collects_its_embeddings_one_interval_later():
    store = MemoryStore()

    async def body(svc):
        await svc.put(PutCatalogRequest("a", tuple(TOOLS)))
        await svc.put(PutCatalogRequest("b", tuple(TOOLS[:2])))
        before = store.embeddings_stored()
        await svc.delete("a")  # starts a collection in the background: it only marks what is unreferenced
        if svc._collecting is not None:
            await svc._collecting
        marked = store.embeddings_stored()
        await svc.put(PutCatalogRequest("c", (TOOLS[2],)))  # one of a's texts is referenced again
        gone = await svc.collect_embeddings()  # the next collection drops what stayed unreferenced
        return before, marked, gone, store.embeddings_stored()

    before, marked, gone, after = run_with_service(body, store)
    assert (before, marked) == (len(TOOLS), len(TOOLS))
    assert gone == len(TOOLS) - 3 and after == 3
