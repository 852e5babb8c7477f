"""Upstream MCP servers: connect (stdio command or streamable-HTTP URL), follow their tools, restart when they die.

One :class:`Upstream` per ``--upstream``/``--upstream-url``. Its task connects with the official SDK's
client, reads ``tools/list`` page by page, hands the tools to a sink (the proxy's tool catalog),
re-reads them on ``notifications/tools/list_changed``, and notices the end of the connection (a stdio
server's stdout closing; a failed ping over HTTP). A dead or unstartable upstream is reported by
:meth:`Upstream.status`, its tools are withdrawn from the sink, and it is restarted with exponential
backoff a bounded number of times; then it is reported failed (one clear log line) and tried again
on a slow schedule, so an upstream that was down for a while comes back without a proxy restart.
Calls to its tools while it is down fail with an MCP error naming it; the other upstreams are not
touched. A catalog sync the catalog refuses (a limit, the store) is logged and reported, never a
reason to drop a connection that works: the upstream's tools stay callable and the sync is retried.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import mcp_types as types

if sys.version_info < (3, 11):  # anyio's dependency brings the backport
    from exceptiongroup import BaseExceptionGroup
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from toolrank.mcp.security import upstream_environment

log = logging.getLogger("toolrank.mcp")

UPSTREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_TOOL_PAGES = 1000  # a server whose cursor never ends must not hang the proxy

STARTING, UP, DOWN, FAILED = "starting", "up", "down", "failed"

# JSON-RPC code for "the upstream cannot serve this call" (implementation-defined server error range).
UPSTREAM_UNAVAILABLE = -32001


class ToolSink(Protocol):
    """Where an upstream's tools go: the proxy's tool catalog."""

    async def set_tools(self, upstream: str, tools: Sequence[types.Tool]) -> None: ...

    async def drop(self, upstream: str) -> None: ...


@dataclass(frozen=True)
class UpstreamSpec:
    """One upstream: a stdio command (argv) or a streamable-HTTP URL."""

    name: str
    command: tuple[str, ...] = ()
    url: str = ""

    @property
    def kind(self) -> str:
        return "http" if self.url else "stdio"


@dataclass(frozen=True)
class RestartPolicy:
    """Bounded restarts: ``max_restarts`` in a row, waiting ``backoff_s * 2**n`` (capped) between them.

    A connection that stayed up ``stable_s`` resets the count, so a server that crashes once a day
    is restarted every time while one that cannot start is given up on after a few tries; a given-up
    upstream is tried again every ``failed_retry_s`` (its fast restarts start over once it is back).
    """

    max_restarts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    stable_s: float = 60.0
    connect_timeout_s: float = 30.0
    ping_interval_s: float = 15.0  # HTTP upstreams only: stdio death is seen at once (stdout closes)
    failed_retry_s: float = 300.0
    sync_retry_s: float = 30.0  # a catalog sync that was refused is tried again this often

    def delay(self, attempt: int) -> float:
        return min(self.backoff_s * (2 ** max(attempt - 1, 0)), self.max_backoff_s)


def parse_upstream(arg: str, *, url: bool = False) -> UpstreamSpec:
    """``NAME=COMMAND`` (split like a shell) or, with ``url``, ``NAME=URL``; raises ValueError naming the problem."""
    name, sep, rest = arg.partition("=")
    name, rest = name.strip(), rest.strip()
    flag = "--upstream-url" if url else "--upstream"
    if not sep or not rest:
        raise ValueError(f"{flag} {arg!r}: expected NAME={'URL' if url else 'COMMAND'}")
    if not UPSTREAM_NAME.fullmatch(name):
        raise ValueError(f"{flag} {arg!r}: the name {name!r} must be 1-64 of A-Z a-z 0-9 _ - (no dots: "
                         "tools are called NAME.tool)")
    if url:
        if not re.match(r"https?://", rest):
            raise ValueError(f"{flag} {arg!r}: {rest!r} is not an http(s) URL")
        return UpstreamSpec(name, url=rest)
    try:
        argv = tuple(shlex.split(rest))
    except ValueError as exc:
        raise ValueError(f"{flag} {arg!r}: cannot split the command: {exc}") from None
    return UpstreamSpec(name, command=argv)


def describe(exc: BaseException) -> str:
    """One line for a failure, digging the first real error out of anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class UpstreamGone(Exception):
    """The connection to an upstream ended (process exited, stream closed, ping failed)."""


@dataclass
class UpstreamStatus:
    """What ``search_tools`` reports per upstream, and what the log says."""

    name: str
    kind: str
    status: str = STARTING
    tools: int = 0
    error: str = ""
    restarts: int = 0
    since: float = field(default_factory=time.time)
    sync_error: str = ""  # the catalog refused this upstream's latest tools (the upstream itself is fine)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "transport": self.kind, "status": self.status, "tools": self.tools,
                             "restarts": self.restarts}
        if self.error:
            d["error"] = self.error
        if self.sync_error:
            d["sync_error"] = self.sync_error
        return d


class Upstream:
    """One upstream server's connection, tools and restarts; :meth:`run` is its whole life."""

    def __init__(self, spec: UpstreamSpec, sink: ToolSink, policy: RestartPolicy,
                 call_timeout_s: float | None = None, pass_env: Sequence[str] = ()) -> None:
        self.spec = spec
        self.sink = sink
        self.policy = policy
        self.call_timeout_s = call_timeout_s
        self.pass_env = tuple(pass_env)
        self.state = UpstreamStatus(spec.name, spec.kind)
        self.first_attempt = anyio.Event()  # set once the first connection has loaded its tools or failed
        self._session: ClientSession | None = None
        self._changed = anyio.Event()
        self._unsynced: list[types.Tool] | None = None  # tools the catalog refused, to sync again
        self._sync_lock = anyio.Lock()  # a retry never puts an older list over a newer one

    @property
    def name(self) -> str:
        return self.spec.name

    def status(self) -> dict[str, Any]:
        return self.state.as_dict()

    def _transport(self) -> AbstractAsyncContextManager[Any]:
        if self.spec.url:
            return streamable_http_client(self.spec.url)
        # The SDK's safe default environment plus --pass-env: never the proxy's secrets.
        params = StdioServerParameters(command=self.spec.command[0], args=list(self.spec.command[1:]),
                                       env=upstream_environment(self.pass_env, os.environ))
        return stdio_client(params, errlog=sys.stderr)

    async def run(self) -> None:
        """Connect, serve, restart with backoff; past the restart budget, retry on the slow schedule."""
        failures = 0
        gave_up = False
        while True:
            started = time.monotonic()
            try:
                await self._connect_and_follow()
                reason = "connection closed"
            except UpstreamGone as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001 - any failure of one upstream stays with that upstream
                reason = describe(exc)
            self._session = None
            was_up = self.state.status == UP
            if was_up and (gave_up or time.monotonic() - started >= self.policy.stable_s):
                failures, gave_up = 0, False  # back after a give-up: its fast restarts start over
            failures += 1
            self.state.status, self.state.error, self.state.tools = DOWN, reason, 0
            self.state.since = time.time()
            try:
                await self.sink.drop(self.name)
            except Exception as exc:  # noqa: BLE001 - never let one upstream's cleanup end the proxy
                log.error("upstream %r: could not withdraw its tools: %s", self.name, describe(exc))
            self.first_attempt.set()
            if failures > self.policy.max_restarts:
                self.state.status = FAILED
                if not gave_up:
                    log.error("upstream %r: giving up after %d failed start(s) in a row; last error: %s; its "
                              "tools are withdrawn; trying again every %.0f s", self.name, failures, reason,
                              self.policy.failed_retry_s)
                else:
                    log.warning("upstream %r: still failing (%s); next try in %.0f s", self.name, reason,
                                self.policy.failed_retry_s)
                gave_up = True
                await anyio.sleep(self.policy.failed_retry_s)
                self.state.restarts += 1
                continue
            delay = self.policy.delay(failures)
            log.warning("upstream %r %s: %s; restart %d of %d in %.1f s", self.name,
                        "died" if was_up else "failed to start", reason, failures, self.policy.max_restarts, delay)
            await anyio.sleep(delay)
            self.state.restarts += 1
            self.state.status = STARTING

    async def _connect_and_follow(self) -> None:
        async with self._transport() as (read, write):
            forward_send, forward_recv = anyio.create_memory_object_stream[Any](0)
            ended = anyio.Event()

            async def pump() -> None:
                """Pass messages to the session; the end of the stream is the end of the upstream."""
                try:
                    async with forward_send:
                        async for item in read:
                            await forward_send.send(item)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
                    pass
                finally:
                    ended.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(pump)
                async with ClientSession(forward_recv, write, message_handler=self._on_message) as session:
                    with anyio.fail_after(self.policy.connect_timeout_s):
                        await session.initialize()
                        tools = await self._list_all(session)
                    await self._sync(tools)
                    self._session = session
                    self.state.status, self.state.error, self.state.tools = UP, "", len(tools)
                    self.state.since = time.time()
                    info = session.server_info
                    log.info("upstream %r up (%s%s): %d tools", self.name,
                             info.name if info else "?", f" {info.version}" if info and info.version else "",
                             len(tools))
                    self.first_attempt.set()
                    async with anyio.create_task_group() as follow:
                        follow.start_soon(self._follow_changes, session)
                        follow.start_soon(self._retry_sync)
                        if self.spec.url:
                            follow.start_soon(self._ping, session)
                        await ended.wait()
                        follow.cancel_scope.cancel()
                    self._session = None
                tg.cancel_scope.cancel()
        raise UpstreamGone("the server process exited (its stdout closed)" if not self.spec.url
                           else "the connection closed")

    async def _list_all(self, session: ClientSession) -> list[types.Tool]:
        """Every page of ``tools/list``; a tool name seen twice keeps its last definition."""
        tools: dict[str, types.Tool] = {}
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
            for tool in page.tools:
                tools[tool.name] = tool
            cursor = page.next_cursor
            if not cursor:
                return list(tools.values())
        raise UpstreamGone(f"tools/list returned more than {MAX_TOOL_PAGES} pages")

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._changed.set()
        elif isinstance(message, Exception):
            log.warning("upstream %r: transport error: %s", self.name, describe(message))

    async def _follow_changes(self, session: ClientSession) -> None:
        """Re-read the tools after each list_changed; bursts of notifications coalesce into one re-read."""
        while True:
            await self._changed.wait()
            self._changed = anyio.Event()
            with anyio.fail_after(self.policy.connect_timeout_s):
                tools = await self._list_all(session)
            await self._sync(tools)
            self.state.tools = len(tools)
            log.info("upstream %r: tools changed, now %d", self.name, len(tools))

    async def _sync(self, tools: list[types.Tool]) -> None:
        """Hand the tools to the catalog; a refusal is reported and retried, and leaves the connection up."""
        async with self._sync_lock:
            await self._put(tools)

    async def _put(self, tools: list[types.Tool]) -> None:
        try:
            await self.sink.set_tools(self.name, tools)
        except Exception as exc:  # noqa: BLE001 - a catalog limit or a store outage is not the upstream's failure
            self.state.sync_error = describe(exc)
            self._unsynced = tools
            log.error("upstream %r: the catalog refused its %d tools (%s); they stay callable by name, search "
                      "keeps the tools indexed before; retrying every %.0f s and on its next change", self.name,
                      len(tools), self.state.sync_error, self.policy.sync_retry_s)
            return
        self.state.sync_error = ""
        self._unsynced = None

    async def _retry_sync(self) -> None:
        """Sync a refused tool list again now and then (a store back up, a limit raised by a restart elsewhere)."""
        while True:
            await anyio.sleep(self.policy.sync_retry_s)
            async with self._sync_lock:
                if self._unsynced is not None:
                    await self._put(self._unsynced)

    async def _ping(self, session: ClientSession) -> None:
        while True:
            await anyio.sleep(self.policy.ping_interval_s)
            try:
                with anyio.fail_after(self.policy.connect_timeout_s):
                    await session.send_ping()
            except Exception as exc:
                raise UpstreamGone(f"ping failed: {describe(exc)}") from exc

    async def call(self, tool: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        """Forward one ``tools/call``; the upstream's result comes back as it sent it (no output validation)."""
        session = self._session
        if session is None or self.state.status != UP:
            why = f": {self.state.error}" if self.state.error else ""
            raise MCPError(UPSTREAM_UNAVAILABLE, f"upstream {self.name!r} is {self.state.status}{why}; "
                                                 f"its tool {tool!r} cannot be called now")
        request = types.CallToolRequest(params=types.CallToolRequestParams(name=tool, arguments=arguments))
        try:
            return await session.send_request(request, types.CallToolResult,
                                              request_read_timeout_seconds=self.call_timeout_s)
        except MCPError as exc:
            if exc.code == types.REQUEST_TIMEOUT and self.call_timeout_s is not None:
                raise MCPError(types.REQUEST_TIMEOUT, f"upstream {self.name!r}: {tool!r} did not answer within "
                                                      f"{self.call_timeout_s:g} s (--call-timeout-s); the call was "
                                                      "cancelled") from None
            if exc.code == types.CONNECTION_CLOSED:
                raise MCPError(UPSTREAM_UNAVAILABLE, f"upstream {self.name!r} closed the connection during the call "
                                                     f"to {tool!r}") from None
            raise MCPError(exc.code, f"upstream {self.name!r}: {exc.message}", exc.data) from None


class UpstreamManager:
    """All upstreams of one proxy: start them together, find one by name, report them all."""

    def __init__(self, specs: Sequence[UpstreamSpec], sink: ToolSink, policy: RestartPolicy,
                 call_timeout_s: float | None = None, pass_env: Sequence[str] = ()) -> None:
        names = [s.name for s in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"upstream name {dup[0]!r} is given twice")
        self.upstreams = {s.name: Upstream(s, sink, policy, call_timeout_s, pass_env) for s in specs}

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            for upstream in self.upstreams.values():
                tg.start_soon(upstream.run)
            task_status.started()

    async def wait_first_attempts(self, timeout_s: float) -> None:
        """Wait (bounded) until every upstream has loaded its tools or failed once, so early searches see them."""
        with anyio.move_on_after(timeout_s):
            for upstream in self.upstreams.values():
                await upstream.first_attempt.wait()

    def statuses(self) -> list[dict[str, Any]]:
        return [u.status() for u in self.upstreams.values()]

    def get(self, name: str) -> Upstream | None:
        return self.upstreams.get(name)

