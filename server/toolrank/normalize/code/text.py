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

LICENSE = re.compile(r"\b(copyright|licen[cs]ed?|spdx-license|all rights reserved)\b", re.IGNORECASE)
PRAGMA = re.compile(  # editor, encoding and linter directives: noise to a reader
    r"^(-\*-.*-\*-|(vim?|ex):.*|coding[:=].*|@ts-(ignore|nocheck|expect-error).*"
    r"|(pylint|flake8|mypy|pyright|eslint|jshint|tslint|rubocop|noqa|type: ?ignore|nosec|NOSONAR|istanbul|prettier"
    r"|clang-format)\b.*)$",
    re.IGNORECASE,
)
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
