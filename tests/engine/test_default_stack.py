"""The default server (no --model): both bundled models behind the default stack (toolrank/models/stacks.json).

Tools are ranked by the tool-tuned minilm-l6-tools-v1, SQL, code and text by all-MiniLM-L6-v2; a request of
one kind runs one model (what it cost before) with that model's own scores; catalogs embed with the stack's
bi-encoder for their main kind. Real bundled models on onnxruntime (docs/training.md).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.types import PutCatalogRequest
from toolrank.engine.engine import Engine
from toolrank.engine.ensemble import parse_ensemble
from toolrank.engine.stacks import bi_encoder_for, shipped
from toolrank.settings import DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME, TOOLS_MODEL_NAME, Settings
from toolrank.types import Candidate, CodeInput, RerankOutcome, RerankQuery, SqlInput, ToolInput

QUERY = "what will the weather be in Paris tomorrow"


def _tool(name: str, description: str) -> Candidate:
    return Candidate(ToolInput(json.dumps({"type": "function", "function": {
        "name": name, "description": description, "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"}}}}})), name)


TOOLS = [_tool("get_weather", "Current weather and forecast for a city"),
         _tool("send_email", "Send an email message to a recipient"),
         _tool("book_hotel", "Book a hotel room in a city for some nights")]
TABLES = [Candidate(SqlInput("CREATE TABLE forecasts (city TEXT, day DATE, temperature REAL, rain REAL)", "sqlite"),
                    "forecasts"),
          Candidate(SqlInput("CREATE TABLE invoices (id INT, customer TEXT, total REAL)", "sqlite"), "invoices")]
CODE = [Candidate(CodeInput("def forecast(city):\n    return api.get('/weather', city=city)\n", "python"), "forecast")]


class Batches:
    """Which models ran a batch (the scheduler's observer)."""

    def __init__(self) -> None:
        self.models: set[str] = set()

    def on_batch(self, model: str, sequences: int, real_tokens: int, padded_tokens: int) -> None:
        self.models.add(model)

    def on_rerank(self, outcome: RerankOutcome, candidates: int) -> None:
        pass


def _run(coro_fn, settings: Settings | None = None):
    async def go():
        async with Engine.from_settings(settings or Settings(threads=1)) as engine:
            return await coro_fn(engine)
    return asyncio.run(go())


async def _ran(engine: Engine, query: RerankQuery) -> tuple[RerankOutcome, set[str]]:
    batches = Batches()
    engine.observers.add(batches)
    try:
        return await engine.rerank(query), batches.models
    finally:
        engine.observers.remove(batches)


def test_the_default_server_serves_the_default_stack():
    async def go(engine: Engine):
        return engine.default_model, {s.name: s.kind for s in engine.model_specs()}, engine.served("").spec.name
    default, specs, first = _run(go)
    assert default == "default"
    assert specs == {DEFAULT_MODEL_NAME: "bi-encoder", TOOLS_MODEL_NAME: "bi-encoder", "default": "ensemble"}
    assert first == DEFAULT_MODEL_NAME  # Normalize counts tokens with the first member's tokenizer


def test_tools_run_only_the_tuned_model_sql_only_minilm_and_scores_are_that_models():
    async def go(engine: Engine):
        tools, tools_ran = await _ran(engine, RerankQuery(QUERY, tuple(TOOLS)))
        tuned = await engine.rerank(RerankQuery(QUERY, tuple(TOOLS), model=TOOLS_MODEL_NAME))
        sql, sql_ran = await _ran(engine, RerankQuery(QUERY + " in a table", tuple(TABLES)))
        minilm = await engine.rerank(RerankQuery(QUERY + " in a table", tuple(TABLES), model=DEFAULT_MODEL_NAME))
        mixed, mixed_ran = await _ran(engine, RerankQuery(QUERY + " somehow", tuple(TOOLS + TABLES + CODE)))
        return tools, tools_ran, tuned, sql, sql_ran, minilm, mixed, mixed_ran

    tools, tools_ran, tuned, sql, sql_ran, minilm, mixed, mixed_ran = _run(go)
    assert tools_ran == {TOOLS_MODEL_NAME} and tools.model == "default"
    # the tuned model's own scores (its cosine scale, not the fused one), within int8 batch noise
    assert [r.id for r in tools.results] == [r.id for r in tuned.results]
    assert [r.score for r in tools.results] == pytest.approx([r.score for r in tuned.results], abs=0.01)
    assert tools.results[0].id == "get_weather"
    assert tools.usage.windows == tuned.usage.windows  # what one model costs, not two
    assert sql_ran == {DEFAULT_MODEL_NAME} and sql.model == "default"
    assert [r.id for r in sql.results] == [r.id for r in minilm.results]
    assert [r.score for r in sql.results] == pytest.approx([r.score for r in minilm.results], abs=0.01)
    assert mixed_ran == {TOOLS_MODEL_NAME, DEFAULT_MODEL_NAME} and mixed.model == "default"
    assert sorted(r.id for r in mixed.results) == sorted(c.id for c in TOOLS + TABLES + CODE)
    assert all(0.0 <= r.score <= 1.0 for r in mixed.results)


def test_one_explicit_model_is_served_as_before():
    settings = Settings(models=(("", str(DEFAULT_MODEL_DIR)),), threads=1)

    async def go(engine: Engine):
        return engine.default_model, set(engine.ensembles), await engine.rerank(RerankQuery(QUERY, tuple(TOOLS)))
    default, ensembles, outcome = _run(go, settings)
    assert default == DEFAULT_MODEL_NAME and "default" not in ensembles and outcome.model == DEFAULT_MODEL_NAME


def test_bi_encoder_for_takes_the_heaviest_member_of_the_main_kind():
    stack = shipped().default
    both = {DEFAULT_MODEL_NAME, TOOLS_MODEL_NAME}
    assert bi_encoder_for(stack, ["tool", "tool", "sql"], both) == TOOLS_MODEL_NAME
    assert bi_encoder_for(stack, ["sql", "sql", "tool"], both) == DEFAULT_MODEL_NAME
    assert bi_encoder_for(stack, ["code"], both) == bi_encoder_for(stack, ["text"], both) == DEFAULT_MODEL_NAME
    assert bi_encoder_for(stack, [], both) == DEFAULT_MODEL_NAME  # nothing to go by: text
    assert bi_encoder_for(stack, ["tool"], {DEFAULT_MODEL_NAME}) == DEFAULT_MODEL_NAME  # only served members
    cross = parse_ensemble({"name": "x", "members": [{"model": "ms-marco-MiniLM-L12-v2", "weight": 1}]}, "test")
    assert bi_encoder_for(cross, ["tool"], both) == ""  # no bi-encoder member: the caller falls back


def test_a_catalog_put_picks_the_bi_encoder_of_its_main_kind_and_keeps_it():
    settings = Settings(threads=1, store="memory://", catalog_refresh_s=0.0)

    async def go(engine: Engine):
        service = CatalogService(engine, open_store(settings.store), settings)
        try:
            await service.put(PutCatalogRequest("tools", ()))  # empty first (the MCP proxy's reset): no model yet
            await service.put(PutCatalogRequest("tools", tuple(TOOLS)))
            await service.put(PutCatalogRequest("tables", tuple(TABLES)))
            await service.put(PutCatalogRequest("tables", tuple(TOOLS)))  # an existing catalog keeps its model
            named = await service.put(PutCatalogRequest("named", tuple(TOOLS), model=DEFAULT_MODEL_NAME))
            return ((await service.get("tools")).model, (await service.get("tables")).model,
                    (await service.get("named")).model, named)
        finally:
            await service.aclose()

    tools, tables, named, _ = _run(go, settings)
    assert tools == TOOLS_MODEL_NAME
    assert tables == DEFAULT_MODEL_NAME
    assert named == DEFAULT_MODEL_NAME
