"""Code snippets (first version: whitespace collapsed)."""

from __future__ import annotations

from toolrank.normalize.common import clip, collapse_spaces
from toolrank.types import CodeInput, Normalized, NormalizeOptions


def normalize_code(item: CodeInput, options: NormalizeOptions) -> Normalized:
    return Normalized(clip(collapse_spaces(item.source), options.max_chars), False, item.language)
