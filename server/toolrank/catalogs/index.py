"""CatalogIndex: one immutable snapshot of a catalog version, and stage one over it.

Built from the store's entries plus their embeddings; never changed after build,
so a Select that holds one sees one version from start to end while a put builds
the next. Stage one = dense cosine (one matrix-vector product over the whole
catalog) fused with BM25 over the normalized text, per candidate kind, plus exact
name matches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from toolrank.engine.bm25 import Bm25Index, TermCounts, Vocabulary, lexical_tokens
from toolrank.catalogs.store import CatalogRecord, StoredEntry
from toolrank.catalogs.types import BM25, DENSE
from toolrank.candidates import candidate_from_json
from toolrank.normalize.sql import schema_tables
from toolrank.normalize.tool.expand import tool_name
from toolrank.types import Candidate

KINDS = ("text", "code", "sql", "tool")

# BM25's share of the stage-one score per candidate kind, chosen on ../shared/data with
# `python bench/catalog_weights.py` (whole-catalog nDCG@10 over a grid; see the README).
BM25_WEIGHT: dict[str, float] = {"tool": 0.10, "sql": 0.40, "code": 0.0, "text": 0.05}
NAME_MATCH_PULL = 0.5  # an exact name match moves the score this far towards 1
KEYWORD_REPEAT = 2  # metadata keywords count as this many occurrences in BM25
CONTEXT_DECAY = 0.5  # the last earlier turn weighs this much of the query, the one before half that...


@dataclass(frozen=True, slots=True)
class StageOne:
    """Stage-one scores of every row (dense and BM25 parts kept for evaluation)."""

    scores: np.ndarray  # float32 [n], in [0, 1]
    name_match: np.ndarray  # bool [n]


def name_of(kind: str, candidate: Mapping[str, object]) -> str:
    """The tool or table name of a candidate (as JSON), for exact-name matches; "" when none or several.

    Read by the normalizers' own readers (the tool reader's name roles, inside wrappers and envelopes; the
    SQL schema splitter), so a name here is the name the normalized text shows.
    """
    if kind == "tool":
        tool = candidate.get("tool")
        try:
            return tool_name(json.loads(tool) if isinstance(tool, str) else tool)
        except (ValueError, TypeError):
            return ""
    if kind == "sql":
        sql = candidate.get("sql")
        text = sql.get("text", "") if isinstance(sql, dict) else str(sql or "")
        tables = schema_tables(text) if isinstance(text, str) else []
        return tables[0][0] if len(tables) == 1 else ""
    return ""


def name_keys(name: str) -> set[str]:
    """The forms of a name a query may use: as written, and without separators."""
    low = name.strip().lower()
    if len(low) < 3:
        return set()
    return {low, re.sub(r"[\s_.\-]+", "", low)}


def query_name_keys(query: str) -> set[str]:
    """Identifier-like tokens of the query and runs of 1-4 words joined, to look up names."""
    keys = {t.lower() for t in re.findall(r"[A-Za-z0-9_.:\-/]+", query)}
    words = re.findall(r"[A-Za-z0-9]+", query.lower())
    for n in range(1, 5):
        for i in range(len(words) - n + 1):
            keys.add("".join(words[i:i + n]))
    return {k.strip(".:-/") for k in keys}


def lexical_text(entry: StoredEntry, metadata: Mapping[str, str]) -> str:
    """What BM25 indexes: the normalized text, the name, and the operator's keywords (repeated)."""
    keywords = metadata.get("keywords", "")
    extra = " ".join([keywords] * KEYWORD_REPEAT) if keywords else ""
    return " ".join(p for p in (entry.text, entry.name, extra) if p)


FILTER_MASK_BYTES = 8 * 2**20  # per snapshot: 80 masks of a 100,000-row catalog


class FilterMasks:
    """Least recently used filter masks up to ``budget`` bytes (any number of distinct filters is safe)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.nbytes = 0
        self._masks: dict[tuple[str, str], np.ndarray] = {}  # insertion order = use order (moved on get)

    def get(self, key: tuple[str, str]) -> np.ndarray | None:
        mask = self._masks.pop(key, None)
        if mask is not None:
            self._masks[key] = mask
        return mask

    def put(self, key: tuple[str, str], mask: np.ndarray) -> None:
        if mask.nbytes > self.budget:
            return
        old = self._masks.pop(key, None)
        self.nbytes -= old.nbytes if old is not None else 0
        while self._masks and self.nbytes + mask.nbytes > self.budget:
            self.nbytes -= self._masks.pop(next(iter(self._masks))).nbytes
        self._masks[key] = mask
        self.nbytes += mask.nbytes

    def __len__(self) -> int:
        return len(self._masks)


@dataclass
class CatalogIndex:
    """An immutable snapshot: entries in store order, their embeddings, BM25, names, metadata."""

    record: CatalogRecord
    entries: tuple[StoredEntry, ...]
    matrix: np.ndarray | None  # float32 [n, dim], unit rows; None when the catalog has no dense stage
    bm25: Bm25Index
    kinds: np.ndarray  # int8 [n], index into KINDS
    metadata: tuple[Mapping[str, str], ...]
    counts: tuple[TermCounts, ...]
    row_of: dict[str, int]
    names: dict[str, list[int]]
    vocab: Vocabulary = field(default_factory=Vocabulary)  # this catalog's terms (BM25 term ids)
    # filter masks built on first use, kept for this snapshot: bounded in bytes (one mask is one byte a row)
    _filters: FilterMasks = field(default_factory=lambda: FilterMasks(FILTER_MASK_BYTES))

    @property
    def version(self) -> int:
        return self.record.version

    @property
    def size(self) -> int:
        return len(self.entries)

    @classmethod
    def build(cls, record: CatalogRecord, entries: Sequence[StoredEntry], metadata: Sequence[Mapping[str, str]],
              vectors: Sequence[np.ndarray] | None, counts: Sequence[TermCounts],
              vocab: Vocabulary | None = None) -> "CatalogIndex":
        """``vectors``/``counts`` in entry order (the service caches both per text)."""
        matrix = None
        if vectors is not None and len(vectors):
            matrix = np.ascontiguousarray(np.stack(vectors).astype(np.float32, copy=False))
        kinds = np.array([KINDS.index(e.kind) if e.kind in KINDS else 0 for e in entries], dtype=np.int8)
        names: dict[str, list[int]] = {}
        for row, e in enumerate(entries):
            for key in name_keys(e.name) | name_keys(e.id):
                names.setdefault(key, []).append(row)
        return cls(record, tuple(entries), matrix, Bm25Index(counts), kinds, tuple(metadata), tuple(counts),
                   {e.id: row for row, e in enumerate(entries)}, names, vocab if vocab is not None else Vocabulary())

    # -- stage one -------------------------------------------------------------------

    def stage_one(self, query_vector: np.ndarray | None, query_terms: Sequence[tuple[int | None, float]],
                  query: str, scoring: str) -> StageOne:
        n = self.size
        beta = np.array([BM25_WEIGHT[k] for k in KINDS], dtype=np.float32)[self.kinds]
        if self.matrix is None or query_vector is None:
            beta = np.ones(n, dtype=np.float32)  # no bi-encoder: BM25 alone
        if scoring == DENSE:
            beta = np.zeros(n, dtype=np.float32)
        elif scoring == BM25:
            beta = np.ones(n, dtype=np.float32)
        scores = np.zeros(n, dtype=np.float32)
        if self.matrix is not None and query_vector is not None and scoring != BM25:
            scores += (1.0 - beta) * (cosines(self.matrix, query_vector) + 1.0) * 0.5
        if scoring != DENSE:
            lexical = self.bm25.score(query_terms)
            top = float(lexical.max()) if n else 0.0
            if top > 0:
                scores += beta * (lexical / top)
        matched = np.zeros(n, dtype=bool)
        if self.names:
            for key in query_name_keys(query):
                rows = self.names.get(key)
                if rows:
                    matched[rows] = True
            if matched.any():
                scores = np.where(matched, scores + (1.0 - scores) * NAME_MATCH_PULL, scores).astype(np.float32)
        return StageOne(scores, matched)

    def filter_mask(self, conditions: Mapping[str, str]) -> np.ndarray | None:
        """Rows whose metadata has every key=value; None = no filter."""
        if not conditions:
            return None
        mask = np.ones(self.size, dtype=bool)
        for key, value in conditions.items():
            rows = self._filters.get((key, value))
            if rows is None:  # built on first use, then kept for this snapshot (within FILTER_MASK_BYTES)
                rows = np.array([m.get(key) == value for m in self.metadata], dtype=bool)
                self._filters.put((key, value), rows)
            mask &= rows
        return mask

    def candidate(self, row: int) -> Candidate:
        return candidate_from_json(json.loads(self.entries[row].candidate), f"catalog entry {row}")

    @property
    def nbytes(self) -> int:
        """Memory of the arrays (matrix and BM25), for the scale bench."""
        return (self.matrix.nbytes if self.matrix is not None else 0) + self.bm25.nbytes + self.kinds.nbytes


def cosines(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` in one thread (numpy's own kernel, not BLAS).

    Why: OpenBLAS splits a matrix-vector product over its threads, which on a busy
    machine wait for each other; measured on the shared 2-core machine under load,
    10,000 x 384: BLAS p50 40 ms, this 0.65 ms (100,000 rows: 114 vs 39 ms).
    """
    return np.einsum("ij,j->i", matrix, vector.astype(matrix.dtype, copy=False))


def query_terms(vocab: Vocabulary, query: str, context: Sequence[str]) -> list[tuple[int | None, float]]:
    """BM25 query terms with weights: the query's at 1, earlier turns' decaying below it."""
    out = [(t, 1.0) for t in vocab.lookup(lexical_tokens(query))]
    weight = CONTEXT_DECAY
    for turn in reversed(context):
        out.extend((t, weight) for t in vocab.lookup(lexical_tokens(turn)))
        weight *= CONTEXT_DECAY
    return out


def context_weights(n: int) -> list[float]:
    """Dense weights of ``n`` earlier turns, oldest first: ..., decay^2, decay."""
    return [CONTEXT_DECAY ** (n - i) for i in range(n)]
