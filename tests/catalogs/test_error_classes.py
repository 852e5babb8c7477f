"""Errors that share a status stay distinguishable: StoreUnavailable vs ModelUnavailable (both UNAVAILABLE),
a catalog limit (RESOURCE_EXHAUSTED, never succeeds as is) vs too many concurrent writers (ABORTED: retry)."""

from __future__ import annotations

import asyncio

import grpc
import httpx
import pytest

from catalog_helpers import TINY_BI, data_home, text, tiny_settings  # noqa: F401 (autouse fixture)
from conftest import ServerThread
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import VersionConflict
from toolrank.catalogs.store_memory import MemoryStore
from toolrank.catalogs.types import PutCatalogRequest
from toolrank.client import Client
from toolrank.engine.engine import Engine
from toolrank.errors import CatalogLimitExceeded, StoreUnavailable, WriteConflict, status_of


def test_store_down_reaches_the_client_as_store_unavailable() -> None:
    server = ServerThread(tiny_settings(TINY_BI, store="redis://127.0.0.1:1/0"), http=True).start()
    try:
        with Client(server.address, timeout=30) as client:
            with pytest.raises(StoreUnavailable) as err:
                client.put_catalog("c", [{"id": "a", "text": "x"}])
            assert err.value.code == grpc.StatusCode.UNAVAILABLE  # still retryable by status
        reply = httpx.put(f"{server.http_url}/v1/catalogs/c", json={"candidates": [{"id": "a", "text": "x"}]},
                          timeout=30)
        assert reply.status_code == 503 and reply.headers["toolrank-error"] == "StoreUnavailable"
    finally:
        server.stop()


def test_catalog_limit_is_its_own_class() -> None:
    server = ServerThread(tiny_settings(TINY_BI, max_catalogs=1)).start()
    try:
        with Client(server.address, timeout=30) as client:
            client.put_catalog("one", [{"id": "a", "text": "x"}])
            with pytest.raises(CatalogLimitExceeded):
                client.put_catalog("two", [{"id": "a", "text": "x"}])
    finally:
        server.stop()


class AlwaysConflicting(MemoryStore):
    def commit(self, name, **kw):  # type: ignore[no-untyped-def]
        raise VersionConflict("someone else wrote first")


def test_too_many_writers_is_a_write_conflict_not_a_limit() -> None:
    async def go() -> None:
        settings = tiny_settings()
        engine = Engine.from_settings(settings)
        await engine.start()
        svc = CatalogService(engine, AlwaysConflicting(), settings)
        try:
            with pytest.raises(WriteConflict) as err:
                await svc.put(PutCatalogRequest("c", (text("a", "alpha"),)))
            assert not isinstance(err.value, CatalogLimitExceeded)
            assert status_of(err.value) == ("ABORTED", 409)
        finally:
            await svc.aclose()
            await engine.stop()

    asyncio.run(go())
