"""Faithfulness: how much of a tool document's own words a rendering keeps.

The guard in :func:`toolrank.normalize.tool.normalize_tool` compares a format renderer's text
with the document's content words (words of its string values, stopwords and the role
reader's noise fields aside), and with its parameters (:func:`parameter_facts`: every
parameter name and the words of its description, found by shape, not by format); when too
few words survive or any parameter fact is lost, the role reader's rendering is used instead
(or the generic one) and the fallback is counted.
"""

from __future__ import annotations

import re
from typing import Any

from collections.abc import Mapping
from functools import lru_cache

from toolrank.normalize.common import STOPWORDS, split_identifier
from toolrank.normalize.tool import jsonschema as js
from toolrank.normalize.tool.model import Budget
from toolrank.normalize.tool.render import judged_description
from toolrank.normalize.tool.roles import (NOISE_KEYS, OUTPUT_WORDS, REFERENCE_KEYS, RETURN_RANK, is_param_map,
                                           is_wrapped_schema, keymap)

MIN_KEPT = 0.5
"""Share of the document's content words a rendering must keep before the guard steps in."""

MIN_WORDS = 8
"""Documents with fewer content words than this are never judged (too few to tell)."""

_WORD = re.compile(r"[^\W_]+")
_URL = re.compile(r"(?:https?|ftp)://\S+", re.IGNORECASE)


def words(text: str) -> set[str]:
    """Lower-case words of ``text`` (runs of letters and digits), stopwords and one-letter words aside."""
    if "://" in text:
        text = _URL.sub(" ", text)
    return {w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS}


def content_words(doc: Any, budget: Budget) -> set[str]:
    """Words of every string value in ``doc`` outside the noise fields (a JSON string inside is not read)."""
    found: set[str] = set()
    for text in content_strings(doc, budget):
        found.update(words(text))
    return found


def content_strings(doc: Any, budget: Budget) -> list[str]:
    """Every string value in ``doc`` outside the noise fields, as written."""
    found: list[str] = []

    def walk(value: Any, depth: int) -> None:
        if depth > 24 or not budget.spend():
            return
        if isinstance(value, dict):
            for key, sub in value.items():
                if isinstance(key, str) and key.lower() in NOISE_KEYS:
                    continue
                if key in ("enum", "examples", "example", "default", "const") and isinstance(sub, list):
                    continue  # long value lists are cut by rule
                walk(sub, depth + 1)
        elif isinstance(value, list):
            for sub in value:
                walk(sub, depth + 1)
        elif isinstance(value, str) and len(value) < 4096 and not value.lstrip().startswith(("{", "[")):
            found.append(value)

    walk(doc, 0)
    return found


def kept_share(content: set[str], text: str) -> float:
    """Share of ``content`` present in ``text`` (1.0 for no content): a word counts when ``text``
    contains it (``getweather`` is in ``getWeather (get weather)``)."""
    if not content:
        return 1.0
    lower = text.lower()
    return sum(1 for w in content if w in lower) / len(content)


SKIPPED_KEYS = frozenset(("enum", "examples", "example", "default", "const", "annotations"))
"""Keys whose values hold no parameters (values, MCP hints)."""


def parameter_facts(doc: Any, budget: Budget) -> list[tuple[str, str]]:
    """``(name, description)`` of every parameter in a tool document, found by shape.

    Parameters are the keys of a ``properties`` map or of any parameter map
    (:func:`roles.is_parameter_map`), and the ``name`` of each object in a list of parameter
    objects; ``$ref`` targets, noise fields and what the tool returns (output keys) are not
    judged, nor fields nested deeper than the reader flattens.
    """
    found: list[tuple[str, str]] = []

    def spec(name: str, value: Any, level: int) -> None:
        description = ""
        if isinstance(value, Mapping):
            text = keymap(value).get("description")
            description = value[text] if text is not None and isinstance(value[text], str) else ""
        found.append((name, description))
        walk(value, level + 1)

    def walk(value: Any, level: int) -> None:
        if level > js.MAX_DEPTH or not budget.spend():
            return
        if isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping) and isinstance(item.get("name"), str) and any(
                        k in item for k in ("description", "type", "schema", "in", "required")):
                    spec(item["name"], item, level)
                else:
                    walk(item, level)
            return
        if not isinstance(value, Mapping):
            return
        for key, sub in value.items():
            if not isinstance(sub, (Mapping, list)):
                continue
            lower = key.lower() if isinstance(key, str) else ""
            if _not_judged(lower):
                continue
            if isinstance(sub, Mapping) and (lower == "properties" or is_param_map(sub)):
                for name, item in sub.items():
                    if budget.left <= 0:
                        return
                    spec(str(name), item, level)
            elif isinstance(sub, Mapping) and is_wrapped_schema(sub):
                walk(next(iter(sub.values())), level)
            else:
                walk(sub, level)

    walk(doc, 0)
    return found


@lru_cache(maxsize=4096)
def _not_judged(lower: str) -> bool:
    """Keys whose values hold no input parameters: noise, values, references, outputs."""
    return (lower in NOISE_KEYS or lower in SKIPPED_KEYS or (lower in REFERENCE_KEYS and lower != "properties")
            or lower in RETURN_RANK or any(w in OUTPUT_WORDS for w in split_identifier(lower)))


def lost_facts(facts: list[tuple[str, str]], text: str) -> list[str]:
    """The parameter names, and names of parameters whose description words, that ``text`` does not keep."""
    lower = text.lower()
    lost = []
    for name, description in facts:
        if name.lower() not in lower:
            lost.append(name)
        elif description and any(w not in lower for w in words(description)) \
                and any(w not in lower for w in words(judged_description(description))):  # the rule's cuts aside
            lost.append(f"{name} (description)")
    return lost
