"""The adaptive cut and the token budget: the pure rules, Select through the service, and over gRPC."""

from __future__ import annotations

import asyncio

import pytest

from catalog_helpers import TOOLS, data_home, tiny_settings  # noqa: F401 (data_home: autouse fixture)
from toolrank.catalogs.cut import adaptive_count, budget_count, cut_rows, estimate_tokens
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.types import PutCatalogRequest, SelectQuery
from toolrank.engine.engine import Engine
from toolrank.errors import InvalidRequest


def test_rules():
    assert adaptive_count([0.9, 0.89, 0.5, 0.4], 0.5) == 2  # floor 0.65
    assert adaptive_count([0.9, 0.9, 0.9], 0.5) == 3 and adaptive_count([0.7], 0.5) == 1 and adaptive_count([]) == 0
    assert adaptive_count([5.0, -3.0, -4.0], 0.5) == 1  # logits work the same: relative to the range
    assert budget_count([10, 20, 30], 30) == 2 and budget_count([40, 1], 30) == 0 and budget_count([], 5) == 0
    assert estimate_tokens("x" * 9) == 3 and estimate_tokens("") == 1
    rows = cut_rows([7, 3, 5, 1], [0.9, 0.8, 0.2, 0.1], {5}, True, 0, lambda r: 1)
    assert rows == [7, 3, 5]  # pinned 5 stays, 1 falls off
    assert cut_rows([7, 3, 5], [0.9, 0.8, 0.2], {5}, False, 25, lambda r: 10) == [7, 5]  # pinned uses the budget first


def test_select_adaptive_and_budget():
    async def go():
        settings = tiny_settings()
        engine = Engine.from_settings(settings)
        await engine.start()
        svc = CatalogService(engine, open_store("memory://"), settings)
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS)))
        full = await svc.select(SelectQuery("tools", "send an email message", top_k=6))
        cut = await svc.select(SelectQuery("tools", "send an email message", top_k=6, adaptive=True))
        scores = [h.score for h in full.results]
        assert [h.id for h in cut.results] == [h.id for h in full.results][:adaptive_count(scores)]
        index = svc.loaded()["tools"]
        sizes = [estimate_tokens(index.entries[index.row_of[h.id]].candidate) for h in full.results]
        budget = sizes[0] + sizes[1] + sizes[2] - 1
        fit = await svc.select(SelectQuery("tools", "send an email message", top_k=6, max_tokens=budget))
        assert [h.id for h in fit.results] == [h.id for h in full.results][:2]
        none = await svc.select(SelectQuery("tools", "send an email message", top_k=6, max_tokens=1))
        assert none.results == ()
        with pytest.raises(InvalidRequest, match="max_tokens"):
            await svc.select(SelectQuery("tools", "x", max_tokens=-1))
        await svc.aclose()
        await engine.stop()

    asyncio.run(go())
