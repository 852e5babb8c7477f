"""The Store protocol: where catalogs live between restarts and across replicas.

A store keeps, per catalog, a :class:`CatalogRecord` (name, version, size, model) and
its entries (:class:`StoredEntry`: the candidate as sent, its normalized text, a
content hash); and, shared by every catalog, embeddings keyed by (model, text key)
so that a restart or a second replica never embeds the same text twice, and a
catalog put with another model is embedded again for it.

Versions: every commit gives the catalog a new version, strictly greater than any
version the store has handed out before (one counter for the whole store), so a
catalog deleted and created again never reuses a version. A replica learns of a
change by polling :meth:`Store.catalogs` (cheap: records only) every
``catalog_refresh_s`` seconds and reloading any catalog whose version differs from
the one it holds; a catalog missing from the answer was deleted.

Concurrency: :meth:`Store.commit` is atomic and conditional on ``base_version``;
when another writer got there first it raises :class:`VersionConflict` and the
caller reloads and retries. Nothing here is async: the service calls stores from a
worker thread.

Implementations: ``memory://`` (:mod:`.store_memory`), ``sqlite:///path``
(:mod:`.store_sqlite`, the default), ``redis://host:port/db`` (``store_redis``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Protocol, Sequence

import numpy as np

from toolrank.errors import ConfigError, ToolrankError
from toolrank.redact import redact_text, redact_url


@dataclass(frozen=True, slots=True)
class CatalogRecord:
    """What :meth:`Store.catalogs` returns per catalog."""

    name: str
    version: int
    size: int
    model: str  # the bi-encoder its embeddings are for; "" = no dense stage


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One candidate of a catalog as stored.

    ``candidate``: the candidate as JSON text in :mod:`toolrank.candidates`' shape
    (``{"id", "text"|"code"|"sql"|"tool", "metadata"}``), what Select returns;
    ``text``: its normalized text (what is embedded and indexed); ``name``: the tool or
    table name for exact-name matches ("" when none); ``content_hash``: 16 bytes over
    the candidate's content and metadata (an unchanged re-put is not an update);
    ``text_key``: 16 bytes over ``text``, the key of its embedding in every model.
    """

    id: str
    kind: str
    candidate: str
    text: str
    name: str
    content_hash: bytes
    text_key: bytes
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class FeedbackLog:
    """A catalog's feedback as stored: records (JSON text, oldest first), its sequence and learning switch.

    ``seq`` grows with every change (add, rewrite, switch), so replicas see a change by comparing it."""

    seq: int = 0
    records: tuple[str, ...] = ()
    learn: bool = True


class VersionConflict(ToolrankError):
    """A commit's base version is not the stored one: another writer committed first."""


class Store(Protocol):
    """Small on purpose: Select never calls a store, only puts, deletes and (re)loads do."""

    url: str

    def catalogs(self) -> dict[str, CatalogRecord]:
        """Every catalog's record (no entries); polled by replicas to see version changes."""
        ...

    def load(self, name: str) -> tuple[CatalogRecord, list[StoredEntry]] | None:
        """A catalog's record and entries (in insertion order) as of one version; None if absent."""
        ...

    def commit(self, name: str, *, base_version: int, upserts: Sequence[StoredEntry],
               delete_ids: Sequence[str], replace: bool, model: str) -> CatalogRecord:
        """Apply one put atomically and give the catalog a new version.

        ``base_version``: the version the caller built the change on (0 = the catalog must
        not exist); otherwise :class:`VersionConflict`. ``replace`` drops every entry not in
        ``upserts``; ``delete_ids`` are removed after the upserts.
        """
        ...

    def delete(self, name: str) -> bool:
        """Remove a catalog (its embeddings stay, other catalogs may share them: see unreferenced_embeddings)."""
        ...

    def get_embeddings(self, model: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The stored float32 vectors among ``keys`` for ``model`` (missing keys are left out)."""
        ...

    def put_embeddings(self, model: str, vectors: Mapping[bytes, np.ndarray]) -> None:
        """Keep these vectors (idempotent: content-addressed)."""
        ...

    # -- feedback (learning from use: toolrank.catalogs.learning) -------------------------------

    def add_feedback(self, name: str, record: str, limit: int) -> tuple[int, int]:
        """Append one record, dropping the oldest past ``limit``; returns (seq, records held)."""
        ...

    def feedback(self, name: str) -> FeedbackLog:
        """A catalog's feedback (an empty log when none)."""
        ...

    def set_feedback(self, name: str, records: Sequence[str]) -> int:
        """Replace the records (ids gone from the catalog dropped); returns the new seq."""
        ...

    def set_learning(self, name: str, learn: bool) -> int:
        """Switch learning on or off for one catalog; returns the new seq."""
        ...

    def feedback_seqs(self) -> dict[str, int]:
        """Every catalog's feedback seq (absent = 0), polled by replicas like :meth:`catalogs`."""
        ...

    def drop_feedback(self, name: str) -> None:
        """Forget a catalog's feedback and switch (the catalog was deleted)."""
        ...

    def embedding_keys(self) -> set[tuple[str, bytes]]:
        """(model, text key) of every stored vector (see :func:`unreferenced_embeddings`)."""
        ...

    def delete_embeddings(self, keys: Iterable[tuple[str, bytes]]) -> int:
        """Drop these vectors; how many there were (see ``CatalogService.collect_embeddings``)."""
        ...

    def close(self) -> None:
        ...


def unreferenced_embeddings(store: Store) -> set[tuple[str, bytes]]:
    """(model, text key) of the stored vectors no catalog uses: not an entry's text, nor one of its example
    requests, nor a query of its feedback (the learner keeps those in the same table).

    Not atomic with other writers: a vector stored by a put that has not committed yet is listed; callers
    drop a vector only when a second look, an interval later, lists it again.
    """
    import json

    from toolrank.catalogs.learning import FeedbackRecord, examples_of
    from toolrank.engine.cache import content_key

    live: set[tuple[str, bytes]] = set()
    for name in store.catalogs():
        loaded = store.load(name)
        if loaded is None:
            continue
        record, entries = loaded
        for e in entries:
            live.add((record.model, e.text_key))
            metadata = json.loads(e.candidate).get("metadata") or {}
            live.update((record.model, content_key(t)) for t in examples_of(metadata))
        for text in store.feedback(name).records:
            past = FeedbackRecord.from_json(text)
            if past is not None:
                live.add((record.model, content_key(past.query)))
    return store.embedding_keys() - live


def default_store_url(env: Mapping[str, str] | None = None) -> str:
    """``sqlite:///<data dir>/toolrank/catalogs.sqlite3``: $XDG_DATA_HOME, else ~/.local/share."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return f"sqlite:///{Path(base) / 'toolrank' / 'catalogs.sqlite3'}"


def open_store(url: str = "") -> Store:
    """A store from its URL (empty: :func:`default_store_url`); ConfigError for an unknown scheme."""
    url = url or default_store_url()
    if url.startswith("memory://"):
        from toolrank.catalogs.store_memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite://"):
        from toolrank.catalogs.store_sqlite import SqliteStore

        return SqliteStore.from_url(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from toolrank.catalogs.store_redis import RedisStore  # redis is a dependency: imported only when used

        try:
            return RedisStore.from_url(url)
        except ValueError as exc:  # redis-py's URL parser: a bad port, an unknown option...
            raise ConfigError(f"--store {redact_url(url)}: {redact_text(str(exc))}") from None
    raise ConfigError(f"--store {redact_url(url)!r}: unknown scheme (use sqlite:///path, memory:// or redis://host:port/db)")
