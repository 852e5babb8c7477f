"""The Redis catalog store: the Store contract, sharing between replicas, and Redis going away and coming back."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from redis_helpers import RedisServer, own_redis_fixture, redis_url_fixture  # noqa: F401 - fixtures

from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import StoredEntry, VersionConflict, open_store
from toolrank.catalogs.store_redis import RedisStore, redacted
from toolrank.catalogs.types import PutCatalogRequest, SelectQuery
from toolrank.engine.engine import Engine
from toolrank.errors import StoreUnavailable
from toolrank.settings import Settings
from toolrank.types import Candidate, TextInput, ToolInput

TINY_BI = ("tiny-bi", str(Path(__file__).resolve().parents[1] / "models" / "tiny-bert-bi"))


def entry(i: str, text: str = "") -> StoredEntry:
    text = text or f"text of {i}"
    doc = json.dumps({"id": i, "text": text})
    return StoredEntry(i, "text", doc, text, "", bytes(16), text.encode().ljust(16, b".")[:16])


# --- the store itself ---------------------------------------------------------------------------


def test_open_store_gives_a_redis_store(redis_url: str) -> None:
    store = open_store(redis_url)
    try:
        assert isinstance(store, RedisStore) and store.available()
    finally:
        store.close()


def test_commit_load_order_replace_delete(redis_url: str) -> None:
    store = RedisStore.from_url(redis_url)
    try:
        assert store.catalogs() == {} and store.load("a") is None
        r1 = store.commit("a", base_version=0, upserts=[entry("x"), entry("y"), entry("z")], delete_ids=[],
                          replace=False, model="m")
        assert (r1.size, r1.model) == (3, "m")
        r2 = store.commit("a", base_version=r1.version, upserts=[entry("y", "new y"), entry("w")], delete_ids=["x"],
                          replace=False, model="m")
        record, entries = store.load("a")
        assert record == r2 and r2.version > r1.version
        assert [(e.id, e.text) for e in entries] == [("y", "new y"), ("z", "text of z"), ("w", "text of w")]
        assert entries[0] == entry("y", "new y")  # every field back as it went in
        with pytest.raises(VersionConflict):
            store.commit("a", base_version=r1.version, upserts=[entry("v")], delete_ids=[], replace=False, model="m")
        with pytest.raises(VersionConflict):
            store.commit("a", base_version=0, upserts=[entry("v")], delete_ids=[], replace=False, model="m")
        r3 = store.commit("a", base_version=r2.version, upserts=[entry("q")], delete_ids=[], replace=True, model="m2")
        assert [e.id for e in store.load("a")[1]] == ["q"] and r3.model == "m2"
        b = store.commit("b", base_version=0, upserts=[entry("x")], delete_ids=[], replace=False, model="")
        assert b.version > r3.version  # one counter for the whole store
        assert set(store.catalogs()) == {"a", "b"}
        assert store.delete("a") and not store.delete("a")
        assert set(store.catalogs()) == {"b"} and store.load("a") is None
        again = store.commit("a", base_version=0, upserts=[entry("x")], delete_ids=[], replace=False, model="")
        assert again.version > b.version  # never reused after a delete
    finally:
        store.close()


def test_embeddings_are_shared_per_model_and_counted(redis_url: str) -> None:
    writer, reader = RedisStore.from_url(redis_url), RedisStore.from_url(redis_url)
    try:
        vectors = {bytes([i]) * 16: np.arange(4, dtype=np.float32) + i for i in range(3)}
        writer.put_embeddings("m", vectors)
        got = reader.get_embeddings("m", [bytes([i]) * 16 for i in range(5)])
        assert sorted(got) == sorted(vectors) and all(np.array_equal(got[k], vectors[k]) for k in vectors)
        assert got[bytes(16)].dtype == np.float32
        assert reader.get_embeddings("other-model", list(vectors)) == {}
        assert reader.embeddings_written() == 3
    finally:
        writer.close()
        reader.close()


def test_concurrent_commits_on_one_base_version_only_one_wins(redis_url: str) -> None:
    stores = [RedisStore.from_url(redis_url) for _ in range(4)]
    base = stores[0].commit("c", base_version=0, upserts=[entry("x")], delete_ids=[], replace=False, model="")
    outcomes: list[str] = []

    def write(i: int) -> None:
        try:
            stores[i].commit("c", base_version=base.version, upserts=[entry(f"n{i}")], delete_ids=[],
                             replace=False, model="")
            outcomes.append("ok")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
    assert stores[0].load("c")[0].size == 2
    for s in stores:
        s.close()


def test_watch_hears_another_replicas_commit(redis_url: str) -> None:
    writer, watcher = RedisStore.from_url(redis_url), RedisStore.from_url(redis_url)
    heard = threading.Event()
    try:
        watcher.watch(heard.set)
        assert heard.wait(5)  # called once on connecting (catch up)
        time.sleep(0.2)
        heard.clear()
        writer.commit("w", base_version=0, upserts=[entry("x")], delete_ids=[], replace=False, model="")
        assert heard.wait(5), "no change notification"
    finally:
        writer.close()
        watcher.close()


def test_password_and_what_errors_say(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, password="s3cret-pw").start()
    try:
        good = RedisStore.from_url(server.url)
        assert good.available() and good.catalogs() == {}
        assert "s3cret-pw" not in good.url
        good.close()
        wrong = RedisStore.from_url(server.url.replace("s3cret-pw", "wrong-pw"))
        with pytest.raises(StoreUnavailable) as caught:
            wrong.catalogs()
        # the client's message names no internal host; the log has the redacted URL
        assert "wrong-pw" not in str(caught.value) and "127.0.0.1" not in str(caught.value)
        wrong.close()
    finally:
        server.stop()
    assert redacted("rediss://user:pw@host:6380/2") == "rediss://user:***@host:6380/2"
    assert redacted("redis://:pw@[::1]:6379/0") == "redis://:***@[::1]:6379/0"
    assert redacted("redis://host:6379/0") == "redis://host:6379/0"


def test_rediss_with_password(tmp_path: Path) -> None:
    """TLS (rediss://, the CA given as ssl_ca_certs) and a password, through open_store as --store gets it."""
    server = RedisServer(tmp_path, password="tls-pw", tls=True).start()
    try:
        store = open_store(server.url)
        assert store.url.startswith("rediss://:***@localhost:")
        store.commit("t", base_version=0, upserts=[entry("x")], delete_ids=[], replace=False, model="")
        assert [e.id for e in store.load("t")[1]] == ["x"]
        store.close()
        plain = RedisStore.from_url(f"redis://:tls-pw@127.0.0.1:{server.port}/0")  # no TLS: refused
        assert not plain.available()
        plain.close()
    finally:
        server.stop()


def test_redis_down_fails_fast_and_recovers(own_redis: RedisServer) -> None:
    store = RedisStore.from_url(own_redis.url)
    try:
        store.commit("k", base_version=0, upserts=[entry("x")], delete_ids=[], replace=False, model="")
        own_redis.stop()
        assert not store.available()
        with pytest.raises(StoreUnavailable, match="unavailable"):
            store.commit("k", base_version=1, upserts=[entry("y")], delete_ids=[], replace=False, model="")
        own_redis.start()
        assert store.available()
        assert [e.id for e in store.load("k")[1]] == ["x"]  # the append-only file kept it
    finally:
        store.close()


# --- replicas: two catalog services on one Redis ------------------------------------------------------


def tools(n: int, prefix: str = "tool") -> tuple[Candidate, ...]:
    return tuple(Candidate(ToolInput(json.dumps({"name": f"{prefix}_{i}", "description": f"does thing number {i}"})),
                           f"{prefix}_{i}") for i in range(n))


async def wait_for(check, timeout: float = 10.0) -> float:
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def test_two_replicas_share_catalogs_by_push_and_restart_without_embedding(redis_url: str) -> None:
    async def main() -> None:
        # Replica b polls only every 60 s: a change reaching it sooner came by pub/sub.
        settings_a = Settings(models=(TINY_BI,), threads=1, store=redis_url, catalog_refresh_s=60.0)
        async with Engine.from_settings(settings_a) as engine:
            a = CatalogService(engine, open_store(redis_url), settings_a)
            b = CatalogService(engine, open_store(redis_url), settings_a)
            put = await a.put(PutCatalogRequest("shared", tools(20)))
            picked = await b.select(SelectQuery("shared", "does thing number 7", top_k=3))
            assert picked.version == put.version and len(picked.results) == 3
            assert b.embedded_texts == 0, "b embedded texts a had stored"

            update = await a.put(PutCatalogRequest("shared", (Candidate(TextInput("a brand new entry"), "fresh"),)))

            async def b_sees_update() -> bool:
                return (await b.select(SelectQuery("shared", "brand new", top_k=30))).version == update.version

            delay = await wait_for(b_sees_update, timeout=20)
            print(f"put on a visible on b after {delay * 1000:.0f} ms")
            written = a.store.embeddings_written()
            # A replica that starts now serves the catalog from Redis without embedding anything.
            c = CatalogService(engine, open_store(redis_url), settings_a)
            hits = await c.select(SelectQuery("shared", "brand new entry", top_k=21))
            assert {h.id for h in hits.results} >= {"fresh", "tool_0"}
            assert c.embedded_texts == 0 and c.store.embeddings_written() == written
            for s in (a, b, c):
                await s.aclose()

    asyncio.run(main())


def test_redis_down_selects_keep_working_puts_fail_then_recover(own_redis: RedisServer) -> None:
    async def main() -> None:
        settings = Settings(models=(TINY_BI,), threads=1, store=own_redis.url, catalog_refresh_s=0.2)
        async with Engine.from_settings(settings) as engine:
            a = CatalogService(engine, open_store(own_redis.url), settings)
            b = CatalogService(engine, open_store(own_redis.url), settings)
            await a.put(PutCatalogRequest("cat", tools(10)))
            await b.select(SelectQuery("cat", "thing 3", top_k=2))  # loaded on b

            own_redis.stop()
            await asyncio.sleep(0.5)  # refreshers fail quietly meanwhile
            for service in (a, b):
                assert len((await service.select(SelectQuery("cat", "thing 3", top_k=2))).results) == 2
            with pytest.raises(StoreUnavailable, match="unavailable"):
                await a.put(PutCatalogRequest("cat", tools(2, "other")))
            assert not a.store.available()

            own_redis.start()
            put = await a.put(PutCatalogRequest("cat", tools(2, "other")))  # no restart of the service needed

            async def b_caught_up() -> bool:
                return (await b.select(SelectQuery("cat", "other", top_k=12))).version == put.version

            await wait_for(b_caught_up, timeout=20)
            for s in (a, b):
                await s.aclose()

    asyncio.run(main())


def test_the_redis_store_imports_no_transport_and_no_engine() -> None:
    """catalogs sits under the transports: its Redis store pulls in neither them nor onnxruntime."""
    import subprocess
    import sys

    code = ("import sys, toolrank.catalogs.store_redis; bad = [m for m in sys.modules if m.startswith(("
            "'grpc', 'google.protobuf', 'fastapi', 'toolrank.api', 'toolrank.engine', 'onnxruntime'))]; "
            "print(bad); assert not bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
