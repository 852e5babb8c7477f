"""BM25 scores against a direct Okapi formula, and the identifier splitting they rest on."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from toolrank.engine.bm25 import B, K1, Bm25Index, Vocabulary, lexical_tokens, term_counts


def test_catalogs_use_the_engines_lexical_tokens():
    from toolrank.engine import lexical

    assert lexical_tokens is lexical.lexical_tokens  # one tokenization for Rerank's BM25 and catalogs
    assert {"weather", "city", "book", "flight"} <= set(lexical_tokens("getWeatherByCity book_flight"))
    assert lexical_tokens("") == []


def _reference(docs: list[list[str]], query: list[str]) -> list[float]:
    n = len(docs)
    avg = sum(len(d) for d in docs) / n
    out = []
    for d in docs:
        tf = Counter(d)
        s = 0.0
        for t in query:
            df = sum(1 for x in docs if t in x)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            s += idf * tf[t] * (K1 + 1) / (tf[t] + K1 * (1 - B + B * len(d) / avg)) if tf[t] else 0.0
        out.append(s)
    return out


def test_scores_match_the_okapi_formula():
    texts = ["send an email to a friend", "email the weather report", "weather in paris today",
             "book a flight to paris", "the the the"]
    vocab = Vocabulary()
    index = Bm25Index([term_counts(t, vocab) for t in texts])
    docs = [lexical_tokens(t) for t in texts]
    for query in ("email weather", "paris flight", "the", "unknown words"):
        terms = lexical_tokens(query)
        got = index.score([(i, 1.0) for i in vocab.lookup(terms)])
        assert got == pytest.approx(np.array(_reference(docs, terms)), rel=1e-5, abs=1e-6)


def test_scores_match_the_engines_request_bm25():
    from toolrank.engine.lexical import bm25_scores

    texts = ["getUserById returns the user", "list users by team", "delete a user account", "team budgets"]
    vocab = Vocabulary()
    index = Bm25Index([term_counts(t, vocab) for t in texts])
    for query in ("user id", "teams of users", "budget"):
        terms = lexical_tokens(query)
        expected = bm25_scores(terms, [lexical_tokens(t) for t in texts])
        assert index.score([(i, 1.0) for i in vocab.lookup(terms)]) == pytest.approx(expected, rel=1e-5)


def test_query_weights_and_empty_index():
    vocab = Vocabulary()
    index = Bm25Index([term_counts("alpha beta", vocab), term_counts("beta gamma", vocab)])
    [alpha] = vocab.lookup(["alpha"])
    assert index.score([(alpha, 0.5)])[0] == pytest.approx(index.score([(alpha, 1.0)])[0] / 2)
    assert Bm25Index([]).score([(alpha, 1.0)]).shape == (0,)
    later = vocab.ids(["delta"])[0]  # a term added to the shared vocabulary after this index was built
    assert index.score([(later, 1.0)]).tolist() == [0.0, 0.0]
