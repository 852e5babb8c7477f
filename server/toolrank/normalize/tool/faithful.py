"""Faithfulness: how much of a tool document's own words a rendering keeps.

The guard in :func:`toolrank.normalize.tool.normalize_tool` compares a format renderer's text
with the document's content words (words of its string values, stopwords and the role
reader's noise fields aside); when too few survive, the role reader's rendering is used
instead and the fallback is counted.
"""

from __future__ import annotations

import re
from typing import Any

from toolrank.normalize.common import STOPWORDS
from toolrank.normalize.tool.model import Budget
from toolrank.normalize.tool.roles import NOISE_KEYS

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
