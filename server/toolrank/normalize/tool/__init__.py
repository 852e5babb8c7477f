"""Tool schemas: find the tools in any JSON, read them by role, render each as one compact line.

Formats read with no hint (``detail`` names the one found; the fixtures under
``tests/fixtures/normalize/tool/`` show one of each):

====================  ================================================================
``openapi``           a whole OpenAPI 3 / Swagger 2 document (``paths``): one line per operation
``openapi-op``        one operation (``operationId``, ``requestBody``, status-keyed ``responses``)
``gemini``            ``functionDeclarations`` / ``function_declarations`` lists
``openai-chat``       ``{"type": "function", "function": {...}}``
``openai-responses``  ``{"type": "function", "name", "parameters"}``
``anthropic``         ``{"name", "description", "input_schema"}``
``mcp``               ``{"name", "title", "inputSchema", "annotations"}``; a ``tools/list`` result
                      and a full JSON-RPC response are lists of these
``bfcl``              a function whose parameters use BFCL's ``"type": "dict"``
``json-schema``       a bare ``{"name", "description", "parameters"}`` function
``toolbench``         RapidAPI/ToolBench APIs (``required_parameters``...) and tools (``api_list``)
``gorilla``           APIBench records (``api_call``, ``api_arguments``, ``domain``...)
``api-bank``          ``input_parameters`` / ``output_parameters``
``toolalpaca``        ``Name``, ``Description``, ``Function_Description``
``langchain``         ``args`` / ``args_schema``;  ``llamaindex``: ``fn_schema``
``smolagents``        ``inputs`` + ``output_type``
``a2a``               an A2A agent card and its ``skills``
``openai-plugin``     ``ai-plugin.json`` (``name_for_model``, ``description_for_model``)
``api-record``        a flat ``{api_name, api_description, parameters: {p: {type, description}}, required}``
``roles``             anything else with a name and a description or parameters
====================  ================================================================

plus any JSON array (or ``{"tools": [...]}`` wrapper) of these, ranked as one candidate (one
line per tool); :func:`split_tools` cuts such a document into one candidate per tool. One tool
renders as one line::

    get_weather (get weather): Get the current weather. Required: location string: City name.
    Optional: unit string, one of celsius|fahrenheit, default celsius

JSON with no tool in it renders as ``key: value`` pairs (``detail="generic json"``); invalid
JSON falls back to its raw text (``fallback=True``). Faithfulness is guarded: a tool whose line
keeps under half of its own object's content words, or loses a parameter name or a word of a
parameter's description (:mod:`faithful`), is rendered by the role reader instead (or, failing
that, as ``key: value`` pairs), and a rendering that comes out
empty from a document with text becomes the generic one; both are counted fallbacks
(``fallback=True``, ``detail`` says why). Lines cut by ``max_chars`` are not judged.

The normalizer is total and bounded: every walk counts the JSON nodes it visits
(:data:`MAX_NODES`), nesting is cut, and any exception left over turns into the raw-text
fallback (``detail="tool normalizer error: ..."``) rather than escaping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from toolrank.normalize.common import clip, collapse_spaces
from toolrank.normalize.tool import faithful, roles
from toolrank.normalize.tool.detect import Entry, find_tools, is_tool_document
from toolrank.normalize.tool.expand import split_tools
from toolrank.normalize.tool.model import MAX_NODES, Budget, Param, Tool
from toolrank.normalize.tool.render import render_generic, render_tool
from toolrank.types import Normalized, NormalizeOptions, ToolInput

MIN_TOOL_CHARS = 160
"""Smallest share of ``max_chars`` one tool of a list gets."""

ERROR_PREFIX = "tool normalizer error"
"""``detail`` of the safety net: a bug, never expected on any input (the property tests check)."""


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
        text, detail, fell_back = render_document(doc, max_chars)
    except Exception as exc:  # noqa: BLE001 - RecursionError, MemoryError... degrade, never fail
        return _fallback(raw, max_chars, f"{ERROR_PREFIX}: {type(exc).__name__}")
    return Normalized(_safe(text), fell_back, detail)


def _fallback(raw: str, max_chars: int, detail: str) -> Normalized:
    return Normalized(_safe(clip(collapse_spaces(raw), max_chars)), True, detail)


def _safe(text: str) -> str:
    """Lone surrogates (valid in JSON escapes, not in UTF-8) become ``?``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def render_document(doc: Any, max_chars: int) -> tuple[str, str, bool]:
    """``(text, detail, fell_back)`` for a parsed JSON document."""
    if isinstance(doc, str):  # a JSON string holding JSON (double-encoded): read it once more
        inner = doc.strip()
        if inner[:1] in ("{", "["):
            try:
                doc = json.loads(inner)
            except (ValueError, RecursionError):
                pass
    entries = find_tools(doc, Budget())
    tools = [t for _, t, _ in entries if isinstance(t, Tool)]
    if not tools:
        return clip(render_generic(doc, Budget()), max_chars), "generic json", False
    text, reasons = _render_entries(entries, max_chars)
    formats = sorted({fmt for fmt, t, _ in entries if isinstance(t, Tool)})
    detail = "+".join(formats)
    if len(tools) > 1:
        detail = f"{len(tools)} tools: {detail}"
    if not text.strip():
        generic = clip(render_generic(doc, Budget()), max_chars)
        if generic.strip():
            return generic, f"{detail}: empty rendering, generic json", True
    if reasons:
        return text, f"{detail}: {'; '.join(dict.fromkeys(reasons))}", True
    return text, detail, False


def _render_entries(entries: list[Entry], max_chars: int) -> tuple[str, list[str]]:
    """The lines of every entry (each tool within its share of the budget), and the guard's reasons."""
    share = min(max_chars, max(MIN_TOOL_CHARS, max_chars // max(1, len(entries))))
    lines: list[str] = []
    reasons: list[str] = []
    used = 0
    for _, entry, source in entries:
        if used >= max_chars:
            break
        if isinstance(entry, Tool):
            line = render_tool(entry, share)
            if source is not None and len(line) < share * 0.95:  # a line cut by the budget is not judged
                guarded = _guard(source, line, share)
                if guarded is not None:
                    line, reason = guarded
                    reasons.append(reason)
        else:
            line = clip(entry, share)
        if line:
            lines.append(line)
            used += len(line) + 1
    return clip("\n".join(lines), max_chars), reasons


def _guard(source: Mapping[str, Any], line: str, max_chars: int) -> tuple[str, str] | None:
    """A fuller rendering when ``line`` keeps under :data:`faithful.MIN_KEPT` of ``source``'s content words,
    or loses a parameter's name or description words (:func:`faithful.parameter_facts`).

    The role reader's rendering of the whole source object comes first; the generic ``key: value``
    rendering is the last resort. ``None``: the line stands.
    """
    facts = faithful.parameter_facts(source, Budget())
    lost = faithful.lost_facts(facts, line)
    strings = faithful.content_strings(source, Budget())
    if not lost and all(" ".join(text.split()) in line for text in strings):  # the common case, and cheap
        return None
    content = set().union(*map(faithful.words, strings))
    share = faithful.kept_share(content, line) if len(content) >= faithful.MIN_WORDS else 1.0
    if not lost and share >= faithful.MIN_KEPT:
        return None
    alternative, how = render_tool(roles.read_tool(source, (source,), Budget()), max_chars), "role reader"
    alt_lost = faithful.lost_facts(facts, alternative)
    alt_share = faithful.kept_share(content, alternative) if len(content) >= faithful.MIN_WORDS else 1.0
    if alt_lost or alt_share < faithful.MIN_KEPT:
        generic = clip(render_generic(source, Budget()), max_chars)
        generic_lost, generic_share = faithful.lost_facts(facts, generic), faithful.kept_share(content, generic)
        if (len(generic_lost), -generic_share) < (len(alt_lost), -alt_share):
            alternative, alt_lost, alt_share, how = generic, generic_lost, generic_share, "generic json"
    if (len(alt_lost), -alt_share) >= (len(lost), -share):
        return None
    if lost:
        return alternative, f"lost parameter {', '.join(lost[:3])}{', ...' if len(lost) > 3 else ''}, {how}"
    return alternative, f"kept {share:.0%} of content words, {how}"


__all__ = ["MAX_NODES", "Param", "Tool", "is_tool_document", "normalize_tool", "split_tools"]
