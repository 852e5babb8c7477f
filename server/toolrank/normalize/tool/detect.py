"""Format detection: where the tools sit in a JSON document, and which format each one is in.

A format-specific reader is chosen only when the shape really matches (:data:`WRAPPERS`,
OpenAPI documents and operations); every other object that has a name and a description or
parameters goes through the role reader (:mod:`roles`), labelled by :data:`LABELS`. An object
with no name of its own around exactly one object (:func:`envelope`: Bedrock's ``toolSpec``,
``{"tool": {...}}``, any key) is unwrapped and what it holds is read. Objects that are not tools
at all are left for the generic ``key: value`` rendering.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Callable

from toolrank.normalize.tool import openapi, roles
from toolrank.normalize.tool.model import Budget, Tool, text_of

MAX_DEPTH = 6
"""Wrapper levels searched for tools (lists, ``tools``, ``result``...)."""

CONTAINER_KEYS = ("tools", "functions", "api_list", "apis", "skills", "function_description")
"""Keys holding a list (or a name -> spec map) of tools: MCP ``tools/list``, ToolBench ``api_list``,
A2A ``skills``, ToolAlpaca ``Function_Description``."""

DECLARATION_KEYS = ("functionDeclarations", "function_declarations")


def _parameters_type(value: Mapping[str, Any]) -> Any:
    params = value.get("parameters")
    return params.get("type") if isinstance(params, Mapping) else None


Predicate = Callable[[Mapping[str, Any], dict[str, str]], bool]

LABELS: tuple[tuple[str, Predicate], ...] = (
    ("anthropic", lambda d, k: "input_schema" in k),
    ("mcp", lambda d, k: "inputschema" in k or isinstance(d.get("annotations"), Mapping)),
    ("openai-responses", lambda d, k: d.get("type") == "function"),
    ("bfcl", lambda d, k: _parameters_type(d) == "dict"),
    ("gemini", lambda d, k: "parametersjsonschema" in k or "parameters_json_schema" in k),
    ("gorilla", lambda d, k: "api_call" in k),
    ("toolbench", lambda d, k: "required_parameters" in k or "optional_parameters" in k or "category_name" in k),
    ("api-bank", lambda d, k: "input_parameters" in k or "output_parameters" in k),
    ("openai-plugin", lambda d, k: "name_for_model" in k),
    ("smolagents", lambda d, k: "inputs" in k and "output_type" in k),
    ("langchain", lambda d, k: "args" in k or "args_schema" in k),
    ("llamaindex", lambda d, k: "fn_schema" in k),
    ("a2a-skill", lambda d, k: "id" in k and ("tags" in k or "examples" in k)),
    ("api-record", lambda d, k: "api_name" in k),
    ("json-schema", lambda d, k: "parameters" in k or isinstance(d.get("properties"), Mapping)),
)
"""Role-read objects are labelled by the first predicate that holds (else ``roles``); the label is
reported in ``detail`` and never changes how the object is read."""

Entry = tuple[str, "Tool | str", "Mapping[str, Any] | None"]

ENVELOPE_LABEL = "envelope"
"""``detail`` of a tool read from inside an envelope: ``envelope toolSpec`` (the key it sat under)."""


def envelope(value: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``(key, inner)`` when ``value`` is a single-key envelope: no name of its own, exactly one object
    value, and beside it only scalars (a ``"type": "function"`` tag) and noise fields (``cache_control``,
    ``_meta``: :data:`roles.NOISE_KEYS`); else None."""
    inner: tuple[str, dict[str, Any]] | None = None
    for key, sub in value.items():
        if isinstance(key, str) and key.lower() in roles.NOISE_KEYS:
            continue
        if isinstance(sub, dict):
            if inner is not None:
                return None
            inner = (str(key), sub)
        elif isinstance(sub, list):
            return None
    if inner is None or roles.role_name(value)[0]:
        return None
    return inner


def _envelope_notes(value: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """The envelope's own strings (noise aside), kept as notes of the tool inside."""
    notes = []
    for k, v in value.items():
        if k != key and isinstance(v, str) and v.strip() and str(k).lower() not in roles.NOISE_KEYS:
            notes.append(f"{str(k).replace('_', ' ')}: {text_of(v)}")
    return tuple(notes)


def find_tools(doc: Any, budget: Budget) -> list[Entry]:
    """``(format, Tool, source)`` for every tool in ``doc``, ``("", text, None)`` for other items of a list.

    ``source`` is the object the tool was read from, when that object is the tool alone (not
    an OpenAPI document's operation): what the faithfulness guard compares the rendering with.
    """
    out: list[Entry] = []
    _read(doc, doc, budget, out, 0)
    return out


def label_of(d: Mapping[str, Any], keys: dict[str, str] | None = None) -> str:
    keys = keys if keys is not None else roles.keymap(d)
    return next((name for name, test in LABELS if test(d, keys)), "roles")


def _read(value: Any, root: Any, budget: Budget, out: list[Entry], depth: int) -> None:
    if not budget.spend() or depth > MAX_DEPTH:
        return
    if isinstance(value, list):
        for element in value:
            if budget.left <= 0:
                break
            if isinstance(element, (dict, list)):
                _read(element, root, budget, out, depth + 1)
            else:
                text = text_of(element)
                if text:
                    out.append(("", text, None))
        return
    if not isinstance(value, dict):
        return
    if depth > 0 and root is not value and "paths" not in value:
        roots: tuple[Any, ...] = (value, root)
    else:
        roots = (value,)
    keys = roles.keymap(value)
    if _read_wrapper(value, keys, roots, budget, out, depth):
        return
    if openapi.is_operation(value):
        out.append(("openapi-op", openapi.operation(value, "", "", (), root if depth else value, budget), value))
        return
    if roles.has_roles(value, keys):
        out.append((label_of(value, keys), roles.read_tool(value, roots, budget, keys), value))
        return
    if depth > 0:
        from toolrank.normalize.tool.render import render_generic

        text = render_generic(value, budget)
        if text:
            out.append(("", text, None))


def _read_wrapper(value: dict[str, Any], keys: dict[str, str], roots: tuple[Any, ...], budget: Budget,
                  out: list[Entry], depth: int) -> bool:
    """Shapes with a reader of their own; True when ``value`` was one of them."""
    result = value.get("result")
    if "jsonrpc" in value and isinstance(result, (dict, list)):  # an MCP JSON-RPC response
        _read(result, result, budget, out, depth + 1)
        return True
    if openapi.is_document(value):
        out.extend(("openapi", t, None) for t in openapi.operations(value, budget))
        return True
    for key in DECLARATION_KEYS:
        decls = value.get(key)
        if isinstance(decls, list):
            for decl in decls:
                if budget.left <= 0:
                    break
                if isinstance(decl, dict):
                    out.append(("gemini", roles.read_tool(decl, (decl, *roots), budget), decl))
            return True
    function = value.get("function")
    if isinstance(function, dict) and roles.has_roles(function):
        out.append(("openai-chat", roles.read_tool(function, (function, *roots), budget), value))
        return True
    if _read_envelope(value, roots, budget, out, depth):
        return True
    for role in CONTAINER_KEYS:
        container = keys.get(role)
        if container is None:
            continue
        items = value[container]
        if isinstance(items, list) and any(isinstance(i, (dict, list)) for i in items):
            _header(value, container, roots, budget, out)
            _read(items, roots[-1], budget, out, depth + 1)
            return True
        if isinstance(items, dict) and role == "function_description" and items:
            _header(value, container, roots, budget, out)
            for name, spec in items.items():
                if budget.left <= 0:
                    break
                text = spec.split("\n", 1)[0] if isinstance(spec, str) else ""
                out.append(("toolalpaca", Tool(str(name), text_of(text)), None))
            return True
    return False


def _read_envelope(value: dict[str, Any], roots: tuple[Any, ...], budget: Budget, out: list[Entry],
                   depth: int) -> bool:
    """A single-key envelope holding a tool (or envelopes, lists of tools...): read what it holds."""
    found = envelope(value)
    if found is None:
        return False
    key, inner = found
    if not (roles.has_roles(inner) or is_tool_document(inner, depth + 1)):
        return False
    start = len(out)
    _read(inner, roots[-1], budget, out, depth + 1)
    notes = _envelope_notes(value, key)
    for i in range(start, len(out)):
        fmt, tool, source = out[i]
        if isinstance(tool, Tool) and source is inner:
            if notes:
                tool = replace(tool, notes=tool.notes + notes)
            out[i] = (f"{ENVELOPE_LABEL} {key}", tool, source)
    return True


def _header(value: Mapping[str, Any], container: str, roots: tuple[Any, ...], budget: Budget,
            out: list[Entry]) -> None:
    """The object holding a tools list, when it describes itself (an A2A card, a ToolBench tool)."""
    rest = {k: v for k, v in value.items() if k != container}
    if roles.has_roles(rest) or (roles.role_name(rest)[0] and _has_text(rest)):
        fmt = {"skills": "a2a", "api_list": "toolbench", "Function_Description": "toolalpaca"}.get(container, "")
        out.append((fmt or label_of(rest), roles.read_tool(rest, roots, budget), None))


def _has_text(d: Mapping[str, Any]) -> bool:
    return any(isinstance(v, str) and v.strip() for k, v in d.items() if k.lower() in roles.DESCRIPTION_KEYS)


def is_tool_document(value: Any, depth: int = 0) -> bool:
    """Whether a JSON value is (or holds) a tool schema: what a candidate object without a kind means."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, list):
        return any(is_tool_document(v, depth + 1) for v in value[:8])
    if not isinstance(value, dict):
        return False
    if "jsonrpc" in value and isinstance(value.get("result"), dict):
        return is_tool_document(value["result"], depth + 1)
    if openapi.is_document(value) or any(isinstance(value.get(k), list) for k in DECLARATION_KEYS):
        return True
    function = value.get("function")
    if isinstance(function, dict) and roles.has_roles(function):
        return True
    found = envelope(value)
    if found is not None and is_tool_document(found[1], depth + 1):
        return True
    keys = roles.keymap(value)
    if any(isinstance(roles.field(value, keys, k), list) and is_tool_document(value[keys[k]], depth + 1)
           for k in CONTAINER_KEYS):
        return True
    return roles.has_roles(value, keys, strict=True) or openapi.is_operation(value)
