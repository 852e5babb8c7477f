"""The engine on tiny generated models, against values torch recorded at generation time.

reference.json holds, per case, the pair ids HF's tokenizer built and the
logits (or embeddings) torch computed: an independent check of pair building,
padding, the ONNX graphs and the scoring path.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import onnxruntime as ort
import pytest

from conftest import TINY
from toolrank.engine.engine import Engine
from toolrank.engine.pairs import build_pair, cap_query
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput

CROSS = ["tiny-bert-cross", "tiny-xlmr-cross"]


def _reference(name: str) -> list[dict]:
    return json.loads((TINY / name / "reference.json").read_text())["cases"]


def _rerank(name: str, query: str, docs: list[str], **kw) -> list[float]:
    """Raw scores in request order, through the whole engine path."""

    async def run() -> list[float]:
        async with Engine(Settings(), [LoadedModel(TINY / name, threads=1)]) as engine:
            out = await engine.rerank(RerankQuery(query, tuple(Candidate(TextInput(d)) for d in docs), **kw))
        scores = [0.0] * len(docs)
        for r in out.results:
            scores[r.index] = r.score
        return scores

    return asyncio.run(run())


@pytest.mark.parametrize("name", CROSS)
def test_pairs_match_the_hf_tokenizer(name):
    model = LoadedModel(TINY / name, threads=1)
    for case in _reference(name):
        q = cap_query(model.tokenize([case["query"]])[0], model.template, model.spec.max_query_length)
        if case.get("long"):
            continue
        for doc, expected in zip(case["documents"], case["input_ids"]):
            d = model.tokenize([doc])[0]
            assert list(build_pair(q, d, model.template).ids) == expected


@pytest.mark.parametrize("name", CROSS)
def test_cross_encoder_logits_match_torch(name):
    for case in _reference(name):
        if case.get("long"):
            continue
        scores = _rerank(name, case["query"], case["documents"], raw_scores=True)
        np.testing.assert_allclose(scores, [l[0] for l in case["logits"]], atol=1e-4)


@pytest.mark.parametrize("name", CROSS)
def test_sigmoid_applied_unless_raw(name):
    case = _reference(name)[1]
    probs = _rerank(name, case["query"], case["documents"])
    logits = np.array([l[0] for l in case["logits"]])
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-logits)), atol=1e-4)


def _jina_windows(q: list[int], d: list[int], max_length: int, specials: int) -> list[list[int]]:
    """jina-reranker-v2's window loop, written out independently of toolrank.engine.pairs."""
    size = max_length - len(q) - specials
    overlap = min(80, size // 4)
    if len(d) <= size:
        return [d]
    out, start = [], 0
    while start < len(d):
        end = start + size
        out.append(d[-size:] if end >= len(d) else d[start:end])
        start = end - overlap if end < len(d) else end
    return out


@pytest.mark.parametrize("name", CROSS)
def test_long_document_scores_as_its_best_window(name):
    case = next(c for c in _reference(name) if c.get("long"))
    model = LoadedModel(TINY / name, threads=1)
    t = model.template
    q = cap_query(case["query_ids"], t, model.spec.max_query_length)
    doc = case["document_ids"][0]
    specials = len(t.prefix) + len(t.middle) + len(t.suffix)
    windows = _jina_windows(q, doc, model.spec.max_length, specials)
    assert len(windows) >= 2
    session = ort.InferenceSession(str(TINY / name / "model.onnx"), providers=["CPUExecutionProvider"])
    inputs = {i.name for i in session.get_inputs()}
    logits = []
    for w in windows:
        ids = [*t.prefix, *q, *t.middle, *w, *t.suffix]
        assert len(ids) <= model.spec.max_length
        feed = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, len(ids)), np.int64)}
        if "token_type_ids" in inputs:
            first = len(t.prefix) + len(q) + t.middle_first_segment
            feed["token_type_ids"] = np.array([[0] * first + [1] * (len(ids) - first)])
        logits.append(float(session.run(None, feed)[0][0, 0]))
    scores = _rerank(name, case["query"], case["documents"], raw_scores=True)
    assert scores[0] == pytest.approx(max(logits), abs=1e-4)


def test_bi_encoder_cosine_matches_torch_embeddings():
    case = next(c for c in _reference("tiny-bert-bi") if len(c["texts"]) > 2)
    emb = np.array(case["embeddings"])
    scores = _rerank("tiny-bert-bi", case["texts"][0], case["texts"][1:], raw_scores=True)
    np.testing.assert_allclose(scores, emb[1:] @ emb[0], atol=1e-4)


def test_concurrent_requests_share_batches_and_get_their_own_scores():
    case = _reference("tiny-bert-cross")[1]
    expected = [l[0] for l in case["logits"]]

    async def run():
        async with Engine(Settings(), [LoadedModel(TINY / "tiny-bert-cross", threads=1)]) as engine:
            cands = tuple(Candidate(TextInput(d)) for d in case["documents"])
            before = engine.scheduler_of().stats().batches
            outs = await asyncio.gather(*[
                engine.rerank(RerankQuery(case["query"], cands, raw_scores=True)) for _ in range(8)])
            return outs, engine.scheduler_of().stats().batches - before

    outs, batches = asyncio.run(run())
    for out in outs:
        got = [0.0] * len(expected)
        for r in out.results:
            got[r.index] = r.score
        np.testing.assert_allclose(got, expected, atol=1e-4)
    assert batches < 8, "eight concurrent requests should share batches"
