"""What every tool reader produces (:class:`Tool`, :class:`Param`), the node budget, and scalar readers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from toolrank.normalize.common import clip, collapse_spaces

MAX_NODES = 20_000
"""JSON nodes one input may visit, all walks together (bounded time on any input)."""

MAX_VALUE_CHARS = 40
"""Length of one rendered default or enum value."""


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter, flattened: ``path`` is dotted for nested fields."""

    path: str
    type: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    default: str | None = None
    description: str = ""
    level: int = 0  # nesting depth: 0 for a top-level parameter


@dataclass(frozen=True, slots=True)
class Tool:
    """What every format is read into before rendering.

    ``extra`` is a short bracketed fact after the name (``GET /pets/{id}``, MCP hints);
    ``notes`` are short ``label: text`` facts rendered after the parameters (returns,
    domain, tags, skills...).
    """

    name: str
    description: str = ""
    params: tuple[Param, ...] = ()
    extra: str = ""
    notes: tuple[str, ...] = ()


class Budget:
    """Counts visited nodes; once spent, every walk stops where it is."""

    __slots__ = ("left",)

    def __init__(self, nodes: int = MAX_NODES) -> None:
        self.left = nodes

    def spend(self, n: int = 1) -> bool:
        self.left -= n
        return self.left >= 0


def text_of(value: Any) -> str:
    """A string field as one line; a non-string where a string belongs becomes its short rendering."""
    if isinstance(value, str):
        return collapse_spaces(value)
    if value is None or isinstance(value, (dict, list)):
        return ""
    return scalar(value)


def scalar(value: Any) -> str:
    """A JSON scalar as written (``null``, ``true``, ``1.5``); containers give ""."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return collapse_spaces(value)
    return ""


def short_value(value: Any, depth: int = 0) -> str:
    """A default or enum value, short: scalars as written, containers abridged."""
    if isinstance(value, dict):
        if depth > 1:
            return "{...}"
        inner = ", ".join(f"{scalar(str(k))}: {short_value(v, depth + 1)}" for k, v in list(value.items())[:4])
        text = "{" + inner + (", ..." if len(value) > 4 else "") + "}"
    elif isinstance(value, list):
        if depth > 1:
            return "[...]"
        text = "[" + ", ".join(short_value(v, depth + 1) for v in value[:6]) + (", ..." if len(value) > 6 else "") + "]"
    else:
        text = scalar(value)
        if text == "":
            text = '""' if value == "" else text
    return clip(text, MAX_VALUE_CHARS)
