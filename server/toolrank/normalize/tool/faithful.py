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

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_URL = re.compile(r"(?:https?|ftp)://\S+", re.IGNORECASE)


def words(text: str) -> set[str]:
    """Lower-case words of ``text`` (identifiers split), stopwords and one-letter words aside."""
    return {w for w in (m.lower() for m in _WORD.findall(_URL.sub(" ", text))) if len(w) > 1 and w not in STOPWORDS}


def content_words(doc: Any, budget: Budget) -> set[str]:
    """Words of every string value in ``doc`` outside the noise fields (a JSON string inside is not read)."""
    found: set[str] = set()

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
            found.update(words(value))

    walk(doc, 0)
    return found


def kept_share(content: set[str], text: str) -> float:
    """Share of ``content`` present in ``text`` (1.0 for no content)."""
    if not content:
        return 1.0
    return len(content & words(text)) / len(content)
