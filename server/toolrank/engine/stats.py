"""What the engine tells the transports: a stats snapshot and per-event observers.

The engine owns no metrics registry: transports (``toolrank.api.metrics``) read
``Engine.stats()`` at scrape time and subscribe an ``EngineObserver`` for events
that must be counted as they happen (each batch, each finished rerank).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from toolrank.types import RerankOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int


@dataclass(frozen=True)
class EngineStats:
    """A point-in-time copy of the engine's own counters and gauges."""

    ready: bool
    inflight: int
    requests: int
    candidates: int
    fallbacks: int
    queued_tokens: dict[str, int] = field(default_factory=dict)  # per model
    caches: dict[tuple[str, str], CacheStats] = field(default_factory=dict)  # (cache, model); normalized: model ""


class EngineObserver(Protocol):
    """Called on the event loop; must be quick and must not raise (errors are logged and dropped)."""

    def on_batch(self, model: str, sequences: int, real_tokens: int, padded_tokens: int) -> None: ...

    def on_rerank(self, outcome: RerankOutcome, candidates: int) -> None: ...


class Observers:
    """The engine's subscribers; one failing observer never reaches the engine or the others."""

    def __init__(self) -> None:
        self._items: list[EngineObserver] = []

    def add(self, observer: EngineObserver) -> None:
        self._items.append(observer)

    def remove(self, observer: EngineObserver) -> None:
        if observer in self._items:
            self._items.remove(observer)

    def batch(self, model: str, sequences: int, real_tokens: int, padded_tokens: int) -> None:
        for o in self._items:
            try:
                o.on_batch(model, sequences, real_tokens, padded_tokens)
            except Exception:  # noqa: BLE001 - an observer must not stop the scheduler
                log.exception("engine observer failed in on_batch")

    def rerank(self, outcome: RerankOutcome, candidates: int) -> None:
        for o in self._items:
            try:
                o.on_rerank(outcome, candidates)
            except Exception:  # noqa: BLE001
                log.exception("engine observer failed in on_rerank")
