"""Lexical scoring: BM25 over a request's own candidates, z-scored, added to the model score.

Why: a small embedding model reads meaning but blurs exact identifiers; a query
that names a column, a parameter or a function is better served when the words
it shares with a candidate count too. The fused score is

    score = raw + lexical_weight * std(raw) * z(BM25(query, candidate))

where ``raw`` is the model's raw score (cosine for a bi-encoder, logit for a
cross-encoder: never a sigmoid, which squeezes a peaky cross-encoder's scores
into a few hundred-thousandths near 0 and would let BM25 alone decide), BM25
(Okapi, k1 1.2, b 0.75) is computed over the request's candidates only (its own
IDF and average length), z standardizes across the request (mean 0, standard
deviation 1; all equal -> 0) and ``std(raw)`` is the spread of the model's raw
scores over the request. The ranking is therefore that of
``z(raw) + lexical_weight * z(BM25)``: a weight of 0.3 moves a candidate by 0.3
of the model's own spread per standard deviation of lexical match, for any model
kind, while the fused value stays on the model's scale (so the engine maps it to
[0, 1] as it maps the model's own scores). Pure numpy; the catalogs reuse
:func:`lexical_tokens`.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np

from toolrank.normalize.common import STOPWORDS, split_identifier

K1 = 1.2
B = 0.75

_WORDS = re.compile(r"[^\W_]+(?:_[^\W_]+)*", re.UNICODE)
_EXTRA_STOPWORDS = frozenset(
    "and or if i me my we you your how what when where who why do does did get given using use "
    "there their them then than from has have had all any each other some such only own same so".split()
)
_LEXICAL_STOPWORDS = STOPWORDS | _EXTRA_STOPWORDS
MAX_TOKENS = 4096
"""Tokens read per text: BM25 over a long document gains nothing past this, and the cost stays bounded."""


def lexical_tokens(text: str) -> list[str]:
    """The words BM25 matches on: lower-case, identifiers split, stopwords out, plural -s folded.

    ``getUserById(user_id) returns codes`` -> ``["user", "id", "user", "id", "return", "code"]``
    (``get`` and ``by`` are stopwords): camelCase, snake_case, dotted and kebab names split into
    their words (:func:`toolrank.normalize.common.split_identifier`), so a query's
    "user id" meets a column ``user_id`` and a parameter ``userId`` alike.
    Deterministic and pure; used for both the query and the candidates.
    """
    out: list[str] = []
    for match in _WORDS.finditer(text):
        for word in split_identifier(match.group(0)) or [match.group(0).lower()]:
            if word in _LEXICAL_STOPWORDS:
                continue
            if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
            out.append(word)
            if len(out) >= MAX_TOKENS:
                return out
    return out


def bm25_scores(query: Sequence[str], documents: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> np.ndarray:
    """Okapi BM25 of each tokenized document for the tokenized query, IDF from these documents only.

    The catalogs' index (:mod:`toolrank.engine.bm25`) built over this request's documents: one BM25.
    """
    from toolrank.engine.bm25 import Bm25Index, Vocabulary, token_counts

    if not documents or not query:
        return np.zeros(len(documents), dtype=np.float64)
    vocab = Vocabulary()
    index = Bm25Index([token_counts(doc, vocab) for doc in documents], k1, b)
    return index.score([(term, 1.0) for term in vocab.lookup(query)]).astype(np.float64)


def zscore(values: np.ndarray) -> np.ndarray:
    """(x - mean) / std over the request; all zeros when every value is the same."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    std = float(values.std())
    if std < 1e-12:
        return np.zeros_like(values)
    return (values - values.mean()) / std


def lexical_z(query: str, texts: Sequence[str]) -> np.ndarray:
    """The z-scored BM25 of each text for ``query`` (the term :func:`fuse` adds)."""
    return zscore(bm25_scores(lexical_tokens(query), [lexical_tokens(t) for t in texts]))


def fuse(model_scores: np.ndarray, query: str, texts: Sequence[str], weights: np.ndarray | float) -> np.ndarray:
    """``raw + weights * std(raw) * z(BM25)``; ``weights`` one per candidate or one for all.

    When every model score is the same (one candidate, or a model that cannot tell them
    apart) BM25 alone orders them, at unit scale.
    """
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), np.shape(model_scores))
    scores = np.asarray(model_scores, dtype=np.float64)
    if not np.any(w):
        return scores
    spread = float(scores.std()) if scores.size else 0.0
    return scores + w * (spread if spread > 1e-12 else 1.0) * lexical_z(query, texts)


def default_weights() -> Mapping[str, float]:
    """Per-kind default ``lexical_weight`` when a request sets none: the ``bm25`` member of the shipped
    default stack (toolrank/models/stacks.json), chosen with ``bench/stacks.py`` (docs/models.md). Against
    the old 0.05 on the cosine (nDCG@10, first 100 queries of each dev set, all 197 agent requests): tools
    0.4 (agent requests 0.673 -> 0.685, tools-bfcl 0.805 -> 0.813, tools-metatool 0.783 -> 0.781), SQL 0.3
    (sql-spider 0.958 -> 0.959), code 0 (CoSQA loses at every weight: 0.793 alone, 0.766 at 0.2), text 0
    (no text set measured).
    """
    from toolrank.engine.stacks import shipped  # stacks -> ensemble -> this module: read on first use

    return shipped().lexical_weights()


def default_weight(kind: str) -> float:
    """The default weight of a candidate kind ("tool", "sql", "code", "text")."""
    return default_weights().get(kind, 0.0)


__all__ = ["bm25_scores", "default_weight", "default_weights", "fuse", "lexical_tokens", "lexical_z", "zscore"]
