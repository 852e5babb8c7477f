"""Tool schemas (first version: JSON rendered as key: value lines)."""

from __future__ import annotations

import json

from toolrank.normalize.common import clip, collapse_spaces
from toolrank.types import Normalized, NormalizeOptions, ToolInput


def normalize_tool(item: ToolInput, options: NormalizeOptions) -> Normalized:
    try:
        doc = json.loads(item.json)
    except (ValueError, RecursionError):
        return Normalized(clip(collapse_spaces(item.json), options.max_chars), True, "invalid json")
    parts: list[str] = []

    def walk(value: object, prefix: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, prefix)
        else:
            parts.append(f"{prefix}: {value}")

    walk(doc, "")
    return Normalized(clip(collapse_spaces("; ".join(parts)), options.max_chars), False, "generic")
