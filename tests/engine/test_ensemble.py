"""Fusion on the right scale (issue 18, item 3) and ensembles served as models (item 4), on tiny models.

tiny-bert-cross-peaky is tiny-bert-cross with logits * 3 - 11 (scripts/make_tiny_models.py
--derived): like ms-marco, its sigmoids all sit near 0, so adding 0.05 x z(BM25) to them let
BM25 alone decide the order. Fused on the raw scale in units of the model's spread, the order
is that of z(logit) + w x z(BM25).
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from conftest import TINY
from toolrank.engine.engine import Engine
from toolrank.engine.ensemble import fuse_z, parse_ensemble, parse_ensemble_flag
from toolrank.engine.lexical import lexical_z, zscore
from toolrank.errors import ConfigError, UnknownModel
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput

QUERY = "weather forecast in paris for the city"
DOCS = [
    "weather forecast weather forecast city paris",  # many shared words: BM25's favourite
    "get the weather for a city",
    "convert 100 dollars to euros",
    "send an email to a person",
    "paris city guide",
    "list the files in a folder",
    "forecast of the sales figures",
]


def _models(*names: str) -> list[LoadedModel]:
    return [LoadedModel(TINY / n, threads=1) for n in names]


def _run(engine_models: list[LoadedModel], query: RerankQuery, ensembles: tuple = (),
         settings: Settings | None = None):
    async def go():
        async with Engine(settings or Settings(), engine_models, ensembles) as engine:
            return await engine.rerank(query), engine.model_specs()

    return asyncio.run(go())


def _by_index(outcome) -> np.ndarray:
    out = np.zeros(len(outcome.results))
    for r in outcome.results:
        out[r.index] = r.score
    return out


def _cands() -> tuple[Candidate, ...]:
    return tuple(Candidate(TextInput(d)) for d in DOCS)


def test_peaky_cross_encoder_keeps_its_order_under_lexical_fusion():
    logits = _by_index(_run(_models("tiny-bert-cross-peaky"), RerankQuery(QUERY, _cands(), raw_scores=True,
                                                                          lexical_weight=0.0))[0])
    assert logits.max() < -3  # peaky: every sigmoid below 0.05
    bm25 = lexical_z(QUERY, DOCS)
    w = 0.05
    out, _ = _run(_models("tiny-bert-cross-peaky"), RerankQuery(QUERY, _cands(), lexical_weight=w))
    got = [r.index for r in out.results]
    expected = sorted(range(len(DOCS)), key=lambda i: (-(zscore(logits)[i] + w * bm25[i]), i))
    old = sorted(range(len(DOCS)), key=lambda i: (-(1 / (1 + np.exp(-logits[i])) + w * bm25[i]), i))
    assert expected != old  # the case tells the two scales apart
    assert got == expected
    assert all(0.0 <= r.score <= 1.0 for r in out.results)
    # raw_scores: the fused value on the logit scale, logit + w * std(logits) * z(BM25)
    raw, _ = _run(_models("tiny-bert-cross-peaky"), RerankQuery(QUERY, _cands(), lexical_weight=w, raw_scores=True))
    np.testing.assert_allclose(_by_index(raw), logits + w * logits.std() * bm25, atol=1e-4)
    # and the returned score is the sigmoid of that fused logit
    np.testing.assert_allclose(_by_index(out), 1 / (1 + np.exp(-_by_index(raw))), atol=1e-6)


def test_bi_encoder_lexical_fusion_is_in_units_of_its_spread():
    cos = _by_index(_run(_models("tiny-bert-bi"), RerankQuery(QUERY, _cands(), raw_scores=True,
                                                              lexical_weight=0.0))[0])
    out, _ = _run(_models("tiny-bert-bi"), RerankQuery(QUERY, _cands(), raw_scores=True, lexical_weight=0.5))
    np.testing.assert_allclose(_by_index(out), cos + 0.5 * cos.std() * lexical_z(QUERY, DOCS), atol=1e-5)
    mapped, _ = _run(_models("tiny-bert-bi"), RerankQuery(QUERY, _cands(), lexical_weight=0.5))
    assert all(0.0 <= r.score <= 1.0 for r in mapped.results)
    assert [r.index for r in mapped.results] == [r.index for r in out.results]


MIX = parse_ensemble({"name": "mix", "members": [
    {"model": "tiny-bert-bi", "weight": 1.0},
    {"model": "tiny-bert-cross-peaky", "weight": 2.0},
    {"model": "bm25", "weight": 0.5}]})


def _member_raw(name: str) -> np.ndarray:
    return _by_index(_run(_models(name), RerankQuery(QUERY, _cands(), raw_scores=True, lexical_weight=0.0))[0])


def test_ensemble_is_served_by_name_and_fuses_z_scores():
    bi, cross = _member_raw("tiny-bert-bi"), _member_raw("tiny-bert-cross-peaky")
    bm25 = lexical_z(QUERY, DOCS)
    fused = zscore(bi) + 2.0 * zscore(cross) + 0.5 * bm25
    models = _models("tiny-bert-bi", "tiny-bert-cross-peaky")
    raw, specs = _run(models, RerankQuery(QUERY, _cands(), model="mix", raw_scores=True), (MIX,))
    np.testing.assert_allclose(_by_index(raw), fused, atol=1e-5)
    assert raw.model == "mix"
    out, _ = _run(_models("tiny-bert-bi", "tiny-bert-cross-peaky"),
                  RerankQuery(QUERY, _cands(), model="mix", top_n=3), (MIX,))
    assert [r.index for r in out.results] == sorted(range(len(DOCS)), key=lambda i: (-fused[i], i))[:3]
    np.testing.assert_allclose([r.score for r in out.results],
                               [1 / (1 + np.exp(-fused[r.index] / 3.0)) for r in out.results], atol=1e-6)
    assert all(0.0 < r.score < 1.0 for r in out.results)
    # usage adds the members' work: both models read every candidate
    assert out.usage.windows == len(DOCS) + 1 + len(DOCS)  # bi: query + candidates; cross: one pair each
    info = {s.name: s for s in specs}
    assert info["mix"].kind == "ensemble" and "tiny-bert-bi" in info["mix"].path


def test_ensemble_can_be_the_default_and_a_zero_weight_member_does_not_run():
    only_tools = parse_ensemble({"name": "per-kind", "members": [
        {"model": "tiny-bert-bi", "weight": 1.0},
        {"model": "tiny-bert-cross-peaky", "weight": 1.0, "weights": {"text": 0.0}}]})
    out, _ = _run(_models("tiny-bert-bi", "tiny-bert-cross-peaky"), RerankQuery(QUERY, _cands()),
                  (only_tools,), Settings(default_model="per-kind"))
    assert out.model == "per-kind"
    assert out.usage.windows == len(DOCS) + 1  # the cross-encoder, weight 0 for text, never ran
    bi = _member_raw("tiny-bert-bi")
    assert [r.index for r in out.results] == sorted(range(len(DOCS)), key=lambda i: (-bi[i], i))


def test_ensemble_with_an_unserved_member_refuses_to_start():
    with pytest.raises(UnknownModel, match="not served"):
        _run(_models("tiny-bert-bi"), RerankQuery(QUERY, _cands()), (MIX,))


def test_ensemble_from_a_manifest_directory_and_from_the_flag(tmp_path):
    (tmp_path / "toolrank.json").write_text(json.dumps({"name": "stack", "kind": "ensemble", "members": [
        {"model": "tiny-bert-bi", "weight": 1}, {"model": "bm25", "weight": 0.3}]}))
    settings = Settings(models=(("", str(TINY / "tiny-bert-bi")), ("", str(tmp_path))),
                        ensembles=("flagged=tiny-bert-bi:1,bm25:0.7",))

    async def go():
        async with Engine.from_settings(settings) as engine:
            names = {s.name: s.kind for s in engine.model_specs()}
            a = await engine.rerank(RerankQuery(QUERY, _cands(), model="stack", raw_scores=True))
            b = await engine.rerank(RerankQuery(QUERY, _cands(), model="flagged", raw_scores=True))
            return names, a, b

    names, a, b = asyncio.run(go())
    assert names == {"tiny-bert-bi": "bi-encoder", "stack": "ensemble", "flagged": "ensemble"}
    bi, bm25 = zscore(_member_raw("tiny-bert-bi")), lexical_z(QUERY, DOCS)
    np.testing.assert_allclose(_by_index(a), bi + 0.3 * bm25, atol=1e-5)
    np.testing.assert_allclose(_by_index(b), bi + 0.7 * bm25, atol=1e-5)


@pytest.mark.parametrize("bad, message", [
    ({"name": "x", "members": []}, "non-empty list"),
    ({"name": "x", "members": [{"model": "bm25", "weight": 1}]}, "besides bm25"),
    ({"name": "x", "members": [{"model": "a", "weight": -1}]}, "weight"),
    ({"name": "x", "members": [{"model": "a", "weights": {"video": 1}}]}, "keys must be"),
    ({"name": "x", "members": [{"model": "a"}, {"model": "a"}]}, "twice"),
])
def test_bad_ensembles_name_the_field(bad, message):
    with pytest.raises(ConfigError, match=message):
        parse_ensemble(bad)


def test_flag_parsing():
    spec = parse_ensemble_flag("s=all-MiniLM-L6-v2:1,bge-small-en-v1.5,bm25:0.3")
    assert [(m.model, m.weight) for m in spec.members] == [("all-MiniLM-L6-v2", 1.0), ("bge-small-en-v1.5", 1.0),
                                                            ("bm25", 0.3)]
    with pytest.raises(ConfigError):
        parse_ensemble_flag("no-equals-sign")
    with pytest.raises(ConfigError, match="not a number"):
        parse_ensemble_flag("s=a:x")


def test_fuse_z_uses_each_candidates_kind_weight():
    spec = parse_ensemble({"name": "k", "members": [{"model": "a", "weight": 1, "weights": {"code": 0}},
                                                     {"model": "b", "weight": 0, "weights": {"code": 1}}]})
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([4.0, 3.0, 2.0, 1.0])
    got = fuse_z(spec, {"a": a, "b": b}, ["tool", "tool", "code", "code"])
    np.testing.assert_allclose(got, [zscore(a)[0], zscore(a)[1], zscore(b)[2], zscore(b)[3]])


def test_shipped_stacks_are_served_when_their_members_are():
    from toolrank.engine.stacks import shipped

    models = [LoadedModel(TINY / "tiny-bert-bi", "all-MiniLM-L6-v2", threads=1),
              LoadedModel(TINY / "tiny-bert-bi-cls", "bge-small-en-v1.5", threads=1)]
    out, specs = _run(models, RerankQuery(QUERY, _cands(), model="bi-plus"))
    kinds = {s.name: s.kind for s in specs}
    assert kinds.get("bi-plus") == "ensemble" and "rerank-plus" not in kinds  # ms-marco is not served
    assert out.model == "bi-plus"
    # the plain default model keeps its name; the default stack's BM25 weights apply per kind
    plain, _ = _run([LoadedModel(TINY / "tiny-bert-bi", "all-MiniLM-L6-v2", threads=1)], RerankQuery(QUERY, _cands()))
    assert plain.model == "all-MiniLM-L6-v2"
    assert shipped().lexical_weights()["tool"] > 0 and shipped().lexical_weights()["code"] == 0


def test_every_shipped_stack_member_is_a_known_model():
    from toolrank.engine.stacks import shipped
    from toolrank.models.known import bundled_model_dir, find_entry

    stacks = shipped()
    for stack in (stacks.default, *stacks.offered):
        for name in stack.models:
            assert bundled_model_dir(name) is not None or find_entry(name).name == name
