"""Is this string really a tool schema, SQL, or a source file? Decided cheaply, and only when sure.

Clients that can only send strings (Cohere's SDK, Jina, plain ``documents``)
still send tool schemas, ``CREATE TABLE`` statements and source files. For a
text candidate that asks for it (``kind: auto``), :func:`detect_kind` returns
the typed input it should be normalized as, or None to keep it as text. Every
test is a guard that plain prose fails quickly:

* tool: the text is a JSON object (or array of objects) and the JSON has a tool's
  shape: a name and a description or parameters, or a known wrapper
  (``function``, ``functionDeclarations``, ``tools``, an MCP ``tools/list``
  result or JSON-RPC response, an OpenAPI/Swagger document);
* SQL: the first statement opens with DDL (``CREATE TABLE|VIEW|INDEX``, ``ALTER
  TABLE``, ``COMMENT ON``) followed by a name, or a query keyword whose clauses
  are written as SQL (upper-case keywords, ``SELECT *``, ``col, col FROM``,
  a ``;`` end) and sqlglot reads the whole text without errors (DDL needs no
  parse here: SQL its normalizer cannot read is kept as text by the caller);
* code: a ``#!`` line, or at least two lines whose first is not a sentence and
  either opens a definition or import (``def f(x):`` is Python, ``func`` Go...;
  what follows may be docstring prose) or, with most lines shaped like code (ending
  in ``;{}:,()`` or opening with a keyword/indentation) and symbols denser than
  prose has them, the language guesser
  (:func:`toolrank.normalize.code.detect_language`) is confident.

Pure, deterministic, never raises (a failure means "text").
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from toolrank.normalize.code import detect_language
from toolrank.types import CandidateInput, CodeInput, SqlInput, ToolInput

MAX_DETECT_CHARS = 256 * 1024
"""Longer texts stay text: detection must cost little next to scoring."""

# Field names, lower-cased (keys are compared case-insensitively: ToolAlpaca writes "Name", "Description").
_NAME_KEYS = ("name", "api_name", "tool_name", "operationid", "function_name", "title", "name_for_model",
              "name_for_human")
_DESCRIPTION_KEYS = ("description", "api_description", "tool_description", "summary", "docstring", "doc",
                     "functionality", "purpose", "description_for_model", "description_for_human")
_PARAM_KEYS = ("parameters", "input_schema", "inputschema", "args", "arguments", "properties", "api_arguments",
               "required_parameters", "optional_parameters", "params", "requestbody", "input_parameters", "inputs",
               "fn_schema", "api_list", "function_description", "skills")
_WRAPPER_KEYS = ("function", "functionDeclarations", "function_declarations", "tools", "openapi", "swagger",
                 "paths", "toolSpec")

_SQL_DDL = re.compile(
    r"(?:create\s+(?:or\s+replace\s+)?(?:(?:global\s+|local\s+)?(?:temp|temporary)\s+|unlogged\s+|virtual\s+)?"
    r"(?:table|view|materialized\s+view|(?:unique\s+)?index)\s+(?:if\s+not\s+exists\s+)?[\w\"`\[][\w.\"`\[\]]*\s*(?:\(|as\b|on\b)"
    r"|alter\s+table\s+[\w\"`\[][\w.\"`\[\]]*\s+(?:add|drop|alter|rename|modify)\b"
    r"|comment\s+on\s+(?:table|column)\s+[\w.\"`]+\s+is\s+')",
    re.IGNORECASE,
)
_SQL_QUERY_START = re.compile(r"(select|with|insert\s+into|update|delete\s+from)\b", re.IGNORECASE)
_SQL_UPPER_CLAUSE = re.compile(r"\b(SELECT|FROM|WHERE|JOIN|GROUP BY|ORDER BY|INSERT INTO|VALUES|UPDATE|SET|DELETE FROM)\b")
_SQL_LOWER_SHAPE = re.compile(
    r"^select\s+(?:distinct\s+)?(?:\*|[\w.]+\s*,|count\s*\(|[\w.]+\s+from\s+[\w.]+\s*(?:;|$|where\b|join\b|group\b|order\b|limit\b|as\b|\w+\s+(?:join|where)\b))"
    r"|^(?:insert\s+into\s+[\w.]+\s*(?:\(|values\b)|update\s+[\w.]+\s+set\s+\w+\s*=|delete\s+from\s+[\w.]+\s*(?:;|$|where\b))",
    re.IGNORECASE,
)
_SQL_COMMENTS = re.compile(r"\A(?:\s*(?:--[^\n]*(?:\n|\Z)|/\*.*?\*/))*\s*", re.DOTALL)

_CODE_LINE_END = re.compile(r"[;{}:,()\[\]]\s*$|^\s*(?:end|fi|done|esac)\s*$")
_CODE_LINE_START = re.compile(
    r"^(?:\s{2,}|\t)\S|^\s*(?:def|class|import|from|return|if|for|while|fn|func|function|const|let|var|pub|package|"
    r"#include|public|private|protected|static|struct|impl|use|using|namespace|module|require|@\w+|//|/\*|\*|#)\b"
)
_OPENERS: tuple[tuple[re.Pattern[str], Optional[str]], ...] = (
    # A definition or import as the first line says "code" whatever follows (docstrings are prose);
    # where it also says which language, the costlier guesser is skipped. None: ask the guesser.
    (re.compile(r"\s*(?:async\s+)?def\s+\w+\s*\(.*\)\s*(?:->\s*[^:]+)?:\s*(?:#.*)?$"), "python"),
    (re.compile(r"\s*(?:from\s+[\w.]+\s+import\s|import\s+[\w.]+(?:\s+as\s+\w+)?\s*$|class\s+\w+\s*(?:\([^)]*\))?:\s*$)"),
     "python"),
    (re.compile(r"\s*(?:async\s+)?def\s+\w+\s*\("), None),  # a multi-line signature, or Ruby
    (re.compile(r"func\s+(?:\([^)]*\)\s*)?\w+\s*\(|package\s+\w+\s*$"), "go"),
    (re.compile(r"\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+\w+\s*[<(]|use\s+[\w:]+(?:::\{[^}]*\})?;\s*$"), "rust"),
    (re.compile(r"<\?php"), "php"),
    (re.compile(r"package\s+[\w.]+;\s*$|import\s+java\."), "java"),
    (re.compile(r"\s*(?:class\s+\w+\s*[({<:]|(?:export\s+)?(?:async\s+)?function\s*\*?\s*\w*\s*\(|#include\s*[<\"]"
                r"|(?:public|private|protected)\s+(?:static\s+)?[\w<>\[\], ]+\s+\w+\s*\()"), None),
)
_PYTHON_SIGNATURE_END = re.compile(r"\)\s*(?:->\s*[^:\n]+)?:[ \t]*(?:#[^\n]*)?$", re.MULTILINE)
_SYMBOLS = re.compile(r"[(){}\[\];=<>+*/&|!$:]")
MIN_CODE_LINES = 2
MAX_LINES = 64  # lines the code tests look at
GUESS_CHARS = 2048  # characters the language guesser reads
MIN_CODE_LINE_SHARE = 0.5
MAX_PROSE_LINE_SHARE = 0.4
MIN_SYMBOL_DENSITY = 0.04  # symbols per non-space character; prose has ~0.005


def detect_kind(text: str) -> Optional[CandidateInput]:
    """The typed input ``text`` should be normalized as (tool, SQL or code), or None: it is text."""
    try:
        return _detect(text)
    except Exception:  # noqa: BLE001 - detection is a guess: any failure means "text"
        return None


def _detect(text: str) -> Optional[CandidateInput]:
    if not isinstance(text, str) or len(text) > MAX_DETECT_CHARS:
        return None
    stripped = text.strip()
    if len(stripped) < 8:
        return None
    first = stripped[0]
    if first in "{[":
        return ToolInput(text) if _is_tool_json(stripped) else None
    sql = _sql(stripped)
    if sql is not None:
        return sql
    language = _code_language(stripped)
    if language is not None:
        return CodeInput(text, language)
    return None


# ---------------------------------------------------------------- tool


def _is_tool_json(text: str) -> bool:
    if text[-1] not in "}]":
        return False
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return _tool_shaped(value, 0)


def _tool_shaped(value: Any, depth: int) -> bool:
    if depth > 3:
        return False
    if isinstance(value, list):
        return bool(value) and all(_tool_shaped(v, depth + 1) for v in value)
    if not isinstance(value, dict):
        return False
    if any(k in value for k in _WRAPPER_KEYS):
        inner = [value[k] for k in _WRAPPER_KEYS if k in value]
        if "openapi" in value or "swagger" in value:
            return isinstance(value.get("paths"), dict) or isinstance(value.get("info"), dict)
        if any(isinstance(v, (dict, list)) and _tool_shaped(v, depth + 1) for v in inner):
            return True
    result = value.get("result")
    if isinstance(result, dict) and "tools" in result:  # an MCP JSON-RPC response
        return _tool_shaped(result["tools"], depth + 1)
    lower = {str(k).lower(): v for k, v in value.items()}
    name = next((lower[k] for k in _NAME_KEYS if isinstance(lower.get(k), str) and lower[k].strip()), None)
    if name is None or len(name) > 200:
        return False
    has_description = any(isinstance(lower.get(k), str) and lower[k].strip() for k in _DESCRIPTION_KEYS)
    has_params = any(isinstance(lower.get(k), (dict, list)) for k in _PARAM_KEYS)
    return has_description or has_params


# ---------------------------------------------------------------- SQL


def _sql(text: str) -> Optional[SqlInput]:
    body = _SQL_COMMENTS.sub("", text, count=1)
    head = body[:400]
    if _SQL_DDL.match(head):
        return SqlInput(text)  # unambiguous; SQL the normalizer cannot read is kept as text by the caller
    start = _SQL_QUERY_START.match(head)
    if start is None:
        return None
    keyword = start.group(1)
    upper = keyword.split()[0].isupper() and len(_SQL_UPPER_CLAUSE.findall(head)) >= 2
    if not upper and not _SQL_LOWER_SHAPE.match(head) and not body.rstrip().endswith(";"):
        return None
    return SqlInput(text) if _sql_parses(text) else None


def _sql_parses(text: str) -> bool:
    """sqlglot reads every statement without an error or an opaque Command (bounded input)."""
    if len(text) > 64 * 1024:
        return False
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel

    try:
        statements = sqlglot.parse(text, error_level=ErrorLevel.RAISE)
    except Exception:  # noqa: BLE001 - sqlglot raises many types
        return False
    statements = [s for s in statements if s is not None]
    return bool(statements) and not any(isinstance(s, exp.Command) for s in statements)


# ---------------------------------------------------------------- code


def _code_language(text: str) -> Optional[str]:
    head = text[:GUESS_CHARS]
    if text.startswith("#!"):
        return detect_language(head)
    lines = [line for line in text[:4 * GUESS_CHARS].split("\n", MAX_LINES)[:MAX_LINES] if line.strip()]
    if len(lines) < MIN_CODE_LINES:
        return None
    for pattern, language in _OPENERS:
        if pattern.match(lines[0]):
            if language is None and _PYTHON_SIGNATURE_END.search(head):
                return "python"  # ``def f(a,`` ... ``b):`` -- a Ruby def never ends with a colon
            return language or detect_language(head)
    if _prose_line(lines[0]) or _sentence_line(lines[0]):
        return None
    code_like = sum(1 for line in lines if _CODE_LINE_END.search(line) or _CODE_LINE_START.match(line))
    if code_like < MIN_CODE_LINE_SHARE * len(lines):
        return None
    if sum(1 for line in lines if _prose_line(line)) > MAX_PROSE_LINE_SHARE * len(lines):
        return None
    sample = "\n".join(lines)
    visible = sum(1 for c in sample if not c.isspace())
    if not visible or len(_SYMBOLS.findall(sample)) / visible < MIN_SYMBOL_DENSITY:
        return None
    return detect_language(head)


def _prose_line(line: str) -> bool:
    """A sentence: starts with a letter, four or more plain words, and no code opening it."""
    stripped = line.strip()
    if not stripped[:1].isalpha() or _CODE_LINE_START.match(line):
        return False
    words = stripped.split()
    plain = sum(1 for w in words if w.strip(".,;:!?'\"()").isalpha())
    return len(words) >= 4 and plain >= 0.75 * len(words)


def _sentence_line(line: str) -> bool:
    """A title or sentence opening a text: two or more words ending in ``.`` or ``:``, no code punctuation."""
    stripped = line.strip()
    return (len(stripped.split()) >= 2 and stripped[-1:] in ".:" and not stripped.endswith("...")
            and not any(c in stripped for c in "(){}[]=;<>\"'`"))


__all__ = ["detect_kind"]
