"""The MCP server a client sees: ``search_tools`` (and, in front of upstreams, ``call_tool``), over stdio or HTTP.

Built on the official SDK's low-level :class:`mcp.server.lowlevel.Server` (2.x: handlers are
constructor arguments). What answers a search and who executes a call are the backend's business
(:class:`SearchBackend`): the proxy's upstream catalog, or an existing catalog for ``mcp serve``.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from collections import OrderedDict
from typing import Any, Protocol

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.server import NotificationOptions
from mcp.shared.exceptions import MCPError

from toolrank import __version__ as toolrank_version
from toolrank.errors import ToolrankError
from toolrank.mcp.found import FoundTools
from toolrank.mcp.learning import SearchMemory
from toolrank.catalogs.cut import cut_rows, estimate_tokens
from toolrank.mcp.upstream_tools import FoundTool, found_list

log = logging.getLogger("toolrank.mcp")

MAX_TOP_K = 50
MAX_QUERY_CHARS = 4096
MAX_NOTIFIED = 64  # --expose-found: connections told when found tools are withdrawn

SEARCH_TOOLS = "search_tools"
CALL_TOOL = "call_tool"

SEARCH_TOOL_DEF = types.Tool(
    name=SEARCH_TOOLS,
    description=("Find the tools that can do a task, among every tool of the connected servers. Describe the task "
                 "in plain words (what you want done, not a tool name). Returns the best matches with their names, "
                 "descriptions and full input schemas; call one with call_tool."),
    input_schema={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "the task, in natural language"},
            "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K, "default": 5,
                      "description": "how many tools to return (at most, with adaptive)"},
            "adaptive": {"type": "boolean", "default": False,
                         "description": "return fewer than top_k where the matches fall off"},
            "max_tokens": {"type": "integer", "minimum": 0, "default": 0,
                           "description": "only the best tools whose schemas fit this many tokens (0: no budget)"},
        },
        "required": ["query"],
    },
)
SEARCH_ONLY_DEF = SEARCH_TOOL_DEF.model_copy(update={
    "description": ("Find the tools that can do a task in this tool catalog. Describe the task in plain words. "
                    "Returns the best matches with their names, descriptions and full input schemas.")})
CALL_TOOL_DEF = types.Tool(
    name=CALL_TOOL,
    description=("Call a tool found with search_tools, by its exact name (SERVER.tool), with arguments that "
                 "follow its input schema. Returns the tool's own result."),
    input_schema={
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "the tool's name as search_tools returned it"},
            "arguments": {"type": "object", "description": "the tool's arguments, per its inputSchema",
                          "default": {}},
        },
        "required": ["name"],
    },
)


class SearchBackend(Protocol):
    """What answers search_tools and, in a proxy, executes calls."""

    can_call: bool

    async def search(self, query: str, top_k: int) -> list[FoundTool]: ...

    def statuses(self) -> list[dict[str, Any]]: ...

    def exists(self, name: str) -> bool: ...

    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult: ...


def fit_request(hits: list[FoundTool], adaptive: bool, max_tokens: int) -> list[FoundTool]:
    """The adaptive cut and the token budget of :mod:`toolrank.catalogs.cut` over search results (schemas as shown)."""
    if not adaptive and not max_tokens:
        return hits
    kept = cut_rows(list(range(len(hits))), [h.score for h in hits], set(), adaptive, max_tokens,
                    lambda i: estimate_tokens(json.dumps(hits[i].as_dict(), ensure_ascii=False)))
    return found_list([hits[i] for i in kept], bool(getattr(hits, "no_match", False)))


def _text_result(payload: dict[str, Any], *, is_error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=json.dumps(payload, ensure_ascii=False))],
                                structured_content=payload, is_error=is_error)


def _error(message: str) -> types.CallToolResult:
    """A tool-level error: the model sees it and can correct its call."""
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def _check_search_args(args: dict[str, Any]) -> tuple[str, int] | str:
    query, top_k = args.get("query"), args.get("top_k", 5)
    adaptive, max_tokens = args.get("adaptive", False), args.get("max_tokens", 0)
    if not isinstance(adaptive, bool):
        return f"search_tools: 'adaptive' must be true or false, got {adaptive!r}"
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        return f"search_tools: 'max_tokens' must be a non-negative integer, got {max_tokens!r}"
    if not isinstance(query, str) or not query.strip():
        return "search_tools: 'query' must be a non-empty string describing the task"
    if len(query) > MAX_QUERY_CHARS:
        return f"search_tools: 'query' is {len(query)} characters; at most {MAX_QUERY_CHARS}"
    if isinstance(top_k, bool) or not isinstance(top_k, int | float) or int(top_k) != top_k:
        return f"search_tools: 'top_k' must be an integer, got {top_k!r}"
    if not 1 <= int(top_k) <= MAX_TOP_K:
        return f"search_tools: 'top_k' must be between 1 and {MAX_TOP_K}, got {int(top_k)}"
    return query, int(top_k)


def build_server(backend: SearchBackend, *, expose_found: int = 0, name: str = "toolrank",
                 learn: bool = True) -> Server:
    """The low-level SDK server with the two tools (one without a proxy), plus found tools when asked.

    ``learn``: a successful call of a tool that a search of the same session returned is fed back to the
    catalog (:mod:`toolrank.mcp.learning`), when the backend can record it."""
    found = FoundTools(expose_found if backend.can_call else 0)
    memory = SearchMemory() if learn and hasattr(backend, "record_choice") else None

    def session_key(ctx: Any) -> int:
        return id(getattr(ctx.session, "_connection", ctx.session))

    async def called(ctx: Any, target: str, result: types.CallToolResult) -> types.CallToolResult:
        if memory is not None and not result.is_error:
            searched = memory.query_for(session_key(ctx), target)
            if searched is not None:
                try:
                    await backend.record_choice(*searched)  # type: ignore[attr-defined]
                except Exception as exc:  # noqa: BLE001 - learning must never fail the call it learns from
                    log.warning("could not record feedback for %s: %s", target, exc)
        return result
    # The latest request session of each recent connection (at most MAX_NOTIFIED): where notices go.
    sessions: OrderedDict[int, Any] = OrderedDict()

    def remember(session: Any) -> None:
        key = id(getattr(session, "_connection", session))
        sessions.pop(key, None)
        sessions[key] = session
        while len(sessions) > MAX_NOTIFIED:
            sessions.popitem(last=False)

    async def tell_clients() -> None:
        for session in list(sessions.values()):
            try:
                await session.send_tool_list_changed()
            except Exception as exc:  # noqa: BLE001 - a client gone or unable to take notices
                log.debug("could not send tools/list_changed: %s", exc)

    async def on_withdrawn() -> None:
        if found.discard_missing(backend.exists):
            await tell_clients()

    if found.capacity and hasattr(backend, "on_withdrawn"):
        backend.on_withdrawn(on_withdrawn)

    def listed() -> list[types.Tool]:
        search_def = SEARCH_TOOL_DEF if backend.can_call else SEARCH_ONLY_DEF
        summary = backend.summary() if hasattr(backend, "summary") else ""  # what the catalog holds, bounded
        if summary:
            search_def = search_def.model_copy(update={"description": f"{search_def.description} {summary}"})
        base = [search_def, CALL_TOOL_DEF] if backend.can_call else [search_def]
        found.discard_missing(backend.exists)
        return base + [types.Tool(name=f.name, description=f.description, input_schema=f.input_schema)
                       for f in found.tools()]

    async def on_list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed())

    async def search(ctx: Any, args: dict[str, Any]) -> types.CallToolResult:
        checked = _check_search_args(args)
        if isinstance(checked, str):
            return _error(checked)
        query, top_k = checked
        try:
            hits = await backend.search(query, top_k)
        except ToolrankError as exc:  # overloaded, deadline, a store error: the client gets why, not a trace
            raise MCPError(types.INTERNAL_ERROR, f"search_tools: {type(exc).__name__}: {exc}") from None
        hits = fit_request(hits, bool(args.get("adaptive", False)), int(args.get("max_tokens", 0)))
        payload: dict[str, Any] = {"tools": [h.as_dict() for h in hits]}
        if getattr(hits, "no_match", False):  # the catalog's calibrated "nothing fits": say so, no weak schemas
            payload = {"tools": [], "no_match": True, "closest": [h.name for h in hits],
                       "message": "No tool fits this request well. Do it without a tool, search again in other "
                                  "words, or search a closest tool's exact name for its schema if it does fit."}
        if memory is not None:
            memory.searched(session_key(ctx), query, [h.name for h in hits])
        statuses = backend.statuses()
        if statuses:
            payload["upstreams"] = statuses
            down = [s["name"] for s in statuses if s["status"] != "up"]
            if down:
                payload["unavailable"] = down
        if found.capacity:
            remember(ctx.session)
        if found.add(hits):
            try:
                await ctx.session.send_tool_list_changed()
            except Exception as exc:  # noqa: BLE001 - a client that cannot take the notice still gets its result
                log.debug("could not send tools/list_changed: %s", exc)
        return _text_result(payload)

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        args = params.arguments or {}
        if params.name == SEARCH_TOOLS:
            return await search(ctx, args)
        if backend.can_call and params.name == CALL_TOOL:
            target = args.get("name")
            arguments = args.get("arguments", {})
            if not isinstance(target, str) or not target:
                return _error("call_tool: 'name' must be the name of a tool returned by search_tools")
            if arguments is None:
                arguments = {}
            if not isinstance(arguments, dict):
                return _error(f"call_tool: 'arguments' must be an object, got {type(arguments).__name__}")
            if target in (SEARCH_TOOLS, CALL_TOOL):
                return _error(f"call_tool: {target!r} is one of this server's own tools; call it directly")
            return await called(ctx, target, await backend.call(target, arguments))
        if backend.can_call and params.name in found:
            return await called(ctx, params.name, await backend.call(params.name, params.arguments))
        return _error(f"unknown tool {params.name!r}: use {SEARCH_TOOLS} to find tools"
                      + (f" and {CALL_TOOL} to call them" if backend.can_call else ""))

    return Server(name, version=toolrank_version, on_list_tools=on_list_tools, on_call_tool=on_call_tool,
                  instructions=("Use search_tools to find the right tool for a task, then call_tool to run it."
                                if backend.can_call else "Use search_tools to find the right tool for a task."))


def init_options(server: Server) -> Any:
    return server.create_initialization_options(NotificationOptions(tools_changed=True))


async def serve_stdio(server: Server) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, init_options(server))


async def serve_http(server: Server, host: str, port: int, token: str | None = None) -> None:
    """Streamable HTTP at ``http://HOST:PORT/mcp``; port 0 takes a free one (the line on stderr names it).

    With ``token`` every request needs ``Authorization: Bearer TOKEN`` (401 otherwise); without one,
    only a loopback ``host`` is accepted.
    """
    import uvicorn

    from toolrank.mcp.security import BearerTokenGate, require_token_off_loopback

    require_token_off_loopback(host, token)

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    app: Any = server.streamable_http_app(host=host)
    if token:
        app = BearerTokenGate(app, token)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    sock.listen(config.backlog)  # listening before the line is printed: a client that reads it connects at once
    print(f"toolrank mcp: serving streamable HTTP on http://{host}:{bound}/mcp", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])
