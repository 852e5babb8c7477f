"""``memory://``: a Store in a dict, for tests and throwaway servers (gone at exit)."""

from __future__ import annotations

import threading
from typing import Iterable, Mapping, Sequence

import numpy as np

from toolrank.catalogs.store import CatalogRecord, FeedbackLog, StoredEntry, VersionConflict


class MemoryStore:
    """The reference implementation of :class:`toolrank.catalogs.store.Store`."""

    url = "memory://"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, CatalogRecord] = {}
        self._entries: dict[str, dict[str, StoredEntry]] = {}
        self._vectors: dict[tuple[str, bytes], np.ndarray] = {}
        self._counter = 0
        self._feedback: dict[str, FeedbackLog] = {}
        self._feedback_seq = 0

    def catalogs(self) -> dict[str, CatalogRecord]:
        with self._lock:
            return dict(self._records)

    def load(self, name: str) -> tuple[CatalogRecord, list[StoredEntry]] | None:
        with self._lock:
            record = self._records.get(name)
            if record is None:
                return None
            return record, list(self._entries[name].values())

    def commit(self, name: str, *, base_version: int, upserts: Sequence[StoredEntry],
               delete_ids: Sequence[str], replace: bool, model: str) -> CatalogRecord:
        with self._lock:
            current = self._records.get(name)
            if (current.version if current else 0) != base_version:
                raise VersionConflict(f"catalog {name!r} is at version {current.version if current else 0}, "
                                      f"not {base_version}")
            entries = {} if replace or current is None else dict(self._entries[name])
            for e in upserts:
                entries[e.id] = e
            for i in delete_ids:
                entries.pop(i, None)
            self._counter += 1
            record = CatalogRecord(name, self._counter, len(entries), model)
            self._records[name] = record
            self._entries[name] = entries
            return record

    def delete(self, name: str) -> bool:
        with self._lock:
            self._entries.pop(name, None)
            return self._records.pop(name, None) is not None

    def get_embeddings(self, model: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        with self._lock:
            return {k: self._vectors[(model, k)] for k in keys if (model, k) in self._vectors}

    def put_embeddings(self, model: str, vectors: Mapping[bytes, np.ndarray]) -> None:
        with self._lock:
            for k, v in vectors.items():
                self._vectors[(model, k)] = np.asarray(v, dtype=np.float32)

    def add_feedback(self, name: str, record: str, limit: int) -> tuple[int, int]:
        with self._lock:
            log = self._feedback.get(name, FeedbackLog())
            records = (*log.records, record)[-limit:] if limit > 0 else ()
            return self._set(name, FeedbackLog(0, records, log.learn)), len(records)

    def feedback(self, name: str) -> FeedbackLog:
        with self._lock:
            return self._feedback.get(name, FeedbackLog())

    def set_feedback(self, name: str, records: Sequence[str]) -> int:
        with self._lock:
            return self._set(name, FeedbackLog(0, tuple(records), self._feedback.get(name, FeedbackLog()).learn))

    def set_learning(self, name: str, learn: bool) -> int:
        with self._lock:
            return self._set(name, FeedbackLog(0, self._feedback.get(name, FeedbackLog()).records, learn))

    def feedback_seqs(self) -> dict[str, int]:
        with self._lock:
            return {n: log.seq for n, log in self._feedback.items()}

    def drop_feedback(self, name: str) -> None:
        with self._lock:
            self._feedback.pop(name, None)

    def _set(self, name: str, log: FeedbackLog) -> int:
        self._feedback_seq += 1
        self._feedback[name] = FeedbackLog(self._feedback_seq, log.records, log.learn)
        return self._feedback_seq

    def embedding_keys(self) -> set[tuple[str, bytes]]:
        with self._lock:
            return set(self._vectors)

    def delete_embeddings(self, keys: Iterable[tuple[str, bytes]]) -> int:
        with self._lock:
            return sum(self._vectors.pop(k, None) is not None for k in keys)

    def embeddings_stored(self) -> int:
        with self._lock:
            return len(self._vectors)

    def close(self) -> None:
        pass
