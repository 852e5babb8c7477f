"""What a client gets back: :class:`Ranking` (hits, usage, timing, model) and per-candidate normalizations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from toolrank.types import (
    ModelInfo,
    NormalizedCandidate,
    RerankOutcome,
    Scored,
    ServerInfo,
    Timing,
    Usage,
)

__all__ = ["Hit", "ModelInfo", "NormalizedItem", "Ranking", "ServerInfo"]

Hit = Scored
"""One ranked candidate: ``index`` into the request, ``id``, ``score``, ``text`` (when asked)."""


@dataclass(frozen=True, slots=True)
class Ranking:
    """A rerank answer: hits best first, plus token usage, per-stage timing and the model.

    Iterating, indexing and ``len()`` go through ``results``.
    """

    results: tuple[Hit, ...]
    usage: Usage
    timing: Timing
    model: str

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, i: int) -> Hit:
        return self.results[i]

    @property
    def indices(self) -> list[int]:
        return [h.index for h in self.results]

    @property
    def ids(self) -> list[str]:
        return [h.id for h in self.results]


@dataclass(frozen=True, slots=True)
class NormalizedItem:
    """What the model sees for one candidate, and its token counts."""

    index: int
    id: str
    kind: str
    text: str
    fallback: bool
    detail: str
    tokens: int
    raw_tokens: int


def ranking_of(outcome: RerankOutcome) -> Ranking:
    return Ranking(outcome.results, outcome.usage, outcome.timing, outcome.model)


def normalized_items(items: list[NormalizedCandidate]) -> list[NormalizedItem]:
    return [NormalizedItem(n.index, n.id, n.kind, n.normalized.text, n.normalized.fallback, n.normalized.detail,
                           n.tokens, n.raw_tokens) for n in items]
