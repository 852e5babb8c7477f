"""The catalog service's learning state: per catalog, its example requests and feedback, embedded and current.

Kept beside :class:`toolrank.catalogs.service.CatalogService` (which calls it at put, select,
feedback, refresh and delete) so that the scoring itself (:mod:`.learning`) stays a pure function.
Embeddings of examples and past requests go through the store's embedding table like candidate
texts (keyed by the text's hash), so a restart or a second replica embeds none of them again, and
adding examples to one candidate embeds only those.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from toolrank.catalogs.index import CatalogIndex
from toolrank.catalogs.learning import (
    FeedbackRecord,
    LearnedExamples,
    LearnedState,
    examples_of,
    learned_examples,
)
from toolrank.catalogs.store import FeedbackLog, Store
from toolrank.engine.cache import content_key
from toolrank.engine.engine import Engine

EMBED_BATCH = 128


class Learner:
    """One per catalog service; every method is called from the event loop."""

    def __init__(self, engine: Engine, store: Store, enabled: bool, limit: int) -> None:
        self.engine = engine
        self.store = store
        self.enabled = enabled  # server-wide switch (--learn off)
        self.limit = limit
        self._states: dict[str, LearnedState] = {}
        self.embedded_texts = 0  # examples and past requests sent to the engine (restarts should add none)

    async def state(self, index: CatalogIndex) -> LearnedState:
        """The learning state for this snapshot, (re)built when the index version moved."""
        name = index.record.name
        state = self._states.get(name)
        if state is not None and state.version == index.version:
            return state
        log = await self.engine.pools.store(self.store.feedback, name)
        return await self._rebuild(index, log)

    async def reload(self, index: CatalogIndex) -> None:
        """Read the feedback again (another replica added some) and rebuild."""
        await self._rebuild(index, await self.engine.pools.store(self.store.feedback, index.record.name))

    async def record(self, index: CatalogIndex, record: FeedbackRecord) -> tuple[int, int]:
        """Store one record; returns (records held, dropped over the limit)."""
        before = len(self._states[index.record.name].records) if index.record.name in self._states else 0
        _, held = await self.engine.pools.store(self.store.add_feedback, index.record.name, record.to_json(), self.limit)
        await self.reload(index)
        return held, max(0, before + 1 - held)

    async def set_learning(self, index: CatalogIndex, learn: bool) -> None:
        await self.engine.pools.store(self.store.set_learning, index.record.name, learn)
        await self.reload(index)

    async def refresh(self, indexes: Mapping[str, CatalogIndex]) -> None:
        """Rebuild the catalogs whose stored feedback changed (polled with the catalog versions)."""
        if not self._states:
            return
        seqs = await self.engine.pools.store(self.store.feedback_seqs)
        for name, state in list(self._states.items()):
            index = indexes.get(name)
            if index is None:
                self._states.pop(name, None)
            elif seqs.get(name, 0) != state.seq:
                await self.reload(index)

    def forget(self, name: str) -> None:
        self._states.pop(name, None)

    async def _rebuild(self, index: CatalogIndex, log: FeedbackLog) -> LearnedState:
        name = index.record.name
        records: list[FeedbackRecord] = []
        pruned = False
        for text in log.records:
            rec = FeedbackRecord.from_json(text)
            kept = rec.only(index.row_of) if rec is not None else None
            pruned |= kept is not rec
            if kept is not None:
                records.append(kept)
        seq = log.seq
        if pruned:  # ids gone from the catalog: their feedback goes with them, in the store too
            seq = await self.engine.pools.store(self.store.set_feedback, name, [r.to_json() for r in records])
        row_examples = [examples_of(m) for m in index.metadata]
        examples: LearnedExamples | None = None
        if index.record.model and (records or any(row_examples)):
            texts = [e for ex in row_examples for e in ex] + [r.query for r in records]
            vectors = await self._vectors(index.record.model, texts)
            examples = learned_examples(row_examples, records, index.row_of, vectors)
        elif records or any(row_examples):
            examples = learned_examples([[] for _ in row_examples], [], index.row_of, {})
            examples = LearnedExamples(examples.matrix, examples.rows, examples.signs, examples.operator,
                                       sum(map(len, row_examples)), len(records))
        state = LearnedState(index.version, seq, log.learn, records, examples)
        self._states[name] = state
        return state

    async def _vectors(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Unit vectors of ``texts``: from the store, else embedded (and stored for every replica)."""
        unique = list(dict.fromkeys(texts))
        keys = {t: content_key(t) for t in unique}
        found = await self.engine.pools.store(self.store.get_embeddings, model, list(keys.values()))
        out = {t: found[k] for t, k in keys.items() if k in found}
        todo = [t for t in unique if t not in out]
        for start in range(0, len(todo), EMBED_BATCH):
            part = todo[start:start + EMBED_BATCH]
            embedded = await self.engine.embed(part, model)
            self.embedded_texts += len(part)
            fresh = dict(zip(part, embedded.vectors))
            await self.engine.pools.store(self.store.put_embeddings, model, {keys[t]: v for t, v in fresh.items()})
            out.update(fresh)
        return {t: np.asarray(v, np.float32) for t, v in out.items()}
