"""``toolrank mcp proxy``: upstream MCP servers behind search_tools and call_tool, searched through a catalog."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPError

from toolrank.catalogs import CatalogService, open_store
from toolrank.engine.engine import Engine
from toolrank.mcp.server import build_server, serve_http, serve_stdio
from toolrank.mcp.upstream_tools import FoundTool, ToolCatalog
from toolrank.mcp.upstream import RestartPolicy, UpstreamManager, UpstreamSpec
from toolrank.settings import Settings

log = logging.getLogger("toolrank.mcp")


@dataclass(frozen=True)
class ProxyOptions:
    upstreams: tuple[UpstreamSpec, ...]
    catalog: str = "mcp"
    store: str = "memory://"
    transport: str = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    auth_token: str | None = None  # streamable HTTP: the bearer token every request must carry
    pass_env: tuple[str, ...] = ()  # variables stdio upstreams get beyond the SDK's safe default environment
    expose_found: int = 0
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    call_timeout_s: float | None = None
    ready_timeout_s: float = 60.0  # how long a search or call waits for upstreams still starting
    learn: bool = True  # a search followed by a successful call of a found tool becomes feedback


class ProxyBackend:
    """Searches the upstream catalog and forwards calls to the upstream that owns the tool."""

    can_call = True

    def __init__(self, catalog: ToolCatalog, upstreams: UpstreamManager, ready_timeout_s: float) -> None:
        self.catalog = catalog
        self.upstreams = upstreams
        self.ready_timeout_s = ready_timeout_s

    async def search(self, query: str, top_k: int) -> list[FoundTool]:
        await self.upstreams.wait_first_attempts(self.ready_timeout_s)
        return await self.catalog.search(query, top_k)

    def statuses(self) -> list[dict[str, Any]]:
        return self.upstreams.statuses()

    def exists(self, name: str) -> bool:
        return self.catalog.lookup(name) is not None

    async def record_choice(self, query: str, name: str) -> None:
        """Feedback: ``query`` found ``name`` (a qualified tool name, the catalog's id) and its call succeeded."""
        from toolrank.catalogs.types import FeedbackRequest
        from toolrank.mcp.learning import FEEDBACK_SOURCE

        await self.catalog.service.feedback(FeedbackRequest(self.catalog.catalog, query, (name,), (), FEEDBACK_SOURCE))

    def summary(self) -> str:
        from toolrank.mcp.learning import catalog_summary

        return catalog_summary(self.catalog.tool_names())

    def on_withdrawn(self, listener: Callable[[], Awaitable[None]]) -> None:
        self.catalog.add_listener(listener)

    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        await self.upstreams.wait_first_attempts(self.ready_timeout_s)
        hit = self.catalog.lookup(name)
        if hit is None:
            up, dot, tool = name.partition(".")
            upstream = self.upstreams.get(up) if dot else None
            if upstream is not None and upstream.state.status != "up":
                return await upstream.call(tool, arguments)  # raises the MCP error naming the upstream
            owners = self.catalog.owners_of(name)
            if len(owners) > 1:
                raise MCPError(types.INVALID_PARAMS, f"tool {name!r} is offered by several upstreams; call one of "
                                                     f"{', '.join(owners)}")
            return types.CallToolResult(content=[types.TextContent(
                text=f"unknown tool {name!r}: use search_tools to find a tool and pass its exact name")], is_error=True)
        upstream_name, found = hit
        upstream = self.upstreams.get(upstream_name)
        assert upstream is not None
        return await upstream.call(found.name, arguments)


async def run_proxy(settings: Settings, options: ProxyOptions) -> None:
    """Load the engine, open the catalog, start the upstreams, serve the client until it leaves."""
    engine = Engine.from_settings(settings)
    async with engine:
        service = CatalogService(engine, open_store(options.store), settings)
        try:
            catalog = ToolCatalog(service, options.catalog)
            await catalog.reset()
            manager = UpstreamManager(options.upstreams, catalog, options.policy, options.call_timeout_s,
                                      options.pass_env)
            backend = ProxyBackend(catalog, manager, options.ready_timeout_s)
            server = build_server(backend, expose_found=options.expose_found, name="toolrank-mcp-proxy",
                                  learn=options.learn)
            async with anyio.create_task_group() as tg:
                await tg.start(manager.run)
                if options.transport == "stdio":
                    await serve_stdio(server)
                else:
                    await serve_http(server, options.host, options.port, options.auth_token)
                tg.cancel_scope.cancel()
        finally:
            await service.aclose()


def upstream_specs(commands: Sequence[str], urls: Sequence[str]) -> tuple[UpstreamSpec, ...]:
    from toolrank.mcp.upstream import parse_upstream

    specs = [parse_upstream(c) for c in commands] + [parse_upstream(u, url=True) for u in urls]
    names = [s.name for s in specs]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"upstream name {name!r} is given twice")
    return tuple(specs)
