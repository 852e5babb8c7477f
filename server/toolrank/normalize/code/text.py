"""Text of comments, docstrings and string literals, as both code renderings want it.

Cleaning (comment marks, XML doc tags, quotes), what counts as noise (licence
headers, editor and linter pragmas), long literals cut to their first words.
"""

from __future__ import annotations

import re
from typing import Any

from toolrank.normalize.common import clip, collapse_spaces

MAX_DOC_CHARS = 300  # docstring / leading comment kept per definition
MAX_STRING_CHARS = 40  # the summary drops string literals longer than this
MAX_LITERAL_CHARS = 200  # the source keeps string literals up to this long (error messages, SQL, URLs)

LICENSE = re.compile(  # a licence notice wherever it sits
    r"\b(copyright|spdx-license-identifier|all rights reserved|licensed under|permission is hereby granted"
    r"|(gnu (lesser |affero )?)?general public license|apache license|mit license)\b",
    re.IGNORECASE,
)
LICENSE_WORD = re.compile(r"\blicen[cs]ed?\b", re.IGNORECASE)  # a notice only in a file's header comments
PRAGMA = re.compile(  # editor, encoding and linter directives: noise to a reader; prose naming a tool is not one
    r"^(-\*-.*-\*-|(vim?|ex):.*|coding[:=].*|@ts-(ignore|nocheck|expect-error).*"
    r"|(pylint|flake8|mypy|pyright|jshint|jscs|tslint|rubocop|istanbul|c8)\s*[:\s]\s*(disable|enable|ignore|noqa|skip)\b.*"
    r"|eslint(-disable|-enable)?\b(\s.*|-.*)?|global\s+\w+.*:\s*(true|false|readonly|writable)\b.*"
    r"|(noqa|nosec|NOSONAR)\b.*|type:\s*ignore.*|prettier-ignore.*|clang-format\s+(on|off).*|fmt:\s*(on|off|skip).*"
    r"|pragma:?\s*no\s*cover.*)$",
    re.IGNORECASE,
)


def is_licence_notice(text: str, header: bool) -> bool:
    """A copyright or licence notice: strong markers anywhere, the bare word "licence" only in a header.

    A comment saying "check the package's license field" inside the code is content, not a notice."""
    return bool(LICENSE.search(text)) or (header and LICENSE_WORD.search(text) is not None)
QUOTES = re.compile(r"^[A-Za-z]{0,3}(\"\"\"|'''|\"|'|`|@\"|\$\")|(\"\"\"|'''|\"|'|`)$")
TOKENS = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*|\d+")
_COMMENT_MARKS = re.compile(r"^\s*(/\*+!?|\*+/|\*+|///?!?|//|#+!?|--+|;+|<!--|-->|=begin|=end)")
_COMMENT_END = re.compile(r"\s*\*+/\s*$")
_XML_DOC_TAGS = re.compile(
    r"</?(summary|param|paramref|typeparam|returns|remarks|see|seealso|c|code|para|exception|value|example|inheritdoc)\b[^>]*>"
)
_BLOB = re.compile(r"\S{80,}")
_CLOSING_QUOTE = re.compile(r"(\"\"\"|\'\'\'|[\"'`])$")


def clean_docstring(text: str, max_chars: int = MAX_DOC_CHARS) -> str:
    text = QUOTES.sub("", text.strip())
    text = QUOTES.sub("", text.strip())
    return clip(collapse_spaces(text), max_chars)


def clean_comment(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        line = _COMMENT_END.sub("", line)
        line = _COMMENT_MARKS.sub("", line)
        lines.append(line)
    text = _XML_DOC_TAGS.sub(" ", " ".join(lines))
    return collapse_spaces(text)


def block_comment(raw: str) -> str:
    """A multi-line comment on one line, without the ``*`` margin of doc comments."""
    lines = [line.strip() for line in raw.split("\n")]
    body = [re.sub(r"^\*(?!/)\s?", "", line) for line in lines[1:]]
    return collapse_spaces(" ".join([lines[0], *body]))


def short_string(text: str) -> str:
    """A long literal cut to its first words; a blob (base64, hex, minified) to a stub."""
    blob = _BLOB.search(text)
    if len(text) <= MAX_LITERAL_CHARS and blob is None:
        return text
    end = min(MAX_LITERAL_CHARS * 3 // 4, blob.start() + MAX_STRING_CHARS // 2 if blob is not None else len(text))
    quote = _CLOSING_QUOTE.search(text)
    return clip(text[:end], end) + " ..." + (quote.group(0) if quote else "")


def dedupe(items: Any) -> list[str]:
    out: dict[str, None] = {}
    for item in items:
        if item and item not in out:
            out[item] = None
    return list(out)
