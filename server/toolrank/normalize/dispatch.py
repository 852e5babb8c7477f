"""One entry point over the normalizers: each kind's pure function, and the safety net around them.

Each kind's module exposes ``normalize_<kind>(item, options) -> Normalized``.
They are deterministic and never raise; :func:`normalize` adds a last safety
net so that a bug in one normalizer degrades one candidate to its raw text
instead of failing a request.
"""

from __future__ import annotations

from typing import Callable

from toolrank.normalize.code import normalize_code
from toolrank.normalize.common import clip, collapse_spaces
from toolrank.normalize.detect import detect_kind
from toolrank.normalize.sql import normalize_sql
from toolrank.normalize.text import normalize_text
from toolrank.normalize.tool import normalize_tool
from toolrank.types import (
    CandidateInput,
    CodeInput,
    Normalized,
    NormalizeOptions,
    SqlInput,
    TextInput,
    ToolInput,
    kind_of,
)

Normalizer = Callable[[CandidateInput, NormalizeOptions], Normalized]

NORMALIZERS: dict[type, Normalizer] = {
    TextInput: normalize_text,  # type: ignore[dict-item]
    CodeInput: normalize_code,  # type: ignore[dict-item]
    SqlInput: normalize_sql,  # type: ignore[dict-item]
    ToolInput: normalize_tool,  # type: ignore[dict-item]
}


def raw_text(item: CandidateInput) -> str:
    """The candidate's content as the client sent it (what ``--raw`` ranks)."""
    if isinstance(item, CodeInput):
        return item.source
    if isinstance(item, ToolInput):
        return item.json
    return item.text


MAX_PARSE_CHARS = 256 * 1024
"""No parser sees more than this: a larger candidate becomes its clipped raw text, in linear time.

The server's per-candidate limit (``Limits.max_candidate_bytes``) is the same by
default; this bound holds for the CLI and library callers too, and when an operator
raises that limit, so one huge candidate cannot stall the others.
"""


def normalize(item: CandidateInput, options: NormalizeOptions | None = None) -> Normalized:
    """Normalize one candidate with its kind's normalizer; never raises."""
    options = options or NormalizeOptions()
    raw = raw_text(item)
    if len(raw) > MAX_PARSE_CHARS:
        limit = max(options.max_chars, 0) if not isinstance(item, TextInput) else MAX_PARSE_CHARS
        # Only a bounded prefix is read, so the cost follows the limit, not the input.
        text = clip(collapse_spaces(raw[: 2 * limit + 1024]), limit)
        return Normalized(text, True, f"too large to parse: {len(raw)} characters, over {MAX_PARSE_CHARS}")
    if isinstance(item, TextInput) and item.detect:
        return _normalize_detected(item, options)
    try:
        return NORMALIZERS[type(item)](item, options)
    except Exception as exc:  # noqa: BLE001 - the safety net must catch everything
        text = clip(collapse_spaces(raw_text(item)), options.max_chars)
        return Normalized(text, True, f"normalizer error: {type(exc).__name__}")


def _normalize_detected(item: TextInput, options: NormalizeOptions) -> Normalized:
    """``kind: auto``: normalize as the detected kind; kept as text when detection or that normalizer fails."""
    detected = detect_kind(item.text)
    if detected is not None:
        result = normalize(detected, options)
        if not result.fallback:
            kind = kind_of(detected)
            return Normalized(result.text, False, f"auto: {kind}, {result.detail}", kind)
    text = normalize(TextInput(item.text), options)
    return Normalized(text.text, text.fallback, "auto: text" if detected is None else
                      f"auto: text ({kind_of(detected)} unreadable)")


__all__ = ["NORMALIZERS", "normalize", "raw_text"]
