"""One candidate per tool: a tools list, an MCP ``tools/list`` result or JSON-RPC response, Gemini
declarations, a ToolBench ``api_list``, A2A ``skills`` or an OpenAPI document, cut into its tools.

Sent as one candidate, such a document is ranked as a whole (one line per tool); callers who
mean "rank each tool" expand it first. Pure: JSON values in, ``(id, tool JSON value)`` out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from toolrank.normalize.tool import openapi, roles
from toolrank.normalize.tool.detect import CONTAINER_KEYS, DECLARATION_KEYS, envelope, is_tool_document

MAX_TOOLS = 10_000
"""Tools one document may expand into (a bound for hostile input)."""


def split_tools(value: Any) -> list[tuple[str, Any]]:
    """``(id, tool)`` for every tool in ``value`` (JSON text or a parsed value); ids are tool names.

    A value that holds no list of tools comes back as itself, one item. Repeated names get
    ``#2``, ``#3``... so ids stay unique. Nothing is dropped: a list's non-tool items are
    items too (with an empty id).
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return [("", value)]
    out: list[tuple[str, Any]] = []
    _expand(value, out, 0)
    seen: dict[str, int] = {}
    unique: list[tuple[str, Any]] = []
    for name, tool in out[:MAX_TOOLS]:
        count = seen.get(name, 0) + 1
        seen[name] = count
        unique.append((f"{name}#{count}" if count > 1 and name else name, tool))
    return unique


def _expand(value: Any, out: list[tuple[str, Any]], depth: int) -> None:
    if depth > 6 or len(out) >= MAX_TOOLS:
        out.append((tool_name(value), value))
        return
    if isinstance(value, list):
        for item in value:
            _expand(item, out, depth + 1)
        return
    if not isinstance(value, dict):
        out.append(("", value))
        return
    result = value.get("result")
    if "jsonrpc" in value and isinstance(result, (dict, list)):
        _expand(result, out, depth + 1)
        return
    if openapi.is_document(value):
        _operations(value, out)
        return
    for key in DECLARATION_KEYS:
        decls = value.get(key)
        if isinstance(decls, list):
            for decl in decls:
                out.append((tool_name(decl), {key: [decl]}))
            return
    keys = roles.keymap(value)
    for role in CONTAINER_KEYS:
        items = roles.field(value, keys, role)
        if isinstance(items, list) and any(isinstance(i, (dict, list)) for i in items):
            for item in items:
                _expand(item, out, depth + 1)
            return
    found = envelope(value)
    if found is not None and not tool_name(found[1]) and is_tool_document(found[1]):  # an envelope around a list of tools (Bedrock's toolConfig)
        _expand(found[1], out, depth + 1)
        return
    out.append((tool_name(value), value))


def _operations(doc: Mapping[str, Any], out: list[tuple[str, Any]]) -> None:
    """One self-contained document per operation: its path item's shared parameters and every
    top-level section (components, definitions) kept, so ``$ref`` still resolves."""
    rest = {k: v for k, v in doc.items() if k != "paths"}
    for path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        shared = {k: v for k, v in item.items() if k not in openapi.HTTP_METHODS}
        for method in openapi.HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                op_id = op.get("operationId")
                name = op_id if isinstance(op_id, str) and op_id else f"{method.upper()} {path}"
                out.append((name, {**rest, "paths": {path: {**shared, method: op}}}))


def tool_name(value: Any, depth: int = 0) -> str:
    """The name a tool goes by (a chat-format wrapper's function name, an envelope's tool, an operation's id), or ""."""
    if not isinstance(value, dict) or depth > 6:
        return ""
    function = value.get("function")
    if isinstance(function, dict):
        name, _ = roles.role_name(function)
        if name:
            return name
    name, _ = roles.role_name(value)
    if not name:
        found = envelope(value)
        if found is not None:
            return tool_name(found[1], depth + 1)
    return name
