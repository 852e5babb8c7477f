"""Small text helpers shared by every normalizer."""

from __future__ import annotations

import re

_WORD_BOUNDARY = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SPACES = re.compile(r"\s+")


def split_identifier(name: str) -> list[str]:
    """Split an identifier into lower-case words.

    ``getHTTPResponse_code.v2`` -> ``["get", "http", "response", "code", "v", "2"]``.
    camelCase, PascalCase, snake_case, kebab-case, dots and namespaces all split.
    """
    return [w.lower() for w in _WORD_BOUNDARY.findall(name)]


def words_of(name: str) -> str:
    """The identifier as space-separated words, or "" when splitting adds nothing."""
    words = " ".join(split_identifier(name))
    return "" if words == name.lower() else words


def name_with_words(name: str) -> str:
    """``name (words)`` when splitting the name tells more, else the name alone."""
    words = words_of(name)
    return f"{name} ({words})" if words else name


def collapse_spaces(text: str) -> str:
    """Every run of whitespace as one space, trimmed (``str.split`` and ``\\s`` agree on every code point;
    split-and-join is ~10x faster than a regex substitution)."""
    return " ".join(text.split())


def clip(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` characters, at a word boundary if one is near."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    if space >= max_chars * 0.8:
        cut = cut[:space]
    return cut.rstrip()


STOPWORDS = frozenset(
    "a an the of to for in on at by with into is are be been being was were this that these those it its as "
    "which will can should would may".split()
)
"""Function words a bi-encoder barely uses; negations (no, not, never, without) are deliberately absent."""

_TAIL_PUNCT = ".,;:!?)]}\"'`"


def drop_stopwords(text: str, stopwords: frozenset[str] = STOPWORDS) -> str:
    """``text`` without its :data:`STOPWORDS`; a dropped word's trailing punctuation moves to the word before.

    Kept: all-caps words longer than one letter (``IT``, ``AS`` are names, not function words)
    and words opening with punctuation (``(the``, ``'a'``). Text made only of stopwords comes
    back unchanged.
    """
    kept: list[str] = []
    for word in text.split():
        core = word.rstrip(_TAIL_PUNCT)
        if core.lower() not in stopwords or (len(core) > 1 and core.isupper()):
            kept.append(word)
            continue
        tail = word[len(core):]
        if tail and kept and not kept[-1].endswith(tuple(_TAIL_PUNCT)):
            kept[-1] += tail
    return " ".join(kept) if kept else text

