"""Correctness under change: one version per Select, serialized puts, deletes while selects run."""

from __future__ import annotations

import asyncio

from catalog_helpers import data_home, text, tiny_settings  # noqa: F401 (data_home: autouse fixture)
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.types import PutCatalogRequest, SelectQuery
from toolrank.engine.engine import Engine
from toolrank.errors import CatalogNotFound

SET_A = tuple(text(f"a{i}", f"apple orchard note {i} with fruit and trees") for i in range(30))
SET_B = tuple(text(f"b{i}", f"bicycle repair manual {i} for wheels and chains") for i in range(30))


async def _service(url: str = "memory://"):
    settings = tiny_settings(store=url)
    engine = Engine.from_settings(settings)
    await engine.start()
    return engine, CatalogService(engine, open_store(url), settings)


def test_each_select_sees_one_whole_version_while_replaces_interleave():
    async def go():
        engine, svc = await _service()
        first = await svc.put(PutCatalogRequest("c", SET_A, replace=True))
        version_set = {first.version: "a"}
        stop = asyncio.Event()

        async def writer():
            for i in range(8):
                which = "b" if i % 2 == 0 else "a"
                # a changed text each round, so every replace embeds and yields to the selects
                batch = tuple(text(c.id, f"{c.content.text} round {i}") for c in (SET_B if which == "b" else SET_A))
                out = await svc.put(PutCatalogRequest("c", batch, replace=True))
                version_set[out.version] = which
            stop.set()

        seen = []

        async def reader():
            while not stop.is_set():
                picked = await svc.select(SelectQuery("c", "notes and manuals", top_k=30))
                seen.append(picked)
                await asyncio.sleep(0)

        await asyncio.gather(writer(), *(reader() for _ in range(4)))
        assert len(seen) > 8
        kinds = set()
        for picked in seen:
            prefixes = {h.id[0] for h in picked.results}
            assert len(picked.results) == 30 and len(prefixes) == 1, "a select mixed two versions"
            assert version_set[picked.version] == prefixes.pop()
            kinds.add(version_set[picked.version])
        assert kinds == {"a", "b"}  # selects really ran across the changes
        await svc.aclose()
        await engine.stop()

    asyncio.run(go())


def test_concurrent_puts_to_one_catalog_serialize(tmp_path):
    async def go():
        engine, svc = await _service(f"sqlite:///{tmp_path}/c.sqlite3")
        await svc.put(PutCatalogRequest("c", (text("base", "base entry"),)))
        # two services on one store stand for two replicas writing at once
        other = CatalogService(engine, open_store(f"sqlite:///{tmp_path}/c.sqlite3"), svc.settings)
        puts = [(svc if i % 2 else other).put(PutCatalogRequest("c", (text(f"w{i}", f"writer {i} entry"),)))
                for i in range(10)]
        outs = await asyncio.gather(*puts)
        versions = [o.version for o in outs]
        assert len(set(versions)) == 10
        assert all(o.added == 1 for o in outs)
        info = await svc.get("c")
        assert info.size == 11 and info.version == max(versions)
        await svc.refresh()
        picked = await svc.select(SelectQuery("c", "entry", top_k=20))
        assert len(picked.results) == 11
        await other.aclose()
        await svc.aclose()
        await engine.stop()

    asyncio.run(go())


def test_delete_while_selects_run_ends_them_cleanly():
    async def go():
        engine, svc = await _service()
        out = await svc.put(PutCatalogRequest("c", SET_A))

        async def select():
            try:
                picked = await svc.select(SelectQuery("c", "apple fruit", top_k=5))
            except CatalogNotFound:
                return "gone"
            assert picked.version == out.version and len(picked.results) == 5
            return "ok"

        tasks = [asyncio.create_task(select()) for _ in range(30)]
        await asyncio.sleep(0)  # let some start (they hold the snapshot) before the delete
        await svc.delete("c")
        tasks += [asyncio.create_task(select()) for _ in range(5)]
        results = await asyncio.gather(*tasks)  # anything but "ok"/"gone" would raise here
        assert results[-5:] == ["gone"] * 5 and "ok" in results
        await svc.aclose()
        await engine.stop()

    asyncio.run(go())
