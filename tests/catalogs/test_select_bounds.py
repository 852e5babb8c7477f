"""Select bounds and versions: top_k bounded, an unchanged re-put keeps its version, refresh reloads only a
newer version, and a replica that does not serve a catalog's model answers FAILED_PRECONDITION."""

from __future__ import annotations

import asyncio

import pytest

from catalog_helpers import TINY_BI, TINY_CROSS, TOOLS, data_home, text, tiny_settings  # noqa: F401 (autouse fixture)
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import CatalogRecord, open_store
from toolrank.catalogs.types import PutCatalogRequest, SelectQuery
from toolrank.engine.engine import Engine
from toolrank.errors import InvalidRequest, ModelNotServed, status_of


async def _service(settings, store=None):
    engine = Engine.from_settings(settings)
    await engine.start()
    return engine, CatalogService(engine, store or open_store(settings.store), settings)


async def _close(engine, svc):
    await svc.aclose()
    await engine.stop()


def test_top_k_is_bounded():
    async def go():
        settings = tiny_settings()
        engine, svc = await _service(settings)
        try:
            await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
            limit = settings.limits.max_candidates
            assert len((await svc.select(SelectQuery("c", "email", top_k=limit))).results) == len(TOOLS)
            with pytest.raises(InvalidRequest, match="top_k: must be between 0 and"):
                await svc.select(SelectQuery("c", "email", top_k=limit + 1))
            with pytest.raises(InvalidRequest, match="top_k"):
                await svc.select(SelectQuery("c", "email", top_k=10**9))
        finally:
            await _close(engine, svc)

    asyncio.run(go())


def test_unchanged_reput_keeps_its_version():
    async def go():
        engine, svc = await _service(tiny_settings())
        try:
            first = await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
            index = svc.loaded()["c"]
            again = await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
            assert again.version == first.version and (again.added, again.updated, again.deleted) == (0, 0, 0)
            assert svc.loaded()["c"] is index  # not rebuilt
            replaced = await svc.put(PutCatalogRequest("c", tuple(TOOLS), replace=True))
            assert replaced.version == first.version
            partial = await svc.put(PutCatalogRequest("c", tuple(TOOLS[:2])))  # upsert of unchanged ids
            assert partial.version == first.version and partial.size == len(TOOLS)
            changed = await svc.put(PutCatalogRequest("c", (text(TOOLS[0].id, "something else"),)))
            assert changed.version > first.version and changed.updated == 1
            shrunk = await svc.put(PutCatalogRequest("c", tuple(TOOLS[1:]), replace=True))
            assert shrunk.version > changed.version and shrunk.size == len(TOOLS) - 1
        finally:
            await _close(engine, svc)

    asyncio.run(go())


def test_refresh_reloads_only_a_newer_version():
    async def go():
        settings = tiny_settings()
        store = open_store("memory://")
        engine, svc = await _service(settings, store)
        try:
            await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
            held = svc.loaded()["c"]
            loads = []
            real_catalogs, real_load = store.catalogs, store.load

            def lagging_catalogs():  # a store answer older than what we hold (e.g. a lagging read replica)
                return {n: CatalogRecord(n, r.version - 1, r.size, r.model) for n, r in real_catalogs().items()}

            def counting_load(name):
                loads.append(name)
                return real_load(name)

            store.catalogs, store.load = lagging_catalogs, counting_load
            await svc.refresh()
            assert loads == [] and svc.loaded()["c"] is held
            store.catalogs = lambda: {n: CatalogRecord(n, r.version + 1, r.size, r.model)
                                      for n, r in real_catalogs().items()}
            await svc.refresh()
            assert loads == ["c"]
        finally:
            await _close(engine, svc)

    asyncio.run(go())


def test_replica_without_the_catalogs_model_answers_failed_precondition(tmp_path):
    async def go():
        url = f"sqlite:///{tmp_path}/c.sqlite3"
        writer_engine, writer = await _service(tiny_settings(TINY_BI, TINY_CROSS, store=url))
        await writer.put(PutCatalogRequest("c", tuple(TOOLS)))
        await _close(writer_engine, writer)
        # a replica serving only the cross-encoder: it cannot embed queries for this catalog
        engine, svc = await _service(tiny_settings(TINY_CROSS, store=url))
        try:
            with pytest.raises(ModelNotServed, match="tiny-bi") as err:
                await svc.select(SelectQuery("c", "send an email"))
            assert status_of(err.value) == ("FAILED_PRECONDITION", 400)
            assert svc.embedded_texts == 0  # loading it embedded nothing with a model it lacks
        finally:
            await _close(engine, svc)

    asyncio.run(go())
