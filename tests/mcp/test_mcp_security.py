"""Safe MCP defaults (issue 20, item 7): what upstreams inherit, the HTTP endpoint's bearer token,
forwarded-call timeouts, given-up upstreams tried again, a refused catalog sync that leaves the
upstream serving. Real proxy processes, real upstream servers over stdio, the SDK's own client.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from toolrank.cli import build_parser
from toolrank.mcp.security import is_loopback, upstream_environment

HERE = Path(__file__).resolve().parent
SERVER_SRC = HERE.parents[1] / "server"
PROBE_CMD = f"{sys.executable} {HERE / 'probe_upstream.py'}"
FAKE_CMD = f"{sys.executable} {HERE / 'fake_upstream.py'}"
sys.path.insert(0, str(HERE))
from fake_upstream import TOOLS as FAKE_TOOLS  # noqa: E402 - beside this file, on sys.path above

# The proxy under test is this checkout's, whatever the installed toolrank is.
PROXY_ENV = {"PYTHONPATH": str(SERVER_SRC)}


class Proxy:
    def __init__(self, session: ClientSession) -> None:
        self.session = session

    async def search(self, query: str, top_k: int = 5) -> dict[str, Any]:
        result = await self.session.call_tool("search_tools", {"query": query, "top_k": top_k})
        assert not result.is_error, result.content
        assert isinstance(result.structured_content, dict)
        return result.structured_content

    async def status(self, name: str) -> dict[str, Any]:
        found = await self.search("anything", 1)
        return next(s for s in found["upstreams"] if s["name"] == name)

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        return await self.session.call_tool("call_tool", {"name": name, "arguments": arguments})

    async def wait_for(self, predicate: Any, what: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = await predicate()
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await anyio.sleep(0.2)


@asynccontextmanager
async def proxy(*flags: str, env: dict[str, str] | None = None, errlog: Any = None) -> AsyncIterator[Proxy]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "toolrank.cli", "mcp", "proxy", *flags],
                                   env={**PROXY_ENV, **(env or {})})
    async with stdio_client(params, errlog=errlog or sys.stderr) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield Proxy(session)


# --- what upstreams inherit -------------------------------------------------------------------------


def test_upstreams_get_the_sdk_default_environment_and_pass_env_only() -> None:
    async def main() -> None:
        env = {"TOOLRANK_STORE_PASSWORD": "hunter2", "AWS_SECRET_ACCESS_KEY": "wJalr", "WANTED_BY_UPSTREAM": "yes"}
        async with proxy("--upstream", f"probe={PROBE_CMD}", "--pass-env", "WANTED_BY_UPSTREAM",
                         "--pass-env", "NOT_SET_ANYWHERE", env=env) as p:
            result = await p.call("probe.environment", {})
            assert not result.is_error, result.content
            seen = result.structured_content["variables"]
            assert seen.get("WANTED_BY_UPSTREAM") == "yes"
            assert "TOOLRANK_STORE_PASSWORD" not in seen and "AWS_SECRET_ACCESS_KEY" not in seen
            assert "PYTHONPATH" not in seen  # the proxy's own, not named: not passed
            assert "NOT_SET_ANYWHERE" not in seen
            assert seen.get("PATH") == os.environ.get("PATH")  # the SDK's default set is kept

    anyio.run(main)


def test_upstream_environment_is_the_sdk_default_plus_named() -> None:
    from mcp.client.stdio import get_default_environment

    environ = {**os.environ, "SECRET_TOKEN": "s", "KEEP_ME": "k"}
    env = upstream_environment(["KEEP_ME", "ABSENT"], environ)
    assert env == {**get_default_environment(), "KEEP_ME": "k"}


def test_pass_env_names_are_checked() -> None:
    proc = subprocess.run([sys.executable, "-m", "toolrank.cli", "mcp", "proxy", "--upstream", f"p={PROBE_CMD}",
                           "--pass-env", "A=B"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **PROXY_ENV}, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("toolrank mcp: error: --pass-env 'A=B'")


# --- the HTTP endpoint's bearer token ---------------------------------------------------------------


def test_loopback_only_means_loopback() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "example.com", "my-host"):
        assert not is_loopback(host), host


@pytest.mark.parametrize("command", [["proxy", "--upstream", f"p={PROBE_CMD}"], ["serve", "--catalog", "tools"]],
                         ids=["proxy", "serve"])
def test_a_non_loopback_http_endpoint_needs_a_token(command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TOOLRANK_MCP_TOKEN"} | PROXY_ENV
    try:
        proc = subprocess.run([sys.executable, "-m", "toolrank.cli", "mcp", *command, "--transport",
                               "streamable-http", "--host", "0.0.0.0", "--port", "0"], capture_output=True,
                              text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("the MCP endpoint started on 0.0.0.0 without a bearer token")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("toolrank mcp: error: refusing to serve streamable HTTP on 0.0.0.0 without a bearer "
                               "token") and "--auth-token" in lines[0]


def _start_http_proxy(log_path: Path, *flags: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "toolrank.cli", "mcp", "proxy", "--transport", "streamable-http",
                                 "--port", "0", *flags], stderr=log_file, env={**os.environ, **PROXY_ENV, **env},
                                stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "the proxy never said where it listens"
        for line in log_path.read_text().splitlines():
            if "serving streamable HTTP on " in line:
                return proc, line.rsplit(" ", 1)[1]
        time.sleep(0.2)


def test_streamable_http_answers_401_without_the_token(tmp_path: Path) -> None:
    token = "s3cret-token-for-the-test"
    proc, url = _start_http_proxy(tmp_path / "proxy.log", "--upstream", f"probe={PROBE_CMD}",
                                  env={"TOOLRANK_MCP_TOKEN": token})
    try:
        initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        for auth in (None, "Bearer wrong-token", f"Basic {token}", "Bearer", f"Bearer {token}x"):
            sent = dict(headers, authorization=auth) if auth else headers
            response = httpx2.post(url, json=initialize, headers=sent, timeout=30)
            assert response.status_code == 401, (auth, response.status_code)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert token not in response.text

        async def main() -> None:
            async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http, \
                    streamable_http_client(url, http_client=http) as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                assert [t.name for t in (await session.list_tools()).tools] == ["search_tools", "call_tool"]
                result = await session.call_tool("call_tool", {"name": "probe.sleep", "arguments": {"seconds": 0}})
                assert result.content[0].text == "awake"

        anyio.run(main)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- forwarded calls, restarts, catalog syncs -------------------------------------------------------


def test_forwarded_calls_have_a_default_timeout() -> None:
    args = build_parser().parse_args(["mcp", "proxy", "--upstream", "a=b"])
    assert 0 < args.call_timeout_s <= 600


def test_a_hung_tool_call_times_out_and_the_proxy_keeps_serving() -> None:
    async def main() -> None:
        async with proxy("--upstream", f"probe={PROBE_CMD}", "--call-timeout-s", "1") as p:
            started = time.monotonic()
            with pytest.raises(MCPError) as err:
                await p.call("probe.sleep", {"seconds": 60})
            assert time.monotonic() - started < 30
            assert "upstream 'probe'" in err.value.message and "did not answer within 1 s" in err.value.message
            assert (await p.status("probe"))["status"] == "up"
            result = await p.call("probe.sleep", {"seconds": 0})
            assert result.content[0].text == "awake"

    anyio.run(main)


def test_a_given_up_upstream_is_tried_again(tmp_path: Path) -> None:
    marker = tmp_path / "refuse-to-start"
    marker.touch()  # fake_upstream --fail-if-exists: exits 1 at start while the file exists
    log_path = tmp_path / "proxy.log"

    async def main() -> None:
        with open(log_path, "w") as errlog:
            async with proxy("--upstream", f"flaky={FAKE_CMD} --fail-if-exists {marker}",
                             "--upstream", f"probe={PROBE_CMD}", "--max-restarts", "1", "--restart-backoff-s", "0.1",
                             "--failed-retry-s", "1", errlog=errlog) as p:
                async def given_up() -> bool:
                    return (await p.status("flaky"))["status"] == "failed"

                await p.wait_for(given_up, "the upstream to be given up on")
                marker.unlink()

                async def back() -> dict[str, Any] | None:
                    status = await p.status("flaky")
                    return status if status["status"] == "up" else None

                status = await p.wait_for(back, "the given-up upstream to be tried again")
                assert status["restarts"] >= 2 and "error" not in status
                result = await p.call("flaky.get_weather", {"city": "Oslo"})
                assert result.structured_content["city"] == "Oslo"
        log = log_path.read_text()
        assert "upstream 'flaky': giving up after 2 failed start(s) in a row" in log
        assert "trying again every 1 s" in log

    anyio.run(main)


def test_a_refused_catalog_sync_leaves_the_upstream_serving(tmp_path: Path) -> None:
    """The fake's tools fill the catalog to its limit; one more (list_changed) is refused: nothing is torn down."""
    log_path = tmp_path / "proxy.log"

    async def main() -> None:
        with open(log_path, "w") as errlog:
            async with proxy("--upstream", f"fake={FAKE_CMD}", "--restart-backoff-s", "0.1", "--max-restarts", "1",
                             env={"TOOLRANK_MAX_CATALOG_CANDIDATES": str(len(FAKE_TOOLS))}, errlog=errlog) as p:
                assert (await p.status("fake"))["tools"] == len(FAKE_TOOLS)
                assert (await p.call("fake.install_translator", {})).content[0].text == "installed"

                async def refused() -> dict[str, Any] | None:
                    status = await p.status("fake")
                    return status if status.get("sync_error") else None

                status = await p.wait_for(refused, "the refused sync to be reported")
                assert "CatalogLimitExceeded" in status["sync_error"]
                await anyio.sleep(1.0)  # long enough for a torn-down upstream to show it
                status = await p.status("fake")
                assert status["status"] == "up" and status["restarts"] == 0, status
                found = await p.search("what's the weather like in Oslo right now?", 1)
                assert found["tools"][0]["name"] == "fake.get_weather"  # the tools indexed before stay searchable
                result = await p.call("fake.get_weather", {"city": "Oslo"})
                assert result.structured_content["city"] == "Oslo"
                result = await p.call("fake.translate_text", {"text": "hello", "target_language": "fr"})
                assert result.content[0].text == "[fr] hello"  # the new tool is callable by name
        assert f"the catalog refused its {len(FAKE_TOOLS) + 1} tools" in log_path.read_text()

    anyio.run(main)
