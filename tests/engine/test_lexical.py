"""BM25 over a request's candidates, z-scored and fused with the model score."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from conftest import TINY
from toolrank.engine.engine import Engine
from toolrank.engine.lexical import bm25_scores, default_weight, fuse, lexical_tokens, lexical_z, zscore
from toolrank.errors import InvalidRequest
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, CodeInput, RerankQuery, SqlInput, TextInput


def test_tokens_split_identifiers_and_drop_function_words():
    assert lexical_tokens("getUserById(user_id) returns the Users") == ["user", "id", "user", "id", "return", "user"]
    assert lexical_tokens("HTTPResponse codes") == ["http", "response", "code"]
    assert lexical_tokens("") == [] and lexical_tokens("the of a") == []
    assert lexical_tokens("class address") == ["class", "address"]  # -ss is no plural


def test_bm25_matches_the_okapi_formula():
    docs = [["user", "id", "user"], ["order", "total"], ["user", "name"]]
    got = bm25_scores(["user"], docs)
    n, df, k1, b = 3, 2, 1.2, 0.75
    avg = (3 + 2 + 2) / 3
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))

    def term(tf: int, length: int) -> float:
        return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))

    assert got == pytest.approx([term(2, 3), 0.0, term(1, 2)])
    assert bm25_scores([], docs).tolist() == [0.0, 0.0, 0.0]
    assert bm25_scores(["x"], []).size == 0


def test_zscore_and_fuse():
    assert zscore(np.array([2.0, 2.0, 2.0])).tolist() == [0.0, 0.0, 0.0]
    z = zscore(np.array([1.0, 2.0, 3.0]))
    assert z.mean() == pytest.approx(0.0) and z.std() == pytest.approx(1.0)
    texts = ["table users: user id, email", "table orders: total", "weather report"]
    model = np.array([0.5, 0.5, 0.5])
    assert fuse(model, "user id", texts, 0.0).tolist() == model.tolist()
    fused = fuse(model, "user id", texts, 0.2)
    assert fused[0] > fused[1] == pytest.approx(fused[2])
    assert fused == pytest.approx(model + 0.2 * lexical_z("user id", texts))
    per_candidate = fuse(model, "user id", texts, np.array([0.2, 0.0, 0.0]))
    assert per_candidate[1:].tolist() == [0.5, 0.5] and per_candidate[0] == pytest.approx(fused[0])


def _scores(query: RerankQuery) -> list[float]:
    async def run() -> list[float]:
        async with Engine(Settings(), [LoadedModel(TINY / "tiny-bert-bi", threads=1)]) as engine:
            out = await engine.rerank(query)
        scores = [0.0] * len(query.candidates)
        for r in out.results:
            scores[r.index] = r.score
        return scores

    return asyncio.run(run())


def test_engine_fuses_with_per_kind_defaults_and_an_explicit_weight():
    cands = (Candidate(SqlInput("CREATE TABLE users (user_id INT, email TEXT)")),
             Candidate(SqlInput("CREATE TABLE orders (order_id INT, total REAL)")),
             Candidate(CodeInput("def user_email(user_id):\n    return lookup(user_id)\n", "python")),
             Candidate(TextInput("user email addresses")))
    query = "email of a user"
    off = np.array(_scores(RerankQuery(query, cands, lexical_weight=0.0)))
    default = np.array(_scores(RerankQuery(query, cands)))
    assert default_weight("sql") > 0 and default_weight("code") == 0 and default_weight("text") == 0
    # only the SQL candidates move, each by its default weight times its z-score over the whole request
    assert default[2:] == pytest.approx(off[2:], abs=1e-6)
    assert not np.allclose(default[:2], off[:2])
    heavy = np.array(_scores(RerankQuery(query, cands, lexical_weight=1.0)))
    moved = heavy - off
    assert moved.sum() == pytest.approx(0.0, abs=1e-5) and moved[1] < 0 < moved[0]
    assert (default[:2] - off[:2]) == pytest.approx(default_weight("sql") * moved[:2], abs=1e-5)


@pytest.mark.parametrize("weight", [-0.1, 10.5, float("nan")])
def test_engine_refuses_a_weight_out_of_range(weight):
    with pytest.raises(InvalidRequest, match="lexical_weight"):
        _scores(RerankQuery("q", (Candidate(TextInput("x")),), lexical_weight=weight))
