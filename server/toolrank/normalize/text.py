"""Plain text: whitespace collapsed.

Text is not cut to the structured-kind budget: a long passage is split into
windows by the engine and scored by its best window, as a reranker should.
"""

from __future__ import annotations

from toolrank.normalize.common import collapse_spaces
from toolrank.types import Normalized, NormalizeOptions, TextInput


def normalize_text(item: TextInput, options: NormalizeOptions) -> Normalized:  # noqa: ARG001
    """Text needs no parsing: collapse runs of whitespace."""
    return Normalized(collapse_spaces(item.text))
