"""Tool schemas: detect the format, read name, description and parameters, render compact lines.

Formats read with no hint (the first rule that matches a JSON object wins):

==================  ==========================================================
``openapi``         a whole OpenAPI/Swagger document (``paths``): one line per operation
``gemini``          ``functionDeclarations`` / ``function_declarations`` lists
``openai-chat``     ``{"type": "function", "function": {...}}``
``anthropic``       ``{"name", "description", "input_schema"}``
``mcp``             ``{"name", "title", "inputSchema", "annotations"}``
``openapi-op``      an operation object (``operationId``, ``requestBody``, ``responses``...)
``openai-responses`` ``{"type": "function", "name", "parameters"}``
``bfcl``            a function whose parameters use BFCL's ``"type": "dict"``
``json-schema``     a bare ``{"name", "description", "parameters"}`` function
==================  ==========================================================

plus any JSON array (or ``{"tools": [...]}`` wrapper) of these. One tool renders as one line::

    get_weather (get weather): Get the current weather. Required: location string: City name.
    Optional: unit string, one of celsius|fahrenheit, default celsius

"Required:" and "Optional:" head each group once (a nested field whose requiredness differs
from its group says so itself); types, enums and defaults follow the parameter's path.

Parameters are required first, then optional; nested objects flatten into dotted paths
(``filter.owner.name``, ``items[].id``); ``$ref`` resolves inside the document, with
cycles cut. Anything else that is valid JSON renders as ``key: value`` pairs
(``detail="generic json"``); invalid JSON falls back to its raw text (``fallback=True``).

The normalizer is total and bounded: every walk counts the JSON nodes it visits
(:data:`MAX_NODES`), nesting is cut at :data:`MAX_DEPTH`, and any exception left
over turns into the raw-text fallback rather than escaping.
"""

from __future__ import annotations

import json
import math
import re
from collections import ChainMap
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import unquote

from toolrank.normalize.common import clip, collapse_spaces, drop_stopwords, name_with_words, split_identifier
from toolrank.types import Normalized, NormalizeOptions, ToolInput

MAX_NODES = 20_000
"""JSON nodes one input may visit, all walks together (bounded time on any input)."""

MAX_DEPTH = 6
"""Nested object levels flattened into dotted parameter paths."""

MAX_GENERIC_DEPTH = 12
"""Nested levels the generic ``key: value`` rendering descends."""

MAX_REF_HOPS = 16
"""``$ref`` hops followed from one schema node (chains of refs to refs)."""

MAX_ENUM = 8
"""Enum values shown per parameter; more are elided."""

MAX_VALUE_CHARS = 40
"""Length of one rendered default or enum value."""

MIN_TOOL_CHARS = 160
"""Smallest share of ``max_chars`` one tool of a list gets."""

MAX_PARAM_DESCRIPTION_CHARS = 200
"""Length of one parameter's description (after compaction): its first sentences, then a word cut."""

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCHEMA_KEYS = ("parameters", "input_schema", "inputSchema", "parametersJsonSchema", "parameters_json_schema")
TYPE_ALIASES = {"dict": "object", "str": "string", "int": "integer", "bool": "boolean", "list": "array"}
MCP_HINTS = (
    ("readOnlyHint", "read-only"),
    ("destructiveHint", "destructive"),
    ("idempotentHint", "idempotent"),
    ("openWorldHint", "open-world"),
)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter, flattened: ``path`` is dotted for nested fields."""

    path: str
    type: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    default: str | None = None
    description: str = ""
    level: int = 0  # nesting depth: 0 for a top-level parameter


@dataclass(frozen=True, slots=True)
class Tool:
    """What every format is read into before rendering."""

    name: str
    description: str = ""
    params: tuple[Param, ...] = ()
    extra: str = ""  # e.g. "GET /pets/{id}" for an OpenAPI operation, MCP hints


class _Budget:
    """Counts visited nodes; once spent, every walk stops where it is."""

    __slots__ = ("left",)

    def __init__(self, nodes: int) -> None:
        self.left = nodes

    def spend(self, n: int = 1) -> bool:
        self.left -= n
        return self.left >= 0


# --------------------------------------------------------------------------- entry point


def normalize_tool(item: ToolInput, options: NormalizeOptions) -> Normalized:
    """Render a tool schema (any supported format) as compact text; never raises."""
    max_chars = max(0, int(options.max_chars))
    try:
        raw = item.json if isinstance(item.json, str) else str(item.json)
    except Exception:  # noqa: BLE001 - a weird object must not escape
        return Normalized("", True, "invalid input")
    try:
        doc = json.loads(raw)
    except RecursionError:
        return _fallback(raw, max_chars, "invalid json: nested too deeply")
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return _fallback(raw, max_chars, f"invalid json: {reason}")
    except Exception as exc:  # noqa: BLE001
        return _fallback(raw, max_chars, f"invalid json: {type(exc).__name__}")
    try:
        text, detail = _render_document(doc, max_chars)
    except Exception as exc:  # noqa: BLE001 - RecursionError, MemoryError... degrade, never fail
        return _fallback(raw, max_chars, f"tool normalizer error: {type(exc).__name__}")
    return Normalized(_safe(text), False, detail)


def _fallback(raw: str, max_chars: int, detail: str) -> Normalized:
    return Normalized(_safe(clip(collapse_spaces(raw), max_chars)), True, detail)


def _safe(text: str) -> str:
    """Lone surrogates (valid in JSON escapes, not in UTF-8) become ``?``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _render_document(doc: Any, max_chars: int) -> tuple[str, str]:
    budget = _Budget(MAX_NODES)
    if isinstance(doc, str):  # a JSON string holding JSON (double-encoded): read it once more
        inner = doc.strip()
        if inner[:1] in ("{", "["):
            try:
                doc = json.loads(inner)
            except (ValueError, RecursionError):
                pass
    found: list[tuple[str, Tool | str]] = []
    _read(doc, doc, budget, found, 0)
    tools = [t for _, t in found if isinstance(t, Tool)]
    if not tools:
        return clip(_generic(doc, _Budget(MAX_NODES)), max_chars), "generic json"
    formats = sorted({fmt for fmt, t in found if isinstance(t, Tool)})
    share = max(MIN_TOOL_CHARS, max_chars // max(1, len(found)))
    lines: list[str] = []
    used = 0
    for _, entry in found:
        if used >= max_chars:
            break
        line = _render_tool(entry, share) if isinstance(entry, Tool) else clip(entry, share)
        if line:
            lines.append(line)
            used += len(line) + 1
    detail = "+".join(formats)
    if len(tools) > 1:
        detail = f"{len(tools)} tools: {detail}"
    return clip("\n".join(lines), max_chars), detail


# --------------------------------------------------------------------------- format detection


def _read(value: Any, root: Any, budget: _Budget, out: list[tuple[str, Tool | str]], depth: int) -> None:
    """Append ``(format, Tool)`` for each tool found in ``value`` (``(..., text)`` for other items)."""
    if not budget.spend() or depth > 4:
        return
    if isinstance(value, list):
        for element in value:
            if budget.left <= 0:
                break
            if isinstance(element, (dict, list)):
                _read(element, root if root is not value else element, budget, out, depth + 1)
            else:
                text = _scalar(element)
                if text:
                    out.append(("", text))
        return
    if not isinstance(value, dict):
        return
    doc_root = value if depth == 0 or root is None else root
    paths = value.get("paths")
    if isinstance(paths, dict) and ("openapi" in value or "swagger" in value or not _looks_like_function(value)):
        out.extend(("openapi", t) for t in _openapi_document(value, budget))
        return
    for key in ("functionDeclarations", "function_declarations"):
        decls = value.get(key)
        if isinstance(decls, list):
            for decl in decls:
                if budget.left <= 0:
                    break
                if isinstance(decl, dict):
                    out.append(("gemini", _function(decl, (decl, value, root), budget)))
            return
    function = value.get("function")
    if isinstance(function, dict) and _looks_like_function(function):
        out.append(("openai-chat", _function(function, (function, value, root), budget)))
        return
    if _looks_like_function(value):
        if "input_schema" in value:
            fmt = "anthropic"
        elif "inputSchema" in value or "annotations" in value:
            fmt = "mcp"
        elif value.get("type") == "function":
            fmt = "openai-responses"
        elif _is_bfcl(value.get("parameters")):
            fmt = "bfcl"
        else:
            fmt = "json-schema"
        out.append((fmt, _function(value, (value, root), budget)))
        return
    if _looks_like_operation(value):
        out.append(("openapi-op", _operation(value, "", "", (), value if depth == 0 else root, budget)))
        return
    tools = value.get("tools")
    if isinstance(tools, list):
        _read(tools, doc_root, budget, out, depth + 1)
        return
    if depth > 0:
        text = _generic(value, budget)
        if text:
            out.append(("", text))


def _looks_like_function(d: Mapping[str, Any]) -> bool:
    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        return False
    return any(k in d for k in SCHEMA_KEYS) or isinstance(d.get("description"), str)


def _looks_like_operation(d: Mapping[str, Any]) -> bool:
    if isinstance(d.get("operationId"), str):
        return True
    return "responses" in d and any(k in d for k in ("requestBody", "parameters", "summary"))


def _is_bfcl(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "dict"


# --------------------------------------------------------------------------- readers


def _function(d: Mapping[str, Any], roots: tuple[Any, ...], budget: _Budget) -> Tool:
    """A function object of any JSON-Schema dialect (OpenAI, Anthropic, MCP, Gemini, BFCL)."""
    name = _text(d.get("name"))
    description = _text(d.get("description"))
    annotations = d.get("annotations")
    title = _text(d.get("title"))
    if not title and isinstance(annotations, dict):
        title = _text(annotations.get("title"))
    extras: list[str] = []
    if title and title.lower() != name.lower() and title.lower() not in description.lower():
        description = f"{title}. {description}" if description else title
    if isinstance(annotations, dict):
        extras.extend(word for key, word in MCP_HINTS if annotations.get(key) is True)
    schema: Any = None
    for key in SCHEMA_KEYS:
        if key in d:
            schema = d[key]
            break
    params: list[Param] = []
    if isinstance(schema, dict):
        roots = (schema, *roots)
        _flatten(schema, "", roots, budget, params, 0, frozenset())
    elif isinstance(schema, list):  # a list of parameter objects
        _parameter_list(schema, roots, budget, params)
    return Tool(name, description, _required_first(params), ", ".join(extras))


def _openapi_document(doc: Mapping[str, Any], budget: _Budget) -> list[Tool]:
    tools: list[Tool] = []
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        return tools
    for path, item in paths.items():
        if not budget.spend():
            break
        item, _ = _resolve(item, (doc,), frozenset(), budget)
        if not isinstance(item, Mapping):
            continue
        shared = item.get("parameters")
        shared = tuple(shared) if isinstance(shared, list) else ()
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                tools.append(_operation(op, method, str(path), shared, doc, budget))
    return tools


def _operation(
    op: Mapping[str, Any], method: str, path: str, shared: tuple[Any, ...], doc: Any, budget: _Budget
) -> Tool:
    """One OpenAPI operation: operationId, summary, description, parameters, requestBody."""
    roots = (doc,)
    summary = _text(op.get("summary"))
    description = _text(op.get("description"))
    if summary and description and not description.lower().startswith(summary.lower().rstrip(".")):
        description = f"{summary.rstrip('.')}. {description}"
    elif summary and not description:
        description = summary
    name = _text(op.get("operationId")) or (f"{method.upper()} {path}".strip() if path else summary)
    extra = f"{method.upper()} {path}" if method and path and name != f"{method.upper()} {path}" else ""
    params: list[Param] = []
    own = op.get("parameters")
    _parameter_list([*shared, *(own if isinstance(own, list) else ())], roots, budget, params)
    body, stack = _resolve(op.get("requestBody"), roots, frozenset(), budget)
    if isinstance(body, Mapping):
        schema = _body_schema(body.get("content"))
        if schema is not None:
            body_required = body.get("required") is True
            resolved, inner = _resolve(schema, roots, stack, budget)
            if isinstance(resolved, Mapping) and _properties(resolved, roots, inner, budget):
                _flatten(schema, "", roots, budget, params, 0, stack)
            else:
                params.append(_param("body", schema, body_required, roots, stack, budget))
                _descend(schema, "body", roots, budget, params, 0, stack)
    return Tool(name, description, _required_first(params), extra)


def _body_schema(content: Any) -> Any:
    if not isinstance(content, Mapping) or not content:
        return None
    media = content.get("application/json")
    if not isinstance(media, Mapping):
        media = next((m for m in content.values() if isinstance(m, Mapping)), None)
    return media.get("schema") if isinstance(media, Mapping) else None


def _parameter_list(items: Iterable[Any], roots: tuple[Any, ...], budget: _Budget, out: list[Param]) -> None:
    """OpenAPI/Swagger parameter objects (``name``, ``in``, ``required``, ``schema`` or inline type)."""
    seen: set[str] = set()
    for raw in items:
        if not budget.spend():
            break
        item, stack = _resolve(raw, roots, frozenset(), budget)
        if not isinstance(item, Mapping):
            continue
        name = _text(item.get("name"))
        if not name or name in seen:
            continue
        seen.add(name)
        schema = item.get("schema")
        if item.get("in") == "body" and schema is not None:  # Swagger 2 body parameter
            resolved, inner = _resolve(schema, roots, stack, budget)
            if isinstance(resolved, Mapping) and _properties(resolved, roots, inner, budget):
                _flatten(schema, "", roots, budget, out, 0, stack)
                continue
        if not isinstance(schema, Mapping):
            schema = item  # Swagger 2: type/enum/default on the parameter itself
        param = _param(name, schema, item.get("required") is True, roots, stack, budget)
        own = _text(item.get("description"))
        if own and not param.description:
            param = Param(param.path, param.type, param.required, param.enum, param.default, own, 0)
        out.append(param)
        _descend(schema, name, roots, budget, out, 0, stack)


# --------------------------------------------------------------------------- JSON Schema


def _resolve(
    node: Any, roots: tuple[Any, ...], stack: frozenset[str], budget: _Budget
) -> tuple[Any, frozenset[str]]:
    """Follow ``$ref`` (siblings override the target); a ref already on ``stack`` is a cycle: not followed."""
    for _ in range(MAX_REF_HOPS):
        if not isinstance(node, Mapping):
            return node, stack
        ref = node.get("$ref")
        if not isinstance(ref, str) or ref in stack or not budget.spend():
            return node, stack
        target = _lookup(ref, roots)
        if not isinstance(target, Mapping):
            return node, stack
        stack = stack | {ref}
        siblings = {k: v for k, v in node.items() if k != "$ref"} if len(node) <= 64 else {}
        node = ChainMap(siblings, target) if siblings else target
    return node, stack


def _lookup(ref: str, roots: tuple[Any, ...]) -> Any:
    """A local JSON pointer (``#/$defs/X``, ``#/components/schemas/X``) in the first root that has it."""
    if not ref.startswith("#"):
        return None
    parts = [unquote(p).replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/")[1:]]
    if len(parts) > 32:
        return None
    for root in roots:
        node: Any = root
        for part in parts:
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = None
                break
        if node is not None:
            return node
    return None


def _ref_name(node: Any) -> str:
    ref = node.get("$ref") if isinstance(node, Mapping) else None
    return ref.rstrip("/").rsplit("/", 1)[-1] if isinstance(ref, str) else ""


def _properties(
    schema: Mapping[str, Any], roots: tuple[Any, ...], stack: frozenset[str], budget: _Budget
) -> tuple[list[tuple[str, Any]], set[str]]:
    """Properties and required names of an object schema, ``allOf`` parts merged in."""
    props: dict[str, Any] = {}
    required: set[str] = set()
    parts: list[Any] = [schema]
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        for part in all_of[:16]:
            resolved, _ = _resolve(part, roots, stack, budget)
            if isinstance(resolved, Mapping):
                parts.append(resolved)
    for part in parts:
        own = part.get("properties")
        if isinstance(own, Mapping):
            for key, sub in own.items():
                if not budget.spend():
                    break
                props.setdefault(str(key), sub)
        req = part.get("required")
        if isinstance(req, list):
            required.update(r for r in req[:1000] if isinstance(r, str))
    return list(props.items()), required  # type: ignore[return-value]


def _flatten(
    schema: Any,
    prefix: str,
    roots: tuple[Any, ...],
    budget: _Budget,
    out: list[Param],
    depth: int,
    stack: frozenset[str],
) -> None:
    """Append one Param per property of an object schema, then its nested fields, depth-first."""
    if depth > MAX_DEPTH or not budget.spend():
        return
    schema, stack = _resolve(schema, roots, stack, budget)
    if not isinstance(schema, Mapping):
        return
    props, required = _properties(schema, roots, stack, budget)
    for key, sub in props:
        if budget.left <= 0:
            return
        path = f"{prefix}.{key}" if prefix else key
        out.append(_param(path, sub, key in required, roots, stack, budget, depth))
        _descend(sub, path, roots, budget, out, depth, stack)


def _descend(
    sub: Any,
    path: str,
    roots: tuple[Any, ...],
    budget: _Budget,
    out: list[Param],
    depth: int,
    stack: frozenset[str],
) -> None:
    """Flatten the fields of an object-valued (or array-of-objects) parameter under ``path``."""
    if depth >= MAX_DEPTH:
        return
    resolved, inner = _resolve(sub, roots, stack, budget)
    if not isinstance(resolved, Mapping):
        return
    if "properties" in resolved or "allOf" in resolved:
        _flatten(resolved, path, roots, budget, out, depth + 1, inner)
        return
    items, item_stack = _resolve(resolved.get("items"), roots, inner, budget)
    if isinstance(items, Mapping) and ("properties" in items or "allOf" in items):
        _flatten(items, f"{path}[]", roots, budget, out, depth + 1, item_stack)


def _param(
    path: str,
    sub: Any,
    required: bool,
    roots: tuple[Any, ...],
    stack: frozenset[str],
    budget: _Budget,
    level: int = 0,
) -> Param:
    resolved, inner = _resolve(sub, roots, stack, budget)
    if not isinstance(resolved, Mapping):
        return Param(path, _scalar(resolved) if isinstance(resolved, str) else "", required, level=level)
    if resolved.get("required") is True:  # Swagger 2 / some dialects: a boolean on the property
        required = True
    if resolved.get("optional") is True:  # BFCL
        required = False
    enum = resolved.get("enum")
    values: tuple[str, ...] = ()
    if isinstance(enum, list):
        values = tuple(_value(v) for v in enum[:MAX_ENUM]) + (("...",) if len(enum) > MAX_ENUM else ())
    elif "const" in resolved:
        values = (_value(resolved.get("const")),)
    default = _value(resolved["default"]) if "default" in resolved else None
    description = _text(resolved.get("description")) or _text(resolved.get("title"))
    return Param(path, _type(resolved, roots, inner, budget, 0), required, values, default, description, level)


def _type(schema: Any, roots: tuple[Any, ...], stack: frozenset[str], budget: _Budget, depth: int) -> str:
    """A short type name: ``string``, ``array of integer``, ``string|integer``, ``Node`` (a cut cycle)."""
    if depth > 3:
        return ""
    cut = _ref_name(schema)
    schema, stack = _resolve(schema, roots, stack, budget)
    if not isinstance(schema, Mapping):
        return ""
    if "$ref" in schema and cut:  # a cycle or an unresolvable ref: name the referenced type
        return cut
    raw = schema.get("type")
    names: list[str] = []
    if isinstance(raw, str):
        names = [raw]
    elif isinstance(raw, list):
        names = [t for t in raw[:8] if isinstance(t, str)]
    if not names:
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list):
                names = [_type(o, roots, stack, budget, depth + 1) for o in options[:8]]
                break
    names = [TYPE_ALIASES.get(n.lower(), n.lower()) for n in names if n]
    if len(names) > 1:
        names = [n for n in names if n != "null"] or names
    names = list(dict.fromkeys(names))
    if not names:
        if "properties" in schema:
            names = ["object"]
        elif isinstance(schema.get("items"), Mapping):
            names = ["array"]
    if names == ["array"]:
        inner = _type(schema.get("items"), roots, stack, budget, depth + 1)
        if inner and inner != "array":
            return f"array of {inner}"
    fmt = schema.get("format")
    text = "|".join(names)
    if isinstance(fmt, str) and fmt and len(fmt) <= 24 and text in ("string", "integer", "number"):
        text = f"{text} {fmt}"
    return text


def _required_first(params: list[Param]) -> tuple[Param, ...]:
    """Top-level required parameters (with their nested fields) before optional ones; stable."""
    groups: list[tuple[bool, list[Param]]] = []
    for p in params:
        if p.level == 0 or not groups:
            groups.append((p.required, [p]))
        else:
            groups[-1][1].append(p)
    ordered = [g for req, g in groups if req] + [g for req, g in groups if not req]
    return tuple(p for g in ordered for p in g)


# --------------------------------------------------------------------------- rendering


def _render_tool(tool: Tool, max_chars: int) -> str:
    """``name (words) [extra]: description. Required: p type: desc; ... Optional: ...``, cut at the budget."""
    head = name_with_words(tool.name) if tool.name else ""
    if tool.extra:
        head = f"{head} [{tool.extra}]" if head else tool.extra
    text = head
    if tool.description:
        text = f"{head}: {tool.description}" if head else tool.description
    pieces: list[str] = [text] if text else []
    length = len(text)
    group: bool | None = None
    for p in tool.params:
        if length > max_chars:
            break
        if p.level == 0 and p.required is not group:
            group = p.required
            label = "Required:" if group else "Optional:"
            if pieces and not pieces[-1].endswith((".", "!", "?")):
                pieces[-1] += "."
            pieces.append(label)
        elif pieces and p is not tool.params[0]:
            pieces[-1] += ";"
        piece = _render_param(p, group)
        pieces.append(piece)
        length += len(piece) + 2
    return clip(collapse_spaces(" ".join(pieces)), max_chars)


def _render_param(p: Param, group: bool | None) -> str:
    """``path type, one of a|b, default x: description``; required/optional said only where it differs from the group."""
    facts = [p.type] if p.type else []
    if p.required is not group:
        facts.append("required" if p.required else "optional")
    if p.enum:
        facts.append("one of " + "|".join(p.enum))
    if p.default is not None:
        facts.append(f"default {p.default}")
    text = f"{p.path} {', '.join(facts)}" if facts else p.path
    description = _param_description(p)
    return f"{text}: {description}" if description else text


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_DEFAULT_CLAUSE = re.compile(
    r"^\(?(?:the\s+)?defaults?(?:\s+value)?(?:\s+is|\s+to|\s+of)?\s*[:=]?\s*(?P<value>.+?)"
    r"(?:\s*,?\s*if\s+not\s+(?:specified|provided|given|set))?[.;)]?$",
    re.IGNORECASE,
)
_DEFAULT_PARENS = re.compile(
    r"\s*\((?:the\s+)?defaults?(?:\s+value)?(?:\s+is|\s+to)?\s*[:=]?\s*(?P<value>[^()]{1,60})\)", re.IGNORECASE
)


def _param_description(p: Param) -> str:
    """The description, compacted: what the rendered facts already say and function words go.

    Dropped: sentences and ``(default: x)`` asides that only restate the rendered default, a
    description that only repeats the parameter's name, and :data:`STOPWORDS`. Long ones keep
    their first sentences up to :data:`MAX_PARAM_DESCRIPTION_CHARS`. On BFCL tool retrieval
    (all-MiniLM-L6-v2) this cut tokens per tool by 13% for -0.003 nDCG@10. The tool's own
    description keeps its stopwords: dropping them there cost 0.006-0.009 nDCG@10 on BFCL and
    MetaTool. So does the name's ``(words)``, even for ``snake_case.names`` whose words a
    punctuation-splitting tokenizer already sees: the repetition cost 5 tokens but was worth
    0.005 nDCG@10 on BFCL.
    """
    text = p.description
    if not text:
        return ""
    if p.default is not None:
        default = p.default.strip("'\"`").lower()
        text = _DEFAULT_PARENS.sub(lambda m: "" if _same_value(m["value"], default) else m[0], text)
        sentences = _SENTENCE_END.split(text)
        kept = [s for s in sentences if not _restates_default(s, default)]
        text = " ".join(kept)
    text = drop_stopwords(text).rstrip(".;, ")
    leaf = p.path.rsplit(".", 1)[-1].removesuffix("[]")
    if split_identifier(text) == split_identifier(leaf):
        return ""
    if len(text) > MAX_PARAM_DESCRIPTION_CHARS:
        cut = ""
        for sentence in _SENTENCE_END.split(text):
            if len(cut) + len(sentence) + 1 > MAX_PARAM_DESCRIPTION_CHARS:
                break
            cut = f"{cut} {sentence}" if cut else sentence
        text = (cut or clip(text, MAX_PARAM_DESCRIPTION_CHARS)).rstrip(".;, ")
    return text


def _restates_default(sentence: str, default: str) -> bool:
    match = _DEFAULT_CLAUSE.match(sentence.strip())
    return match is not None and _same_value(match["value"], default)


def _same_value(written: str, default: str) -> bool:
    return written.strip().strip("'\"`").rstrip(".").lower() == default


def _text(value: Any) -> str:
    """A string field as one line; a non-string where a string belongs becomes its short rendering."""
    if isinstance(value, str):
        return collapse_spaces(value)
    if value is None or isinstance(value, (dict, list)):
        return ""
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return collapse_spaces(value)
    return ""


def _value(value: Any, depth: int = 0) -> str:
    """A default or enum value, short: scalars as written, containers abridged."""
    if isinstance(value, dict):
        if depth > 1:
            return "{...}"
        inner = ", ".join(f"{_scalar(str(k))}: {_value(v, depth + 1)}" for k, v in list(value.items())[:4])
        text = "{" + inner + (", ..." if len(value) > 4 else "") + "}"
    elif isinstance(value, list):
        if depth > 1:
            return "[...]"
        text = "[" + ", ".join(_value(v, depth + 1) for v in value[:6]) + (", ..." if len(value) > 6 else "") + "]"
    else:
        text = _scalar(value)
        if text == "":
            text = '""' if value == "" else text
    return clip(text, MAX_VALUE_CHARS)


def _generic(doc: Any, budget: _Budget) -> str:
    """Any JSON as ``path: value`` pairs joined by ``; `` (never raw JSON text)."""
    parts: list[str] = []

    def walk(value: Any, prefix: str, depth: int) -> None:
        if not budget.spend():
            return
        if isinstance(value, dict):
            if depth >= MAX_GENERIC_DEPTH:
                parts.append(f"{prefix}: ..." if prefix else "...")
                return
            for key, sub in value.items():
                if budget.left <= 0:
                    return
                walk(sub, f"{prefix}.{key}" if prefix else str(key), depth + 1)
        elif isinstance(value, list):
            if depth >= MAX_GENERIC_DEPTH:
                parts.append(f"{prefix}: ..." if prefix else "...")
                return
            scalars = [v for v in value[:64] if not isinstance(v, (dict, list))]
            if len(scalars) == len(value[:64]):
                budget.spend(len(scalars))
                joined = ", ".join(s for s in (_scalar(v) for v in scalars) if s)
                if joined:
                    parts.append(f"{prefix}: {joined}" if prefix else joined)
                return
            for sub in value:
                if budget.left <= 0:
                    return
                walk(sub, f"{prefix}[]" if prefix else "[]", depth + 1)
        else:
            text = _scalar(value)
            if text:
                parts.append(f"{prefix}: {text}" if prefix else text)

    walk(doc, "", 0)
    return collapse_spaces("; ".join(parts))
