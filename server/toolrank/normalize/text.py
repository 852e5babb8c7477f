"""Plain text: whitespace collapsed and cut to the budget."""

from __future__ import annotations

from toolrank.normalize.common import clip, collapse_spaces
from toolrank.types import Normalized, NormalizeOptions, TextInput


def normalize_text(item: TextInput, options: NormalizeOptions) -> Normalized:
    """Text needs no parsing: collapse whitespace and respect the budget."""
    return Normalized(clip(collapse_spaces(item.text), options.max_chars))
