"""Which language a snippet is in: its ``language`` field, else its ``path``, else a cheap guess."""

from __future__ import annotations

import os
from typing import Optional

from toolrank.normalize.code.languages import ALIASES, DETECTION, EXTENSIONS, SHEBANGS
from toolrank.types import CodeInput

MAX_DETECT_CHARS = 4096  # characters the language detector looks at
_FILENAMES = {"rakefile": "ruby", "gemfile": "ruby", "podfile": "ruby", "vagrantfile": "ruby"}


def resolve_language(item: CodeInput) -> tuple[Optional[str], str]:
    """The language name (a key of ``BY_NAME``) and how it was found, or None."""
    language = str(item.language or "").strip().lower()
    if language in ALIASES:
        return ALIASES[language], "language"
    path = str(item.path or "").strip()
    if path:
        base = os.path.basename(path.replace("\\", "/")).lower()
        if base in _FILENAMES:
            return _FILENAMES[base], "path"
        ext = base.rsplit(".", 1)[-1] if "." in base else ""
        if ext in EXTENSIONS:
            return EXTENSIONS[ext], "path"
    detected = detect_language(str(item.source or ""))
    if detected:
        return detected, "detected"
    return None, "unknown"


def detect_language(source: str) -> Optional[str]:
    """A cheap guess from a ``#!`` line and a few telling patterns; None if unsure."""
    head = source[:MAX_DETECT_CHARS]
    first = head.split("\n", 1)[0]
    if first.startswith("#!"):
        parts = first[2:].replace("/", " ").split()
        for part in reversed(parts):
            name = part.rstrip("0123456789.") if part.startswith("python") else part
            if name in SHEBANGS:
                return SHEBANGS[name]
            if part in SHEBANGS:
                return SHEBANGS[part]
    scores: dict[str, int] = {}
    for language, pattern, weight in DETECTION:
        hits = len(pattern.findall(head, 0, MAX_DETECT_CHARS))
        if hits:
            scores[language] = scores.get(language, 0) + weight * min(hits, 3)
    if "typescript" in scores:
        scores["typescript"] += scores.get("javascript", 0)
    if "cpp" in scores:
        scores["cpp"] += scores.get("c", 0)
    if not scores:
        return None
    best = max(sorted(scores), key=lambda name: scores[name])
    return best if scores[best] >= 3 else None
