"""Select with ``per_step``: a multi-step query gets a set covering each step, in process, over gRPC and HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest

from catalog_helpers import TINY_BI, TINY_CROSS, TOOLS, data_home, tiny_settings  # noqa: F401 (autouse fixture)
from conftest import ServerThread
from test_http_catalogs import call
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.types import PutCatalogRequest, SelectQuery
from toolrank.client import Client
from toolrank.engine.engine import Engine

QUERY = "check the weather in Paris, then send an email to bob"
STEPS = ("check the weather in Paris", "send an email to bob")
LONG = "\n".join(f"2026-12-05 10:{i % 60:02d}:00 INFO cron job {i} done in {i * 7} ms" for i in range(600))


async def _select_all(models, queries):
    settings = tiny_settings(*models)
    engine = Engine.from_settings(settings)
    await engine.start()
    svc = CatalogService(engine, open_store(settings.store), settings)
    try:
        await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
        return [await svc.select(q) for q in queries]
    finally:
        await svc.aclose()
        await engine.stop()


@pytest.mark.parametrize("models", [(TINY_BI,), (TINY_BI, TINY_CROSS)], ids=["stage-one", "two-stage"])
def test_per_step_covers_each_step(models):
    per_step, plain, wider = asyncio.run(_select_all(models, [
        SelectQuery("c", QUERY, top_k=2, per_step=True), SelectQuery("c", QUERY, top_k=2),
        SelectQuery("c", QUERY, top_k=3, per_step=True)]))
    assert per_step.steps == STEPS and plain.steps == STEPS
    assert per_step.usage.steps == 2 and plain.usage.steps == 2
    # each step gets a result chosen for it; the slots left go by the fused score
    assert sorted(h.step for h in per_step.results) == [1, 2]
    assert sorted(h.step for h in wider.results) == [0, 1, 2]
    assert {h.id for h in per_step.results} < {h.id for h in wider.results}
    assert all(h.step == 0 for h in plain.results)
    scores = [h.score for h in per_step.results]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)


def test_a_single_step_query_is_unchanged_by_per_step():
    with_option, without = asyncio.run(_select_all((TINY_BI,), [
        SelectQuery("c", "search for flights from Paris and London", top_k=3, per_step=True),
        SelectQuery("c", "search for flights from Paris and London", top_k=3)]))
    assert with_option.results == without.results and with_option.steps == ()


def test_a_long_select_query_is_fitted_and_reported():
    long_query, short = asyncio.run(_select_all((TINY_BI, TINY_CROSS), [
        SelectQuery("c", LONG + "\nPlease send an email to bob."), SelectQuery("c", "send an email to bob")]))
    assert len(LONG) > 20_000
    assert long_query.usage.query_truncated and not short.usage.query_truncated
    assert len(long_query.results) == len(short.results)


@pytest.fixture()
def server(tmp_path):
    s = ServerThread(tiny_settings(TINY_BI, TINY_CROSS, store=f"sqlite:///{tmp_path}/c.sqlite3"), http=True).start()
    yield s
    s.stop()


def test_per_step_over_grpc_and_http(server):
    with Client(server.address, timeout=60) as client:
        client.put_catalog("tools", [{"id": c.id, "tool": json.loads(c.content.json)} for c in TOOLS])
        picked = client.select("tools", QUERY, top_k=2, per_step=True)
        assert picked.steps == STEPS and picked.usage.steps == 2
        assert any(h.step for h in picked)
    status, body = call(server.http_url, "POST", "/v1/catalogs/tools/select", {"query": QUERY, "top_k": 2,
                                                                               "per_step": True})
    assert status == 200 and body["steps"] == list(STEPS) and body["usage"]["steps"] == 2
    assert [h["id"] for h in body["results"]] == picked.ids
    assert [h.get("step", 0) for h in body["results"]] == [h.step for h in picked]
    status, body = call(server.http_url, "POST", "/v1/catalogs/tools/select",
                        {"query": LONG + "\nPlease send an email to bob.", "top_k": 2})
    assert status == 200 and body["usage"]["query_truncated"] is True
