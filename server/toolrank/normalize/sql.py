"""SQL (first version: whitespace collapsed)."""

from __future__ import annotations

from toolrank.normalize.common import clip, collapse_spaces
from toolrank.types import Normalized, NormalizeOptions, SqlInput


def normalize_sql(item: SqlInput, options: NormalizeOptions) -> Normalized:
    return Normalized(clip(collapse_spaces(item.text), options.max_chars), False, item.dialect)
