"""``sqlite:///path``: the embedded default Store (stdlib sqlite3, one file, WAL).

URLs follow SQLAlchemy's form: ``sqlite:///relative/file.db`` or
``sqlite:////absolute/file.db``; the folder is created. Several processes may
share the file (each commit is one IMMEDIATE transaction; versions come from one
counter row). Embeddings are float32 bytes keyed by (model, text key).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from toolrank.catalogs.store import CatalogRecord, FeedbackLog, StoredEntry, VersionConflict
from toolrank.errors import ConfigError
from toolrank.redact import redact_url

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO counter (id, value) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS catalogs (
    name TEXT PRIMARY KEY, version INTEGER NOT NULL, size INTEGER NOT NULL, model TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    catalog TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
    candidate TEXT NOT NULL, text TEXT NOT NULL, name TEXT NOT NULL, content_hash BLOB NOT NULL,
    text_key BLOB NOT NULL, fallback INTEGER NOT NULL, PRIMARY KEY (catalog, id));
CREATE INDEX IF NOT EXISTS entries_order ON entries (catalog, seq);
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, key));
CREATE TABLE IF NOT EXISTS feedback (n INTEGER PRIMARY KEY AUTOINCREMENT, catalog TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_catalog ON feedback (catalog, n);
CREATE TABLE IF NOT EXISTS feedback_state (catalog TEXT PRIMARY KEY, seq INTEGER NOT NULL, learn INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feedback_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO feedback_counter (id, value) VALUES (1, 0);
"""


def path_from_url(url: str) -> Path:
    """``sqlite:///a.db`` -> ``a.db``; ``sqlite:////tmp/a.db`` -> ``/tmp/a.db``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError(f"--store {redact_url(url)!r}: expected sqlite:///relative/path or sqlite:////absolute/path")
    return Path(url[len(prefix):])


class SqliteStore:
    """A :class:`toolrank.catalogs.store.Store` in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                       timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"--store {self.url}: cannot open ({exc})") from exc
        self._lock = threading.Lock()  # one connection, used from worker threads one at a time

    @classmethod
    def from_url(cls, url: str) -> "SqliteStore":
        return cls(path_from_url(url))

    def catalogs(self) -> dict[str, CatalogRecord]:
        with self._lock:
            rows = self._db.execute("SELECT name, version, size, model FROM catalogs").fetchall()
        return {r[0]: CatalogRecord(*r) for r in rows}

    def load(self, name: str) -> tuple[CatalogRecord, list[StoredEntry]] | None:
        with self._lock:
            self._db.execute("BEGIN")  # one read transaction: record and entries of the same version
            try:
                row = self._db.execute("SELECT name, version, size, model FROM catalogs WHERE name = ?",
                                       (name,)).fetchone()
                if row is None:
                    return None
                rows = self._db.execute(
                    "SELECT id, kind, candidate, text, name, content_hash, text_key, fallback FROM entries "
                    "WHERE catalog = ? ORDER BY seq", (name,)).fetchall()
            finally:
                self._db.execute("COMMIT")
        return CatalogRecord(*row), [StoredEntry(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), bytes(r[6]), bool(r[7]))
                                     for r in rows]

    def commit(self, name: str, *, base_version: int, upserts: Sequence[StoredEntry],
               delete_ids: Sequence[str], replace: bool, model: str) -> CatalogRecord:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT version FROM catalogs WHERE name = ?", (name,)).fetchone()
                current = row[0] if row else 0
                if current != base_version:
                    raise VersionConflict(f"catalog {name!r} is at version {current}, not {base_version}")
                if replace:
                    db.execute("DELETE FROM entries WHERE catalog = ?", (name,))
                seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM entries WHERE catalog = ?", (name,)).fetchone()[0]
                # an upsert of an existing id keeps its place (seq); new ids go to the end
                db.executemany(
                    "INSERT INTO entries (catalog, seq, id, kind, candidate, text, name, content_hash, text_key, "
                    "fallback) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (catalog, id) DO UPDATE SET "
                    "kind = excluded.kind, candidate = excluded.candidate, text = excluded.text, "
                    "name = excluded.name, content_hash = excluded.content_hash, text_key = excluded.text_key, "
                    "fallback = excluded.fallback",
                    [(name, seq + i + 1, e.id, e.kind, e.candidate, e.text, e.name, e.content_hash, e.text_key,
                      int(e.fallback)) for i, e in enumerate(upserts)])
                if delete_ids:
                    db.executemany("DELETE FROM entries WHERE catalog = ? AND id = ?", [(name, i) for i in delete_ids])
                size = db.execute("SELECT COUNT(*) FROM entries WHERE catalog = ?", (name,)).fetchone()[0]
                db.execute("UPDATE counter SET value = value + 1 WHERE id = 1")
                version = db.execute("SELECT value FROM counter WHERE id = 1").fetchone()[0]
                db.execute("INSERT INTO catalogs (name, version, size, model) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (name) DO UPDATE SET version = excluded.version, size = excluded.size, "
                           "model = excluded.model", (name, version, size, model))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return CatalogRecord(name, version, size, model)

    def delete(self, name: str) -> bool:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                gone = db.execute("DELETE FROM catalogs WHERE name = ?", (name,)).rowcount > 0
                db.execute("DELETE FROM entries WHERE catalog = ?", (name,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return gone

    def get_embeddings(self, model: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        out: dict[bytes, np.ndarray] = {}
        keys = list(keys)
        with self._lock:
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in self._db.execute(
                        f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})", (model, *chunk)):
                    out[bytes(key)] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_embeddings(self, model: str, vectors: Mapping[bytes, np.ndarray]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings (model, key, vector) VALUES (?, ?, ?)",
                    [(model, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- feedback ------------------------------------------------------------------------------

    def add_feedback(self, name: str, record: str, limit: int) -> tuple[int, int]:
        def change(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO feedback (catalog, record) VALUES (?, ?)", (name, record))
            db.execute("DELETE FROM feedback WHERE catalog = ? AND n NOT IN "
                       "(SELECT n FROM feedback WHERE catalog = ? ORDER BY n DESC LIMIT ?)", (name, name, limit))

        seq = self._feedback_change(name, change)
        with self._lock:
            count = self._db.execute("SELECT COUNT(*) FROM feedback WHERE catalog = ?", (name,)).fetchone()[0]
        return seq, count

    def feedback(self, name: str) -> FeedbackLog:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                state = self._db.execute("SELECT seq, learn FROM feedback_state WHERE catalog = ?",
                                         (name,)).fetchone()
                rows = self._db.execute("SELECT record FROM feedback WHERE catalog = ? ORDER BY n",
                                        (name,)).fetchall()
            finally:
                self._db.execute("COMMIT")
        if state is None:
            return FeedbackLog()
        return FeedbackLog(state[0], tuple(r[0] for r in rows), bool(state[1]))

    def set_feedback(self, name: str, records: Sequence[str]) -> int:
        def change(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM feedback WHERE catalog = ?", (name,))
            db.executemany("INSERT INTO feedback (catalog, record) VALUES (?, ?)", [(name, r) for r in records])

        return self._feedback_change(name, change)

    def set_learning(self, name: str, learn: bool) -> int:
        return self._feedback_change(name, lambda db: None, learn)

    def feedback_seqs(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT catalog, seq FROM feedback_state").fetchall())

    def drop_feedback(self, name: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM feedback WHERE catalog = ?", (name,))
                self._db.execute("DELETE FROM feedback_state WHERE catalog = ?", (name,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _feedback_change(self, name: str, change: Callable[[sqlite3.Connection], None],
                         learn: bool | None = None) -> int:
        """One IMMEDIATE transaction: ``change``, then a new seq (one counter for every catalog's feedback)."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                change(db)
                db.execute("UPDATE feedback_counter SET value = value + 1 WHERE id = 1")
                seq = db.execute("SELECT value FROM feedback_counter WHERE id = 1").fetchone()[0]
                db.execute("INSERT INTO feedback_state (catalog, seq, learn) VALUES (?, ?, ?) ON CONFLICT (catalog) "
                           "DO UPDATE SET seq = excluded.seq, learn = COALESCE(?, learn)",
                           (name, seq, 1 if learn is None else int(learn), None if learn is None else int(learn)))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return int(seq)

    def embedding_keys(self) -> set[tuple[str, bytes]]:
        with self._lock:
            rows = self._db.execute("SELECT model, key FROM embeddings").fetchall()
        return {(str(m), bytes(k)) for m, k in rows}

    def delete_embeddings(self, keys: Iterable[tuple[str, bytes]]) -> int:
        keys = list(keys)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db.total_changes
                self._db.executemany("DELETE FROM embeddings WHERE model = ? AND key = ?", keys)
                gone = self._db.total_changes - before
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return gone

    def embeddings_stored(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
