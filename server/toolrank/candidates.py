"""Candidates from plain JSON values: what the CLI, eval, HTTP API and client accept.

Accepted shapes (one candidate each)::

    "a plain string"                               -> text
    {"id": "x", "text": "..."}
    {"id": "x", "code": "src" | {"language", "source", "path"}}
    {"id": "x", "sql": "DDL" | {"dialect", "text"}}
    {"id": "x", "tool": {...schema...} | "schema as JSON text"}
    {...a tool schema itself...}                   -> tool (OpenAI, Anthropic, MCP, ...)
"""

from __future__ import annotations

import json
from typing import Any

from toolrank.errors import InvalidRequest
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
        return ToolInput(tool if isinstance(tool, str) else json.dumps(tool, ensure_ascii=False))
    if any(k in value for k in _TOOL_MARKERS) or ("name" in value and "description" in value):
        return ToolInput(json.dumps(value, ensure_ascii=False))
    raise InvalidRequest(f"{where}: no content (set one of text, code, sql, tool)")


def candidate_from_json(value: Any, where: str = "candidate") -> Candidate:
    """One candidate, with its id and metadata when the value is a wrapper object."""
    content = content_from_json(value, where)
    if isinstance(value, dict) and any(k in value for k in ("text", "code", "sql", "tool")):
        meta = value.get("metadata") or {}
        return Candidate(content, str(value.get("id", "")),
                         {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {})
    return Candidate(content, str(value.get("id", "")) if isinstance(value, dict) else "")
