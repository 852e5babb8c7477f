"""``toolrank mcp proxy`` end to end: a real proxy process, real upstream MCP servers, the SDK's own client.

The upstream is tests/mcp/fake_upstream.py (the SDK's low-level server, 43 tools in pages of 7). The proxy
runs the embedded model, so search quality here is the real model's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

HERE = Path(__file__).resolve().parent
FAKE = HERE / "fake_upstream.py"
sys.path.insert(0, str(HERE))
from fake_upstream import TOOLS  # noqa: E402 - beside this file, on sys.path above

FAKE_CMD = f"{sys.executable} {FAKE}"


class Proxy:
    """A client session on a proxy, and the notifications it received."""

    def __init__(self, session: ClientSession, notices: list[Any]) -> None:
        self.session = session
        self.notices = notices

    async def search(self, query: str, top_k: int = 5) -> dict[str, Any]:
        result = await self.session.call_tool("search_tools", {"query": query, "top_k": top_k})
        assert not result.is_error, result.content
        payload = json.loads(result.content[0].text)
        assert result.structured_content == payload
        return payload

    async def names(self, query: str, top_k: int = 5) -> list[str]:
        return [t["name"] for t in (await self.search(query, top_k))["tools"]]

    async def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await self.session.call_tool("call_tool", {"name": name, "arguments": arguments})

    async def wait_for(self, predicate: Any, what: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = await predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await anyio.sleep(0.2)


@asynccontextmanager
async def proxy(*flags: str, errlog: Any = None) -> AsyncIterator[Proxy]:
    notices: list[Any] = []

    async def on_message(message: Any) -> None:
        notices.append(message)

    # the proxy process on this checkout's code (the SDK passes a bare environment unless given one)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "server"),
                                                        os.environ.get("PYTHONPATH", "")])}
    params = StdioServerParameters(command=sys.executable, args=["-m", "toolrank.cli", "mcp", "proxy", *flags],
                                   env=env)
    async with stdio_client(params, errlog=errlog or sys.stderr) as (read, write):
        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            yield Proxy(session, notices)


def upstream(name: str, *extra: str) -> list[str]:
    return ["--upstream", f"{name}={FAKE_CMD} {' '.join(extra)}".strip()]


def test_two_tools_search_and_forwarded_calls() -> None:
    async def main() -> None:
        async with proxy(*upstream("fake")) as p:
            listed = await p.session.list_tools()
            assert [t.name for t in listed.tools] == ["search_tools", "call_tool"]

            found = await p.search("what's the weather like in Oslo right now?", top_k=3)
            assert found["tools"][0]["name"] == "fake.get_weather"
            assert len(found["tools"]) == 3
            weather = next(t for t in TOOLS if t.name == "get_weather")
            assert found["tools"][0]["inputSchema"] == weather.input_schema
            assert found["tools"][0]["description"] == weather.description
            # Every page of tools/list was read (43 tools in pages of 7).
            assert found["upstreams"] == [{"name": "fake", "transport": "stdio", "status": "up",
                                           "tools": len(TOOLS), "restarts": 0}]
            assert (await p.names("send an email to my boss", 1)) == ["fake.send_email"]
            assert (await p.names("list the files in a folder", 1)) == ["fake.list_directory"]

            # Arguments in, the upstream's content and structured content out, unchanged.
            result = await p.call("fake.get_weather", {"city": "Oslo"})
            assert not result.is_error
            assert result.content == [types.TextContent(text="Sunny in Oslo, 21 C")]
            assert result.structured_content == {"city": "Oslo", "temp_c": 21, "sky": "sunny"}
            # A bare name is accepted while one upstream has it; an isError result passes through.
            result = await p.call("divide", {"a": 1, "b": 0})
            assert result.is_error and result.content[0].text == "division by zero"
            result = await p.call("fake.divide", {"a": 6, "b": 4})
            assert result.structured_content == {"quotient": 1.5}
            # An upstream's protocol error keeps its code and data, and names the upstream.
            with pytest.raises(MCPError) as err:
                await p.call("fake.check_quota", {})
            assert err.value.code == -32050
            assert "upstream 'fake'" in err.value.message and "quota service unreachable" in err.value.message
            assert err.value.data == {"retry_after_s": 30}
            # Mistakes the model can correct come back as tool errors.
            unknown = await p.call("fake.no_such_tool", {})
            assert unknown.is_error and "search_tools" in unknown.content[0].text
            bad = await p.session.call_tool("search_tools", {"query": "x", "top_k": 0})
            assert bad.is_error and "top_k" in bad.content[0].text
            bad = await p.session.call_tool("call_tool", {"name": "fake.divide", "arguments": [1, 2]})
            assert bad.is_error and "arguments" in bad.content[0].text

    anyio.run(main)


def test_list_changed_updates_the_search() -> None:
    async def main() -> None:
        async with proxy(*upstream("fake"), "--no-learn") as p:  # else calling install_translator teaches it
            query = "translate this sentence into French"
            assert "fake.translate_text" not in await p.names(query, 5)
            result = await p.call("fake.install_translator", {})
            assert result.content[0].text == "installed"

            async def translator_first() -> bool:
                return (await p.names(query, 1)) == ["fake.translate_text"]

            await p.wait_for(translator_first, "the new tool to be searchable")
            found = await p.search(query, 1)
            assert found["upstreams"][0]["tools"] == len(TOOLS) + 1
            result = await p.call("fake.translate_text", {"text": "hello", "target_language": "fr"})
            assert result.content[0].text == "[fr] hello"

    anyio.run(main)


def test_a_crashed_upstream_leaves_the_others_serving(tmp_path: Path) -> None:
    marker = tmp_path / "crashed"
    log_path = tmp_path / "proxy.log"

    async def main() -> None:
        with open(log_path, "w") as errlog:
            async with proxy(*upstream("a", "--fail-if-exists", str(marker)), *upstream("b"),
                             "--max-restarts", "1", "--restart-backoff-s", "0.1", errlog=errlog) as p:
                assert {"a.get_weather", "b.get_weather"} <= set(await p.names("weather in Oslo", 4))
                # The call that kills the upstream fails with an MCP error naming it; the proxy stays up.
                with pytest.raises(MCPError) as err:
                    await p.call("a.crash", {})
                assert "upstream 'a'" in err.value.message

                async def a_failed() -> dict[str, Any] | None:
                    found = await p.search("weather in Oslo", 10)
                    status = {s["name"]: s for s in found["upstreams"]}
                    return found if status["a"]["status"] == "failed" else None

                found = await p.wait_for(a_failed, "upstream a to be given up on")
                status = {s["name"]: s for s in found["upstreams"]}
                assert status["a"]["restarts"] == 1 and status["a"]["error"]
                assert status["b"] == {"name": "b", "transport": "stdio", "status": "up", "tools": len(TOOLS),
                                       "restarts": 0}
                assert found["unavailable"] == ["a"]
                assert found["tools"] and all(t["name"].startswith("b.") for t in found["tools"])
                with pytest.raises(MCPError) as err:
                    await p.call("a.get_weather", {"city": "Oslo"})
                assert "upstream 'a'" in err.value.message and "failed" in err.value.message
                result = await p.call("b.get_weather", {"city": "Oslo"})
                assert result.structured_content["city"] == "Oslo"
                # With a's tools gone, the bare name is unique again.
                result = await p.call("get_weather", {"city": "Rome"})
                assert result.structured_content["city"] == "Rome"
        log = log_path.read_text()
        assert "upstream 'a' died" in log
        assert "upstream 'a': giving up after 2 failed start(s) in a row" in log

    anyio.run(main)


def test_a_dead_upstream_is_restarted() -> None:
    async def main() -> None:
        async with proxy(*upstream("fake"), "--restart-backoff-s", "0.1") as p:
            with pytest.raises(MCPError):
                await p.call("fake.crash", {})

            async def back_up() -> dict[str, Any] | None:
                found = await p.search("weather in Oslo", 1)
                s = found["upstreams"][0]
                return found if s["status"] == "up" and s["restarts"] == 1 else None

            found = await p.wait_for(back_up, "the upstream to come back")
            assert [t["name"] for t in found["tools"]] == ["fake.get_weather"]
            result = await p.call("fake.get_weather", {"city": "Oslo"})
            assert result.structured_content["city"] == "Oslo"

    anyio.run(main)


def test_an_upstream_that_cannot_start_is_reported() -> None:
    async def main() -> None:
        async with proxy(*upstream("fake"), "--upstream", "ghost=/nonexistent/mcp-server --flag",
                         "--max-restarts", "0") as p:
            found = await p.search("weather in Oslo", 3)
            status = {s["name"]: s for s in found["upstreams"]}
            assert status["ghost"]["status"] == "failed"
            assert "/nonexistent/mcp-server" in status["ghost"]["error"]
            assert status["fake"]["status"] == "up"
            assert found["tools"][0]["name"] == "fake.get_weather"
            with pytest.raises(MCPError) as err:
                await p.call("ghost.anything", {})
            assert "upstream 'ghost'" in err.value.message

    anyio.run(main)


def test_expose_found_lists_found_tools_lru() -> None:
    async def main() -> None:
        async with proxy(*upstream("fake"), "--expose-found", "3", "--max-restarts", "0") as p:
            assert len((await p.session.list_tools()).tools) == 2
            first = await p.names("what's the weather like in Oslo right now?", 2)
            assert any(isinstance(n, types.ToolListChangedNotification) for n in p.notices)
            listed = {t.name: t for t in (await p.session.list_tools()).tools}
            assert set(listed) == {"search_tools", "call_tool", *first}
            assert listed["fake.get_weather"].input_schema == next(
                t for t in TOOLS if t.name == "get_weather").input_schema
            # A found tool can now be called by its own name.
            result = await p.session.call_tool("fake.get_weather", {"city": "Oslo"})
            assert result.structured_content["city"] == "Oslo"
            # Two more found: the cap (3) drops the least recently found.
            second = await p.names("send an email to my boss", 2)
            exposed = [t.name for t in (await p.session.list_tools()).tools][2:]
            assert len(exposed) == 3
            assert exposed[:2] == second  # most recently found first
            assert exposed[2] == first[0]  # the best of the first search was found after its runner-up
            # Its upstream dies for good: the found tools are withdrawn and the client is told.
            notices = len(p.notices)
            with pytest.raises(MCPError):
                await p.call("fake.crash", {})

            async def withdrawn() -> bool:
                return len(p.notices) > notices and len((await p.session.list_tools()).tools) == 2

            await p.wait_for(withdrawn, "the found tools to be withdrawn")

    anyio.run(main)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamable_http_proxy_with_an_http_upstream(tmp_path: Path) -> None:
    """Both hops over streamable HTTP: the client to the proxy, the proxy to an --upstream-url."""
    from mcp.client.streamable_http import streamable_http_client

    up_port = _free_port()
    upstream_proc = subprocess.Popen([sys.executable, str(FAKE), "--http-port", str(up_port)])
    proxy_log = tmp_path / "proxy.log"
    with open(proxy_log, "w") as log_file:
        proxy_proc = subprocess.Popen(
            [sys.executable, "-m", "toolrank.cli", "mcp", "proxy", "--transport", "streamable-http", "--port", "0",
             "--upstream-url", f"web=http://127.0.0.1:{up_port}/mcp", "--upstream", f"local={FAKE_CMD}"],
            stderr=log_file)
    try:
        deadline = time.monotonic() + 120
        url = ""
        while not url:
            assert proxy_proc.poll() is None, proxy_log.read_text()
            assert time.monotonic() < deadline, "the proxy never said where it listens"
            for line in proxy_log.read_text().splitlines():
                if "serving streamable HTTP on " in line:
                    url = line.rsplit(" ", 1)[1]
            time.sleep(0.2)

        async def main() -> None:
            async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                assert [t.name for t in (await session.list_tools()).tools] == ["search_tools", "call_tool"]
                p = Proxy(session, [])

                async def both_up() -> dict[str, Any] | None:
                    found = await p.search("weather in Oslo", 2)
                    ok = all(s["status"] == "up" for s in found["upstreams"])
                    return found if ok else None

                found = await p.wait_for(both_up, "both upstreams")
                assert {t["name"] for t in found["tools"]} == {"web.get_weather", "local.get_weather"}
                assert {s["name"]: s["transport"] for s in found["upstreams"]} == {"web": "http",
                                                                                    "local": "stdio"}
                result = await p.call("web.get_weather", {"city": "Lima"})
                assert result.structured_content == {"city": "Lima", "temp_c": 21, "sky": "sunny"}
                result = await p.call("web.divide", {"a": 1, "b": 0})
                assert result.is_error

        anyio.run(main)
    finally:
        for proc in (proxy_proc, upstream_proc):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_an_http_upstream_that_goes_away_is_reported() -> None:
    up_port = _free_port()
    upstream_proc = subprocess.Popen([sys.executable, str(FAKE), "--http-port", str(up_port)])
    try:
        async def main() -> None:
            async with proxy("--upstream-url", f"web=http://127.0.0.1:{up_port}/mcp", *upstream("local"),
                             "--restart-backoff-s", "0.2", "--max-restarts", "2") as p:
                async def web_up() -> bool:
                    found = await p.search("weather in Oslo", 2)
                    return all(s["status"] == "up" for s in found["upstreams"])

                await p.wait_for(web_up, "the HTTP upstream")  # it may start after the proxy: restarts cover it
                upstream_proc.kill()
                upstream_proc.wait()
                with pytest.raises(MCPError) as err:
                    await p.call("web.get_weather", {"city": "Oslo"})
                assert "upstream 'web'" in err.value.message

                async def web_failed() -> dict[str, Any] | None:
                    found = await p.search("weather in Oslo", 2)
                    status = {s["name"]: s["status"] for s in found["upstreams"]}
                    return found if status == {"web": "failed", "local": "up"} else None

                found = await p.wait_for(web_failed, "the HTTP upstream to be given up on")
                assert found["tools"] and all(t["name"].startswith("local.") for t in found["tools"])

        anyio.run(main)
    finally:
        if upstream_proc.poll() is None:
            upstream_proc.kill()
            upstream_proc.wait()
