"""Plain text: whitespace collapsed.

Text is not cut to the structured-kind budget: for a cross-encoder the engine
splits a long passage into windows and scores it by its best window; a
bi-encoder embeds the first ``max_length`` tokens (counted in ``usage.truncated``).
"""

from __future__ import annotations

from toolrank.normalize.common import collapse_spaces
from toolrank.types import Normalized, NormalizeOptions, TextInput


def normalize_text(item: TextInput, options: NormalizeOptions) -> Normalized:  # noqa: ARG001
    """Text needs no parsing: collapse runs of whitespace."""
    return Normalized(collapse_spaces(item.text))
