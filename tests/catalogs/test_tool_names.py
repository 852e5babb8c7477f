"""A tool's name for exact-name matches in stage one: read as the normalizer reads it, in any shape."""

from __future__ import annotations

import asyncio
import json

from catalog_helpers import data_home, tiny_settings  # noqa: F401 (data_home: autouse fixture)
from toolrank.catalogs.index import name_of
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.types import PutCatalogRequest, SelectQuery
from toolrank.engine.engine import Engine
from toolrank.types import Candidate, ToolInput

TOP_SONG = {"toolSpec": {"name": "top_song", "description": "Get the most popular song played on a radio station.",
                         "inputSchema": {"json": {"type": "object", "properties": {"sign": {"type": "string"}}}}}}


def test_name_of_reads_every_name_role_and_unwraps_envelopes() -> None:
    assert name_of("tool", {"tool": TOP_SONG}) == "top_song"
    assert name_of("tool", {"tool": json.dumps(TOP_SONG)}) == "top_song"
    assert name_of("tool", {"tool": {"api_name": "AddAgenda", "api_description": "Add an agenda item."}}) == "AddAgenda"
    assert name_of("tool", {"tool": {"type": "function", "function": {"name": "get_weather"}}}) == "get_weather"
    assert name_of("tool", {"tool": {"operationId": "listPets", "responses": {}}}) == "listPets"
    assert name_of("tool", {"tool": {"data": {"city": "Paris"}}}) == ""


def test_an_enveloped_tool_is_matched_by_its_exact_name() -> None:
    async def go() -> None:
        settings = tiny_settings()
        async with Engine.from_settings(settings) as engine:
            svc = CatalogService(engine, open_store("memory://"), settings)
            other = {"toolSpec": {"name": "station_schedule", "description": "Shows a radio station airs today."}}
            cands = (Candidate(ToolInput(json.dumps(TOP_SONG)), "t1"), Candidate(ToolInput(json.dumps(other)), "t2"))
            await svc.put(PutCatalogRequest("c", cands))
            picked = await svc.select(SelectQuery("c", "call top_song for WZPZ", top_k=2))
            assert picked.results[0].id == "t1"
            index = svc.loaded()["c"]
            assert [e.name for e in index.entries] == ["top_song", "station_schedule"]
            await svc.aclose()

    asyncio.run(go())
