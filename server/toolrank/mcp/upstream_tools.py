"""The proxy's upstream tools: every upstream's tools in one toolrank catalog, kept by diff.

Tools are named ``UPSTREAM.tool`` (always prefixed: a name never changes meaning when another
upstream adds a tool of the same name; ``call_tool`` also accepts the bare name while it is unique).
Each tool is put into the catalog as its MCP JSON (name, description, inputSchema), which toolrank's
tool normalizer renders and the catalog embeds. On every change only the tools whose JSON changed
are put (new and changed ids) and the vanished ids deleted, so only they are normalized and
embedded again; an upstream that goes down has its ids deleted, and coming back costs no embedding
(the store keeps embeddings by content).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from toolrank.catalogs import CatalogService, PutCatalogRequest, SelectQuery
from toolrank.mcp.learning import exact_names
from toolrank.errors import CatalogNotFound
from toolrank.types import Candidate, ToolInput

log = logging.getLogger("toolrank.mcp")


@dataclass(frozen=True)
class FoundTool:
    """One search result as the client sees it."""

    name: str
    description: str
    input_schema: dict[str, Any]
    score: float
    upstream: str = ""

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "description": self.description, "inputSchema": self.input_schema,
                             "score": round(self.score, 4)}
        if self.upstream:
            d["upstream"] = self.upstream
        return d


class Found(list[FoundTool]):
    """Search results, and whether the catalog said that none of them fits (``no_match``)."""

    no_match: bool = False


def found_list(tools: list[FoundTool], no_match: bool) -> Found:
    out = Found(tools)
    out.no_match = no_match
    return out


def qualified(upstream: str, tool: str) -> str:
    return f"{upstream}.{tool}"


MAX_INDEXED_BYTES = 128 * 1024  # under the catalog's 256 KiB per candidate, so one huge schema cannot refuse a put
MAX_INDEXED_DESCRIPTION = 16 * 1024


def tool_json(tool: types.Tool) -> str:
    """What the catalog indexes for a tool: its MCP form, which the tool normalizer detects.

    A tool whose JSON passes ``MAX_INDEXED_BYTES`` is indexed by name and (cut) description only;
    search_tools still returns its full schema, which the proxy keeps in memory.
    """
    doc: dict[str, Any] = {"name": tool.name, "description": tool.description or "", "inputSchema": tool.input_schema}
    if tool.title:
        doc["title"] = tool.title
    text = json.dumps(doc, ensure_ascii=False, sort_keys=True)
    if len(text.encode("utf-8", "surrogatepass")) <= MAX_INDEXED_BYTES:
        return text
    log.warning("tool %r: its JSON is over %d KiB; indexed by name and description only", tool.name,
                MAX_INDEXED_BYTES // 1024)
    doc = {"name": tool.name[:1024], "description": (tool.description or "")[:MAX_INDEXED_DESCRIPTION],
           "inputSchema": {"type": "object"}}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class SyncCounts:
    upserted: int
    deleted: int


class ToolCatalog:
    """Upstream tools by qualified name, mirrored into one catalog of a :class:`CatalogService`."""

    def __init__(self, service: CatalogService, catalog: str) -> None:
        self.service = service
        self.catalog = catalog
        self._tools: dict[str, dict[str, types.Tool]] = {}  # upstream -> tool name -> tool
        self._json: dict[str, str] = {}  # qualified name -> indexed JSON (what the catalog holds)
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[], Awaitable[None]]] = []
        self.puts = 0  # catalog puts made (each a diff)
        self.upserted = 0  # tools sent to the catalog, over the proxy's life
        self.deleted = 0

    async def reset(self) -> None:
        """Start from an empty catalog (a store may hold this catalog from an earlier run)."""
        async with self._lock:
            await self.service.put(PutCatalogRequest(self.catalog, (), replace=True))
            self._tools.clear()
            self._json.clear()

    def add_listener(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Called after tools were withdrawn (``--expose-found`` tells the client its list changed)."""
        self._listeners.append(listener)

    async def set_tools(self, upstream: str, tools: Sequence[types.Tool]) -> None:
        counts = await self._sync(upstream, {t.name: t for t in tools})
        if counts.deleted:
            await self._notify()

    async def drop(self, upstream: str) -> None:
        if (await self._sync(upstream, {})).deleted:
            await self._notify()

    async def _notify(self) -> None:
        for listener in self._listeners:
            try:
                await listener()
            except Exception:
                log.exception("tool catalog listener failed")

    async def _sync(self, upstream: str, tools: dict[str, types.Tool]) -> SyncCounts:
        async with self._lock:
            wanted = {qualified(upstream, name): tool_json(t) for name, t in tools.items()}
            old = {q for q in self._json if q.split(".", 1)[0] == upstream}
            upserts = [Candidate(ToolInput(js), q, {"upstream": upstream})
                       for q, js in wanted.items() if self._json.get(q) != js]
            deletes = tuple(sorted(old - wanted.keys()))
            if tools:  # callable by name even when the put below is refused (search keeps what it had)
                self._tools[upstream] = dict(tools)
            else:
                self._tools.pop(upstream, None)
            if upserts or deletes:
                out = await self.service.put(PutCatalogRequest(self.catalog, tuple(upserts), delete_ids=deletes))
                self.puts += 1
                self.upserted += len(upserts)
                self.deleted += len(deletes)
                log.debug("catalog %r v%d: upstream %r +%d ~%d -%d", self.catalog, out.version, upstream,
                          out.added, out.updated, out.deleted)
            for q in deletes:
                self._json.pop(q, None)
            self._json.update(wanted)
            return SyncCounts(len(upserts), len(deletes))

    def __len__(self) -> int:
        return len(self._json)

    def lookup(self, name: str) -> tuple[str, types.Tool] | None:
        """``UPSTREAM.tool``, or a bare tool name that exactly one upstream has."""
        up, dot, tool = name.partition(".")
        if dot and tool in self._tools.get(up, {}):
            return up, self._tools[up][tool]
        owners = [(u, tools[name]) for u, tools in self._tools.items() if name in tools]
        return owners[0] if len(owners) == 1 else None

    def owners_of(self, bare: str) -> list[str]:
        return sorted(qualified(u, bare) for u, tools in self._tools.items() if bare in tools)

    def found_tool(self, name: str, score: float) -> FoundTool | None:
        hit = self.lookup(name)
        if hit is None:
            return None
        up, tool = hit
        return FoundTool(qualified(up, tool.name), tool.description or "", dict(tool.input_schema), score, up)

    async def search(self, query: str, top_k: int) -> list[FoundTool]:
        """The best ``top_k`` tools of the upstreams that are up (a catalog select over every tool)."""
        if not self._json:
            return []
        try:
            out = await self.service.select(SelectQuery(self.catalog, query, top_k=top_k))
        except CatalogNotFound:
            return []
        found = [f for f in (self.found_tool(hit.id, hit.score) for hit in out.results) if f is not None]
        top = max([1.0] + [h.score for h in out.results])
        first = [f for f in (self.found_tool(n, top) for n in exact_names(query, self.lookup)) if f is not None]
        if first:  # a tool named exactly in the query (UPSTREAM.tool or its bare name) comes first
            names = {f.name for f in first}
            found = first + [f for f in found if f.name not in names]
        return found_list(found[:top_k], out.no_match and not first)  # a tool withdrawn since is not offered

    def tool_names(self) -> dict[str, list[str]]:
        """Each upstream's tool names (for search_tools' description)."""
        return {up: list(tools) for up, tools in self._tools.items()}
