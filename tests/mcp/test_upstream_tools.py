"""The proxy's tool catalog (diff updates, only changed tools embedded, naming) and the small pieces around it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import mcp_types as types
import pytest
from toolrank.catalogs import CatalogService, open_store
from toolrank.engine.engine import Engine
from toolrank.mcp.catalog_search import as_mcp_tool
from toolrank.mcp.found import FoundTools
from toolrank.mcp.upstream_tools import FoundTool, ToolCatalog
from toolrank.mcp.upstream import RestartPolicy, parse_upstream
from toolrank.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import TOOLS


def test_catalog_follows_upstreams_by_diff_and_embeds_only_what_changed() -> None:
    async def main() -> None:
        settings = Settings()
        engine = Engine.from_settings(settings)
        async with engine:
            service = CatalogService(engine, open_store("memory://"), settings)
            catalog = ToolCatalog(service, "mcp")
            await catalog.reset()
            first = list(TOOLS[:12])
            await catalog.set_tools("a", first)
            assert service.embedded_texts == 12 and len(catalog) == 12
            # the default stack's bi-encoder for tools, though the catalog was first put empty (reset)
            assert (await service.get("mcp")).model == "minilm-l6-tools-v1"
            assert (await catalog.search("weather in Oslo", 1))[0].name == "a.get_weather"

            # One description changed, one tool gone, one new: 2 texts embedded, 1 deleted, one put.
            changed = [t.model_copy(update={"description": "Weather forecast for the next ten days in a city."})
                       if t.name == "get_weather" else t for t in first if t.name != "send_email"]
            changed.append(TOOLS[20])
            puts = catalog.puts
            await catalog.set_tools("a", changed)
            assert service.embedded_texts == 14
            assert catalog.puts == puts + 1 and catalog.deleted == 1 and len(catalog) == 12
            assert "a.send_email" not in [f.name for f in await catalog.search("send an email", 12)]
            # The same list again (a list_changed that changed nothing): no put at all.
            await catalog.set_tools("a", changed)
            assert catalog.puts == puts + 1

            # Down: its tools leave the search; back: nothing is embedded again (embeddings kept by content).
            await catalog.drop("a")
            assert await catalog.search("weather in Oslo", 3) == []
            await catalog.set_tools("a", changed)
            assert service.embedded_texts == 14
            assert (await catalog.search("ten day weather forecast", 1))[0].name == "a.get_weather"

            # Names: prefixed always; a bare name resolves while one upstream has it.
            assert catalog.lookup("get_weather") == ("a", changed[0])
            await catalog.set_tools("b", TOOLS[:3])
            assert service.embedded_texts == 14  # the same tools under another upstream: same texts, embedded once
            assert catalog.lookup("get_weather") is None
            assert catalog.owners_of("get_weather") == ["a.get_weather", "b.get_weather"]
            assert catalog.lookup("b.get_weather") == ("b", TOOLS[0])
            assert catalog.lookup("nope.get_weather") is None
            await service.aclose()

    asyncio.run(main())


def test_a_restarted_proxy_on_a_sqlite_store_embeds_nothing_again(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'proxy.sqlite3'}"

    async def run_once() -> tuple[int, str]:
        settings = Settings()
        engine = Engine.from_settings(settings)
        async with engine:
            service = CatalogService(engine, open_store(store), settings)
            catalog = ToolCatalog(service, "mcp")
            await catalog.reset()  # what a starting proxy does
            await catalog.set_tools("a", TOOLS)
            best = (await catalog.search("weather in Oslo", 1))[0].name
            await service.aclose()
            return service.embedded_texts, best

    assert asyncio.run(run_once()) == (len(TOOLS), "a.get_weather")
    assert asyncio.run(run_once()) == (0, "a.get_weather")


def test_tool_with_a_dotted_name() -> None:
    async def main() -> None:
        settings = Settings()
        engine = Engine.from_settings(settings)
        async with engine:
            service = CatalogService(engine, open_store("memory://"), settings)
            catalog = ToolCatalog(service, "mcp")
            tool = types.Tool(name="files.read", description="Read a file.", input_schema={"type": "object"})
            await catalog.set_tools("fs", [tool])
            assert catalog.lookup("fs.files.read") == ("fs", tool)
            assert catalog.lookup("files.read") == ("fs", tool)
            assert [f.name for f in await catalog.search("read a file", 1)] == ["fs.files.read"]
            await service.aclose()

    asyncio.run(main())


def test_a_huge_schema_is_indexed_by_name_and_description_and_served_whole() -> None:
    async def main() -> None:
        settings = Settings()
        engine = Engine.from_settings(settings)
        async with engine:
            service = CatalogService(engine, open_store("memory://"), settings)
            catalog = ToolCatalog(service, "mcp")
            props = {f"field_{i}": {"type": "string", "description": "x" * 200} for i in range(2000)}
            huge = types.Tool(name="bulk_import", description="Import customer records in bulk.",
                              input_schema={"type": "object", "properties": props})
            await catalog.set_tools("crm", [huge, *TOOLS[:5]])
            best = (await catalog.search("import many customer records", 1))[0]
            assert best.name == "crm.bulk_import" and best.input_schema == huge.input_schema
            await service.aclose()

    asyncio.run(main())


def test_parse_upstream() -> None:
    spec = parse_upstream("fs=npx -y @modelcontextprotocol/server-filesystem '/tmp/my dir'")
    assert spec.name == "fs" and spec.command == ("npx", "-y", "@modelcontextprotocol/server-filesystem",
                                                  "/tmp/my dir")
    assert parse_upstream("docs=http://127.0.0.1:9000/mcp", url=True).url == "http://127.0.0.1:9000/mcp"
    for bad, where in (("fs", "NAME=COMMAND"), ("=cmd", "name"), ("my.fs=cmd", "no dots"), ("fs=", "NAME=COMMAND"),
                       ("fs=cmd 'open", "cannot split")):
        with pytest.raises(ValueError, match=where):
            parse_upstream(bad)
    with pytest.raises(ValueError, match="not an http"):
        parse_upstream("docs=ftp://x", url=True)


def test_restart_backoff_doubles_up_to_a_cap() -> None:
    policy = RestartPolicy(backoff_s=0.5, max_backoff_s=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def _found(name: str) -> FoundTool:
    return FoundTool(name, "", {"type": "object"}, 0.5)


def test_found_tools_lru() -> None:
    found = FoundTools(3)
    assert found.add([_found("a"), _found("b")])  # best first: a is the most recent
    assert [f.name for f in found.tools()] == ["a", "b"]
    assert not found.add([_found("b")])  # same set: nothing to announce
    assert [f.name for f in found.tools()] == ["b", "a"]
    assert found.add([_found("c"), _found("d")])
    assert [f.name for f in found.tools()] == ["c", "d", "b"]  # a, least recently found, dropped
    assert found.discard_missing(lambda name: name != "d")
    assert [f.name for f in found.tools()] == ["c", "b"]
    off = FoundTools(0)
    assert not off.add([_found("a")]) and off.tools() == []


def test_as_mcp_tool_reads_common_formats() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    expect = ("get_weather", "Weather now.", schema)
    assert as_mcp_tool({"name": "get_weather", "description": "Weather now.", "inputSchema": schema}) == expect
    assert as_mcp_tool({"type": "function", "function": {"name": "get_weather", "description": "Weather now.",
                                                         "parameters": schema}}) == expect
    assert as_mcp_tool({"name": "get_weather", "description": "Weather now.", "input_schema": schema}) == expect
    assert as_mcp_tool({"name": "get_weather", "description": "Weather now.",
                        "parameters": {**schema, "type": "dict"}}) == expect
    assert as_mcp_tool({"name": "ping"}) == ("ping", "", {"type": "object", "properties": {}})
    assert as_mcp_tool({"description": "no name"}) is None
    assert as_mcp_tool(["not", "a", "tool"]) is None
