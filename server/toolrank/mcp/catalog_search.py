"""``toolrank mcp serve``: search_tools over an existing catalog, in process (a store URL) or on a running server.

No upstreams and no call_tool: the catalog was filled by ``toolrank catalog put`` (or the API), so its
tools may be in any format the tool normalizer reads; each hit is shown the MCP way (name, description,
inputSchema) when its schema can be read as one, else as its id and normalized text.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
from mcp.shared.exceptions import MCPError

from toolrank.mcp.upstream_tools import FoundTool, found_list

_SCHEMA_KEYS = ("inputSchema", "input_schema", "parameters", "parametersJsonSchema")


def as_mcp_tool(doc: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(name, description, input schema) of one tool schema: MCP, OpenAI chat/Responses, Anthropic, BFCL, Gemini."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("function"), dict):  # OpenAI chat: {"type": "function", "function": {...}}
        doc = doc["function"]
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        return None
    description = doc.get("description") if isinstance(doc.get("description"), str) else ""
    schema: Any = next((doc[k] for k in _SCHEMA_KEYS if isinstance(doc.get(k), dict)), None)
    if schema is None:
        schema = {"type": "object", "properties": {}}
    elif schema.get("type") == "dict":  # BFCL's dialect of JSON Schema
        schema = {**schema, "type": "object"}
    return name, description, schema


def found_from_candidate(cid: str, score: float, candidate: Any, text: str | None) -> FoundTool:
    """A select hit as search_tools shows it (``candidate`` is a toolrank Candidate or None)."""
    raw = getattr(getattr(candidate, "content", None), "json", None)
    if isinstance(raw, str):
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        tools = doc if isinstance(doc, list) else [doc]
        read = as_mcp_tool(tools[0]) if len(tools) == 1 else None
        if read is not None:
            name, description, schema = read
            return FoundTool(name, description, schema, score)
    return FoundTool(cid, text or "", {"type": "object", "properties": {}}, score)


class CatalogBackend:
    """search_tools over one catalog of an in-process :class:`~toolrank.catalogs.CatalogService`."""

    can_call = False

    def __init__(self, service: Any, catalog: str) -> None:
        self.service = service
        self.catalog = catalog

    async def search(self, query: str, top_k: int) -> list[FoundTool]:
        from toolrank.catalogs import SelectQuery
        from toolrank.errors import ToolrankError

        try:
            out = await self.service.select(SelectQuery(self.catalog, query, top_k=top_k, return_candidates=True,
                                                        return_text=True))
        except ToolrankError as exc:
            raise MCPError(types.INTERNAL_ERROR, f"catalog {self.catalog!r}: {exc}") from None
        return found_list([found_from_candidate(h.id, h.score, h.candidate, h.text) for h in out.results], out.no_match)

    def statuses(self) -> list[dict[str, Any]]:
        return []

    def exists(self, name: str) -> bool:
        return False

    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        raise MCPError(types.METHOD_NOT_FOUND, "this server only searches; it has no call_tool")


class RemoteCatalogBackend(CatalogBackend):
    """search_tools over a catalog of a running server, through the (blocking) gRPC client's ``select`` in a thread."""

    def __init__(self, client: Any, catalog: str) -> None:
        super().__init__(None, catalog)
        self.client = client

    async def search(self, query: str, top_k: int) -> list[FoundTool]:
        import anyio

        from toolrank.errors import ToolrankError

        def select() -> Any:
            return self.client.select(self.catalog, query, top_k, return_candidates=True, return_text=True)

        try:
            out = await anyio.to_thread.run_sync(select)
        except ToolrankError as exc:
            raise MCPError(types.INTERNAL_ERROR, f"catalog {self.catalog!r} at {self.client.address}: {exc}") from None
        return found_list([found_from_candidate(h.id, h.score, h.candidate, h.text) for h in out.results], out.no_match)


async def run_catalog_server(settings: Any, catalog: str, *, address: str | None, token: str | None,
                             transport: str, host: str, port: int, auth_token: str | None = None) -> None:
    """Serve search_tools over ``catalog``: checked to exist first, so a typo fails at start, not at the first search."""
    from toolrank.mcp.server import build_server, serve_http, serve_stdio

    async def serve(backend: Any) -> None:
        server = build_server(backend, name="toolrank-mcp-catalog")
        if transport == "stdio":
            await serve_stdio(server)
        else:
            await serve_http(server, host, port, auth_token)

    if address:
        import anyio

        from toolrank.client import Client

        client = Client(address, token=token)
        try:
            await anyio.to_thread.run_sync(client.get_catalog, catalog)
            await serve(RemoteCatalogBackend(client, catalog))
        finally:
            client.close()
        return
    from toolrank.catalogs import CatalogService, open_store
    from toolrank.engine.engine import Engine

    engine = Engine.from_settings(settings)
    async with engine:
        service = CatalogService(engine, open_store(settings.store), settings)
        try:
            await service.get(catalog)
            await serve(CatalogBackend(service, catalog))
        finally:
            await service.aclose()
