"""BM25, the one implementation: a numpy CSR matrix of precomputed term weights.

Used for a catalog's normalized text (built once per catalog version) and for Rerank's lexical fusion
(built per request over its candidates, :func:`toolrank.engine.lexical.bm25_scores`). Why not a
library: a catalog needs only "score every document for a handful of query
terms", which is one slice and one scatter-add per term once each term's
``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))`` is computed at build
time; ``bm25s`` would bring scipy for the same arithmetic. Term ids come from the catalog's
own :class:`Vocabulary` (a global one only grows: a one-document catalog cost 15 MiB once 2M terms
had been seen anywhere; a snapshot passes its vocabulary on to the next, which starts a fresh one
when the old holds more than twice the terms still in use), and each document's term
counts are computed once per text (:func:`term_counts`), so rebuilding an index after
an upsert is array work, not Python loops over every token. Words come from
:func:`toolrank.engine.lexical.lexical_tokens` (identifiers split, stopwords out,
plural -s folded), the same tokens Rerank's lexical fusion uses.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from toolrank.engine.lexical import lexical_tokens  # one tokenization for Rerank's BM25 and catalogs

K1 = 1.2
B = 0.75

__all__ = ["Bm25Index", "TermCounts", "Vocabulary", "lexical_tokens", "term_counts", "token_counts"]


class Vocabulary:
    """Term -> id, grow-only, one per catalog (shared by its successive snapshots; thread-safe)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self, terms: Iterable[str]) -> list[int]:
        with self._lock:
            out = []
            for t in terms:
                i = self._ids.get(t)
                if i is None:
                    i = self._ids[t] = len(self._ids)
                out.append(i)
            return out

    def lookup(self, terms: Iterable[str]) -> list[int | None]:
        """Ids of known terms (None for a term no document has)."""
        return [self._ids.get(t) for t in terms]


@dataclass(frozen=True, slots=True)
class TermCounts:
    """One document's distinct term ids and their counts, and its length in terms."""

    terms: np.ndarray  # int32, sorted
    counts: np.ndarray  # float32
    length: int


def term_counts(text: str, vocab: Vocabulary) -> TermCounts:
    return token_counts(lexical_tokens(text), vocab)


def token_counts(tokens: Sequence[str], vocab: Vocabulary) -> TermCounts:
    """A document's term counts from its tokens (already through :func:`lexical_tokens`)."""
    counter = Counter(vocab.ids(tokens))
    terms = np.fromiter(counter.keys(), dtype=np.int32, count=len(counter))
    counts = np.fromiter(counter.values(), dtype=np.float32, count=len(counter))
    order = np.argsort(terms)
    return TermCounts(terms[order], counts[order], len(tokens))


class Bm25Index:
    """Precomputed BM25 weights, term-major (CSR): ``score(query_terms)`` -> one score per document."""

    def __init__(self, docs: Sequence[TermCounts], k1: float = K1, b: float = B) -> None:
        self.size = len(docs)
        lengths = np.array([d.length for d in docs], dtype=np.float32)
        avg = float(lengths.mean()) if len(docs) and lengths.mean() > 0 else 1.0
        if docs:
            terms = np.concatenate([d.terms for d in docs]).astype(np.int64)
            tf = np.concatenate([d.counts for d in docs])
            rows = np.repeat(np.arange(len(docs), dtype=np.int32), [len(d.terms) for d in docs])
        else:
            terms, tf, rows = np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int32)
        n_terms = int(terms.max()) + 1 if len(terms) else 0
        df = np.bincount(terms, minlength=n_terms).astype(np.float64)
        idf = np.log1p((len(docs) - df + 0.5) / (df + 0.5))  # Lucene's BM25 idf: never negative
        norm = k1 * (1.0 - b + b * lengths[rows] / avg)
        weights = (idf[terms] * tf * (k1 + 1.0) / (tf + norm)).astype(np.float32)
        order = np.argsort(terms, kind="stable")
        self._rows = rows[order]
        self._weights = weights[order]
        self._ptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=n_terms), out=self._ptr[1:])

    def score(self, query: Sequence[tuple[int | None, float]]) -> np.ndarray:
        """Scores for (term id, query weight) pairs; a term twice counts twice."""
        scores = np.zeros(self.size, dtype=np.float32)
        n_terms = len(self._ptr) - 1
        for term, weight in query:
            if term is None or term >= n_terms:
                continue
            lo, hi = self._ptr[term], self._ptr[term + 1]
            if hi > lo:
                scores[self._rows[lo:hi]] += weight * self._weights[lo:hi]
        return scores

    @property
    def nbytes(self) -> int:
        return self._rows.nbytes + self._weights.nbytes + self._ptr.nbytes

    @property
    def terms_present(self) -> int:
        """Distinct terms some document of this index has."""
        return int(np.count_nonzero(np.diff(self._ptr)))
