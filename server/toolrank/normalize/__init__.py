"""Normalizers: one pure function per candidate kind, behind one entry point.

Each kind's module exposes ``normalize_<kind>(item, options) -> Normalized``.
They are deterministic and never raise; :func:`normalize` adds a last safety
net so that a bug in one normalizer degrades one candidate to its raw text
instead of failing a request.
"""

from __future__ import annotations

from typing import Callable

from toolrank.normalize.code import normalize_code
from toolrank.normalize.common import clip, collapse_spaces
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


def normalize(item: CandidateInput, options: NormalizeOptions | None = None) -> Normalized:
    """Normalize one candidate with its kind's normalizer; never raises."""
    options = options or NormalizeOptions()
    try:
        return NORMALIZERS[type(item)](item, options)
    except Exception as exc:  # noqa: BLE001 - the safety net must catch everything
        text = clip(collapse_spaces(raw_text(item)), options.max_chars)
        return Normalized(text, True, f"normalizer error: {type(exc).__name__}")


__all__ = ["NORMALIZERS", "normalize", "raw_text"]
