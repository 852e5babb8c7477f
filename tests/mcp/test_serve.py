"""``toolrank mcp serve``: search_tools over a catalog somebody else filled, seen through the SDK's client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from toolrank.catalogs import CatalogService, PutCatalogRequest, open_store
from toolrank.engine.engine import Engine
from toolrank.settings import Settings
from toolrank.types import Candidate, TextInput, ToolInput

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import TOOLS

SERVER = str(Path(__file__).resolve().parents[2] / "server")
# the server process on this checkout's code (the SDK passes a bare environment unless given one)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([SERVER, os.environ.get("PYTHONPATH", "")])}


def _fill(store_url: str) -> None:
    """An OpenAI-format tool catalog (plus one plain text entry), put in process into a sqlite store."""
    async def main() -> None:
        settings = Settings()
        engine = Engine.from_settings(settings)
        async with engine:
            service = CatalogService(engine, open_store(store_url), settings)
            cands = [Candidate(ToolInput(json.dumps({"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.input_schema}})), f"tool-{t.name}")
                for t in TOOLS]
            cands.append(Candidate(TextInput("Opening hours of the office: 9 to 5 on weekdays."), "note-hours"))
            await service.put(PutCatalogRequest("agent-tools", tuple(cands)))
            await service.aclose()

    asyncio.run(main())


def test_serve_searches_an_existing_catalog(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'catalogs.sqlite3'}"
    _fill(store)

    async def main() -> None:
        params = StdioServerParameters(command=sys.executable, args=[
            "-m", "toolrank.cli", "mcp", "serve", "--catalog", "agent-tools", "--store", store], env=ENV)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            assert [t.name for t in (await session.list_tools()).tools] == ["search_tools"]
            result = await session.call_tool("search_tools", {"query": "book a room for two nights in Rome",
                                                              "top_k": 2})
            found = json.loads(result.content[0].text)
            assert result.structured_content == found
            best = found["tools"][0]
            hotel = next(t for t in TOOLS if t.name == "book_hotel")
            assert (best["name"], best["description"], best["inputSchema"]) == (
                "book_hotel", hotel.description, hotel.input_schema)
            assert "upstreams" not in found
            result = await session.call_tool("search_tools", {"query": "when is the office open", "top_k": 1})
            note = json.loads(result.content[0].text)["tools"][0]
            assert note["name"] == "note-hours" and "9 to 5" in note["description"]
            result = await session.call_tool("call_tool", {"name": "book_hotel", "arguments": {}})
            assert result.is_error and "search_tools" in result.content[0].text

    anyio.run(main)


def test_serve_refuses_a_missing_catalog(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    proc = subprocess.run([sys.executable, "-m", "toolrank.cli", "mcp", "serve", "--catalog", "nope",
                           "--store", store], capture_output=True, check=False, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("toolrank mcp: error: ")
    assert "nope" in proc.stderr


def test_proxy_needs_an_upstream_and_valid_names() -> None:
    for args, message in (([], "at least one --upstream"), (["--upstream", "a.b=cmd"], "no dots"),
                          (["--upstream", "a=x", "--upstream", "a=y"], "given twice")):
        proc = subprocess.run([sys.executable, "-m", "toolrank.cli", "mcp", "proxy", *args], capture_output=True, check=False,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert proc.returncode == 1, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr


def test_serve_searches_a_running_servers_catalog(tmp_path: Path) -> None:
    """``--address``: the catalog lives in a running toolrank server, put there with the Python client."""
    from dataclasses import replace

    import toolrank
    from conftest import ServerThread

    server = ServerThread(replace(Settings(), store=f"sqlite:///{tmp_path / 'server.sqlite3'}")).start()
    try:
        with toolrank.Client(server.address) as client:
            client.put_catalog("mcp-tools", [{"id": f"t-{t.name}", "tool": {
                "name": t.name, "description": t.description, "inputSchema": t.input_schema}} for t in TOOLS])

        async def main() -> None:
            params = StdioServerParameters(command=sys.executable, args=[
                "-m", "toolrank.cli", "mcp", "serve", "--catalog", "mcp-tools", "--address", server.address], env=ENV)
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool("search_tools", {"query": "post a note in the team's chat "
                                                                  "channel", "top_k": 3})
                found = json.loads(result.content[0].text)["tools"]
                slack = next(t for t in TOOLS if t.name == "post_slack_message")
                assert (found[0]["name"], found[0]["inputSchema"]) == ("post_slack_message", slack.input_schema)
                assert len(found) == 3

        anyio.run(main)
        proc = subprocess.run([sys.executable, "-m", "toolrank.cli", "mcp", "serve", "--catalog", "missing",
                               "--address", server.address], capture_output=True, check=False, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 1 and "missing" in proc.stderr.splitlines()[-1], proc.stderr
    finally:
        server.stop()


def test_a_busy_port_is_one_error_line() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = subprocess.run([sys.executable, "-m", "toolrank.cli", "mcp", "proxy", "--transport", "streamable-http",
                               "--port", str(busy.getsockname()[1]), "--upstream", "a=/nonexistent/server"],
                              capture_output=True, check=False, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("toolrank mcp: error: ")
    assert "in use" in proc.stderr and "Traceback" not in proc.stderr
