"""MCP defaults that are safe: upstreams get the SDK's default environment plus --pass-env, streamable HTTP
needs a bearer token (401 without; refused off loopback without one), forwarded calls time out by default,
a failed upstream is retried slowly instead of never, and a rejected catalog sync keeps a healthy upstream up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio
import httpx
import mcp_types as types
import pytest

from toolrank.cli import build_parser
from toolrank.errors import InvalidRequest
from toolrank.mcp.http_auth import BearerAuth, check_exposure
from toolrank.mcp.upstream import UP, RestartPolicy, Upstream, UpstreamSpec

HERE = Path(__file__).resolve().parent
FAKE = HERE / "fake_upstream.py"
ROOT = HERE.parents[1]


def test_upstreams_get_the_sdk_default_environment_plus_pass_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROXY_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("UPSTREAM_NEEDS_THIS", "yes")
    up = Upstream(UpstreamSpec("a", command=("server", "--flag")), sink=None, policy=RestartPolicy(),  # type: ignore[arg-type]
                  pass_env=["UPSTREAM_NEEDS_THIS", "NOT_SET_ANYWHERE"])
    env = up.stdio_params().env or {}
    assert "PROXY_SECRET_KEY" not in env and env["UPSTREAM_NEEDS_THIS"] == "yes"
    assert env.get("PATH") == os.environ["PATH"] and "NOT_SET_ANYWHERE" not in env


async def _ok_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_bearer_auth_answers_401_without_the_token() -> None:
    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=BearerAuth(_ok_app, "s3cret"))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            codes = [(await client.post("/mcp")).status_code,
                     (await client.post("/mcp", headers={"Authorization": "Bearer wrong"})).status_code,
                     (await client.post("/mcp", headers={"Authorization": "Bearer s3cret"})).status_code]
            refused = await client.post("/mcp")
            assert refused.headers["www-authenticate"].startswith("Bearer")
            return codes

    assert anyio.run(go) == [401, 401, 200]


def test_non_loopback_needs_a_token() -> None:
    check_exposure("127.0.0.1", None)
    check_exposure("::1", None)
    check_exposure("localhost", None)
    check_exposure("0.0.0.0", "t")
    for host in ("0.0.0.0", "10.1.2.3", "::", "mcp.internal"):
        with pytest.raises(ValueError, match="without a token"):
            check_exposure(host, None)


def test_the_cli_refuses_a_public_host_without_a_token_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TOOLRANK_MCP_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "server"), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-m", "toolrank.cli", "mcp", "serve", "--catalog", "c",
                           "--store", f"sqlite:///{tmp_path}/c.sqlite3", "--transport", "streamable-http",
                           "--host", "0.0.0.0", "--port", "0"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--auth-token" in lines[0] and "0.0.0.0" in lines[0], done.stderr


def test_forwarded_calls_have_a_default_timeout_and_failed_upstreams_a_slow_retry() -> None:
    args = build_parser().parse_args(["mcp", "proxy", "--upstream", "a=server"])
    assert args.call_timeout_s > 0 and args.slow_retry_s > 0 and args.pass_env == []


class RecordingSink:
    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse
        self.dropped = 0

    async def set_tools(self, upstream: str, tools: Sequence[types.Tool]) -> None:
        if self.refuse:
            raise InvalidRequest("candidates[3].tool: not a valid schema")

    async def drop(self, upstream: str) -> None:
        self.dropped += 1


def test_an_upstream_that_cannot_start_is_retried_slowly_after_max_restarts() -> None:
    policy = RestartPolicy(max_restarts=1, backoff_s=0.0, connect_timeout_s=5, slow_retry_s=0.05)
    up = Upstream(UpstreamSpec("gone", command=(sys.executable, "-c", "import sys; sys.exit(3)")),
                  RecordingSink(refuse=False), policy)

    async def go() -> None:
        with anyio.move_on_after(8):
            async with anyio.create_task_group() as tg:
                tg.start_soon(up.run)
                while up.state.restarts < 4:
                    await anyio.sleep(0.05)
                tg.cancel_scope.cancel()

    anyio.run(go)
    assert up.state.restarts >= 4  # main gave up after max_restarts (1) and never tried again


def test_a_rejected_catalog_sync_keeps_a_healthy_upstream_up() -> None:
    sink = RecordingSink(refuse=True)
    policy = RestartPolicy(max_restarts=2, backoff_s=0.0, connect_timeout_s=60)
    up = Upstream(UpstreamSpec("fake", command=(sys.executable, str(FAKE))), sink, policy)

    async def go() -> tuple[str, int, str, bool]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(up.run)
            with anyio.fail_after(60):
                await up.first_attempt.wait()
            await anyio.sleep(0.5)  # a torn-down upstream would be DOWN or restarting by now
            result = await up.call("divide", {"a": 6, "b": 3})
            state = (up.state.status, up.state.restarts, up.state.error, result.is_error)
            tg.cancel_scope.cancel()
        return state

    status, restarts, error, is_error = anyio.run(go)
    assert status == UP and restarts == 0 and sink.dropped == 0
    assert "catalog sync rejected" in error and not is_error
