"""The manifest's ``pooling`` (cls | mean) and ``query_instruction`` (queries only) on a tiny bi-encoder.

tiny-bert-bi-cls is tiny-bert-bi's graph with ``"pooling": "cls"`` and a query
instruction (scripts/make_tiny_models.py --derived). CLS vectors are checked
against onnxruntime run directly on the graph (the first token's state,
L2-normalized), independently of the loader.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import onnxruntime as ort
import pytest

from conftest import TINY
from toolrank.engine.engine import Engine
from toolrank.engine.pairs import build_single
from toolrank.errors import ModelLoadError
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput

CLS = TINY / "tiny-bert-bi-cls"
MEAN = TINY / "tiny-bert-bi"
TEXTS = ["get the weather forecast for a city", "convert 100 dollars to euros", "sum"]


def _vectors(model: LoadedModel, texts: list[str]) -> np.ndarray:
    rows = [list(build_single(model.tokenize([t])[0], model.template, model.spec.max_length)[0].ids) for t in texts]
    width = max(map(len, rows))
    ids = np.array([r + [0] * (width - len(r)) for r in rows], dtype=np.int64)
    mask = np.array([[1] * len(r) + [0] * (width - len(r)) for r in rows], dtype=np.int64)
    return model.run(ids, mask, np.zeros_like(ids))


def test_manifest_fields_reach_the_spec():
    model = LoadedModel(CLS, threads=1)
    manifest = json.loads((CLS / "toolrank.json").read_text())
    assert model.spec.pooling == "cls"
    assert model.spec.query_instruction == manifest["query_instruction"] != ""
    assert LoadedModel(MEAN, threads=1).spec.pooling == "mean"


def test_cls_pooling_is_the_first_token_state_and_differs_from_mean():
    cls_model, mean_model = LoadedModel(CLS, threads=1), LoadedModel(MEAN, threads=1)
    got_cls, got_mean = _vectors(cls_model, TEXTS), _vectors(mean_model, TEXTS)
    session = ort.InferenceSession(str(CLS / "model.onnx"), providers=["CPUExecutionProvider"])
    for text, vec in zip(TEXTS, got_cls):  # one text at a time: no padding involved
        ids = np.array([build_single(cls_model.tokenize([text])[0], cls_model.template, 128)[0].ids], dtype=np.int64)
        hidden = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                                     "token_type_ids": np.zeros_like(ids)})[0]
        first = hidden[0, 0] / np.linalg.norm(hidden[0, 0])
        np.testing.assert_allclose(vec, first, atol=1e-5)
    assert np.all(np.abs(got_cls - got_mean).max(axis=1) > 1e-3)
    np.testing.assert_allclose(np.linalg.norm(got_cls, axis=1), 1.0, atol=1e-5)


def test_bad_pooling_is_refused(tmp_path):
    for f in ("model.onnx", "tokenizer.json", "config.json"):
        (tmp_path / f).write_bytes((MEAN / f).read_bytes())
    (tmp_path / "toolrank.json").write_text(json.dumps({"kind": "bi-encoder", "pooling": "max"}))
    with pytest.raises(ModelLoadError, match="pooling 'max'"):
        LoadedModel(tmp_path, threads=1)


def test_instruction_reaches_the_query_only_in_rerank():
    model = LoadedModel(CLS, threads=1)
    instruction = model.spec.query_instruction
    query, docs = "weather in paris", ["get the weather forecast for a city", "convert dollars to euros"]

    async def run():
        async with Engine(Settings(), [LoadedModel(CLS, threads=1)]) as engine:
            return await engine.rerank(RerankQuery(query, tuple(Candidate(TextInput(d)) for d in docs),
                                                   raw_scores=True, lexical_weight=0.0))

    out = asyncio.run(run())
    q_with, q_without = _vectors(model, [instruction + query, query])
    d = _vectors(model, docs)
    got = {r.index: r.score for r in out.results}
    np.testing.assert_allclose([got[0], got[1]], d @ q_with, atol=1e-5)  # the query carried the instruction
    assert np.abs(d @ q_without - d @ q_with).max() > 1e-4  # ...which changes the scores
    assert out.usage.query_tokens == len(model.tokenize([instruction + query])[0])
    # candidates embedded without it: the cache entry of a candidate is its plain embedding
    d_prefixed = _vectors(model, [instruction + t for t in docs])
    assert np.abs(d_prefixed @ q_with - d @ q_with).max() > 1e-4


def test_embed_prefixes_queries_not_candidates():
    async def run():
        async with Engine(Settings(), [LoadedModel(CLS, threads=1)]) as engine:
            as_query = await engine.embed(["weather in paris", "and tomorrow"], queries=True, cache=False)
            as_text = await engine.embed(["weather in paris"], cache=False)
            return as_query.vectors, as_text.vectors

    as_query, as_text = asyncio.run(run())
    model = LoadedModel(CLS, threads=1)
    instruction = model.spec.query_instruction
    np.testing.assert_allclose(as_query, _vectors(model, [instruction + "weather in paris",
                                                          instruction + "and tomorrow"]), atol=1e-5)
    np.testing.assert_allclose(as_text, _vectors(model, ["weather in paris"]), atol=1e-5)


def test_catalog_select_embeds_the_query_with_the_instruction():
    from toolrank.catalogs.service import CatalogService
    from toolrank.catalogs.store import open_store
    from toolrank.catalogs.types import PutCatalogRequest, SelectQuery

    docs = ["get the weather forecast for a city", "convert dollars to euros", "send an email to a person"]

    async def run():
        settings = Settings(models=(("tiny-bert-bi-cls", str(CLS)),), store="memory://")
        async with Engine.from_settings(settings) as engine:
            service = CatalogService(engine, open_store("memory://"), settings)
            await service.put(PutCatalogRequest("c", tuple(Candidate(TextInput(d), f"d{i}")
                                                           for i, d in enumerate(docs))))
            out = await service.select(SelectQuery("c", "weather in paris", top_k=3, scoring="dense",
                                                   stage_one_only=True))  # dense: (cosine + 1) / 2
            await service.aclose()
            return out

    out = asyncio.run(run())
    model = LoadedModel(CLS, threads=1)
    q = _vectors(model, [model.spec.query_instruction + "weather in paris"])[0]
    expected = (_vectors(model, docs) @ q + 1.0) / 2.0
    got = {h.id: h.score for h in out.results}
    np.testing.assert_allclose([got[f"d{i}"] for i in range(3)], expected, atol=1e-4)
