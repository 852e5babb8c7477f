"""Candidates from plain JSON values: what the CLI, eval, HTTP API and client accept.

Accepted shapes (one candidate each)::

    "a plain string"                               -> text
    {"id": "x", "text": "..."}
    {"id": "x", "code": "src" | {"language", "source", "path"}}
    {"id": "x", "sql": "DDL" | {"dialect", "text"}}
    {"id": "x", "tool": {...schema...} | "schema as JSON text"}
    {"id": "x", "tool": {"json": "schema as JSON text"}}   (the protobuf JSON mapping, as grpcurl writes it)
    {...a tool schema itself...}                   -> tool (any format the tool normalizer reads)

A list of tools, an MCP ``tools/list`` result or an OpenAPI document sent as one candidate stays
one candidate; :func:`expand_tools` makes one candidate per tool.
"""

from __future__ import annotations

import json
from typing import Any

from toolrank.errors import InvalidRequest
from toolrank.normalize.tool import is_tool_document, split_tools
from toolrank.types import Candidate, CandidateInput, CodeInput, SqlInput, TextInput, ToolInput

_TOOL_MARKERS = ("function", "input_schema", "inputSchema", "parameters", "functionDeclarations",
                 "function_declarations", "operationId")


def _as_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}: expected a string, got {type(value).__name__}")
    return value


def content_from_json(value: Any, where: str = "candidate") -> CandidateInput:
    """The content of one candidate from a JSON value (see the module docstring)."""
    if isinstance(value, str):
        return TextInput(value)
    if not isinstance(value, dict):
        raise InvalidRequest(f"{where}: expected a string or an object, got {type(value).__name__}")
    if "text" in value:
        return TextInput(_as_str(value["text"], f"{where}.text"))
    if "code" in value:
        code = value["code"]
        if isinstance(code, str):
            return CodeInput(code, str(value.get("language", "")), str(value.get("path", "")))
        if isinstance(code, dict):
            return CodeInput(_as_str(code.get("source", ""), f"{where}.code.source"),
                             str(code.get("language", "")), str(code.get("path", "")))
        raise InvalidRequest(f"{where}.code: expected a string or an object")
    if "sql" in value:
        sql = value["sql"]
        if isinstance(sql, str):
            return SqlInput(sql, str(value.get("dialect", "")))
        if isinstance(sql, dict):
            return SqlInput(_as_str(sql.get("text", ""), f"{where}.sql.text"), str(sql.get("dialect", "")))
        raise InvalidRequest(f"{where}.sql: expected a string or an object")
    if "tool" in value:
        tool = value["tool"]
        if isinstance(tool, dict) and len(tool) == 1 and "json" in tool:  # {"tool": {"json": "..."}}: grpcurl's shape
            tool = tool["json"]
        return ToolInput(tool if isinstance(tool, str) else json.dumps(tool, ensure_ascii=False))
    if (any(k in value for k in _TOOL_MARKERS) or ("name" in value and "description" in value)
            or is_tool_document(value)):
        return ToolInput(json.dumps(value, ensure_ascii=False))
    raise InvalidRequest(f"{where}: no content (set one of text, code, sql, tool)")


def candidate_from_json(value: Any, where: str = "candidate") -> Candidate:
    """One candidate, with its id and metadata when the value is a wrapper object."""
    content = content_from_json(value, where)
    if isinstance(value, dict) and any(k in value for k in ("text", "code", "sql", "tool")):
        meta = value.get("metadata") or {}
        metadata = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
        examples = value.get("examples")
        if isinstance(examples, list):  # catalogs: example requests, kept as metadata["examples"] (a JSON list)
            metadata["examples"] = json.dumps([str(e) for e in examples], ensure_ascii=False)
        elif examples is not None:
            raise InvalidRequest(f"{where}.examples: expected a list of strings")
        return Candidate(content, str(value.get("id", "")), metadata)
    return Candidate(content, str(value.get("id", "")) if isinstance(value, dict) else "")


def candidate_to_json(cand: Candidate) -> dict[str, Any]:
    """A candidate as a JSON value in this module's shapes (round-trips through :func:`candidate_from_json`)."""
    c = cand.content
    doc: dict[str, Any] = {"id": cand.id}
    if isinstance(c, TextInput):
        doc["text"] = c.text
    elif isinstance(c, CodeInput):
        doc["code"] = {"language": c.language, "source": c.source, "path": c.path}
    elif isinstance(c, SqlInput):
        doc["sql"] = {"dialect": c.dialect, "text": c.text}
    elif isinstance(c, ToolInput):
        doc["tool"] = c.json
    if cand.metadata:
        doc["metadata"] = dict(cand.metadata)
    return doc


def expand_tools(value: Any) -> list[Any]:
    """One candidate per tool, for callers who mean "rank each tool" (ids = tool names).

    ``value`` is a list of candidates (as :func:`candidate_from_json` takes them) or one
    document: a tools list, an MCP ``tools/list`` result or JSON-RPC response, Gemini
    declarations, a ToolBench tool's ``api_list``, an A2A card's ``skills`` or an OpenAPI
    document (one candidate per operation). Every tool candidate in it is cut into
    ``{"id": name, "tool": tool}`` values; text, code and SQL candidates pass unchanged. A tool
    without a name gets its wrapper's id (or its position) with ``#n``.
    """
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict) and any(k in item for k in ("text", "code", "sql")):
            out.append(item)
            continue
        wrapper = isinstance(item, dict) and "tool" in item
        doc = item["tool"] if wrapper else item
        if isinstance(doc, dict) and len(doc) == 1 and "json" in doc:
            doc = doc["json"]
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except (ValueError, RecursionError):
                out.append(item)
                continue
        if not is_tool_document(doc):
            out.append(item)
            continue
        base = str(item.get("id", "")) if wrapper else ""
        metadata = item.get("metadata") if wrapper else None
        parts = split_tools(doc)
        for n, (name, tool) in enumerate(parts, 1):
            cand_id = name or f"{base or i}#{n}"
            seen[cand_id] = seen.get(cand_id, 0) + 1
            if seen[cand_id] > 1:
                cand_id = f"{cand_id}#{seen[cand_id]}"
            cand: dict[str, Any] = {"id": cand_id, "tool": tool}
            if isinstance(metadata, dict):
                cand["metadata"] = metadata
            out.append(cand)
    return out
