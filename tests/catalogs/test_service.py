"""CatalogService in process on the tiny models: every operation, stage one's parts, bad input, persistence."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import numpy as np
import pytest

from catalog_helpers import data_home, TINY_BI, TINY_CROSS, TOOLS, table, text, tiny_settings, tool  # noqa: F401 (data_home: autouse fixture)
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.index import query_terms
from toolrank.catalogs.types import BM25, DENSE, FUSED, PutCatalogRequest, SelectQuery
from toolrank.engine.engine import Engine
from toolrank.engine.ensemble import fuse_two_stages
from toolrank.errors import CatalogLimitExceeded, CatalogNotFound, InvalidRequest, UnknownModel
from toolrank.types import Candidate, RerankQuery, TextInput


def run(coro):
    return asyncio.run(coro)


async def _service(settings=None, store=None):
    settings = settings or tiny_settings()
    engine = Engine.from_settings(settings)
    await engine.start()
    return engine, CatalogService(engine, store or open_store(settings.store), settings)


async def _close(engine, svc):
    await svc.aclose()
    await engine.stop()


def test_put_select_get_list_delete():
    async def go():
        engine, svc = await _service()
        out = await svc.put(PutCatalogRequest("tools", tuple(TOOLS)))
        assert (out.size, out.added, out.updated, out.deleted) == (6, 6, 0, 0)
        assert out.usage.windows == 6 and out.usage.candidate_tokens > 0
        picked = await svc.select(SelectQuery("tools", "send an email message", top_k=3, return_text=True,
                                              return_candidates=True))
        assert len(picked.results) == 3 and picked.version == out.version and picked.model == "tiny-bi"
        assert picked.results[0].id == "send_email"  # BM25 + exact words carry it even on a random tiny model
        scores = [h.score for h in picked.results]
        assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
        assert "send" in picked.results[0].text and picked.results[0].candidate == TOOLS[1]
        info = await svc.get("tools")
        assert (info.catalog, info.size, info.version, info.model) == ("tools", 6, out.version, "tiny-bi")
        await svc.put(PutCatalogRequest("other", (text("a", "alpha"),)))
        assert [i.catalog for i in await svc.list()] == ["other", "tools"]
        gone = await svc.delete("tools")
        assert gone.size == 6
        with pytest.raises(CatalogNotFound):
            await svc.select(SelectQuery("tools", "email"))
        with pytest.raises(CatalogNotFound):
            await svc.get("tools")
        with pytest.raises(CatalogNotFound):
            await svc.delete("tools")
        assert [i.catalog for i in await svc.list()] == ["other"]
        await _close(engine, svc)

    run(go())


def test_upsert_counts_and_unchanged_reput_embeds_nothing():
    async def go():
        engine, svc = await _service()
        first = await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
        embedded = svc.embedded_texts
        same = await svc.put(PutCatalogRequest("c", tuple(TOOLS[:2])))
        assert (same.added, same.updated, same.deleted, same.size) == (0, 0, 0, 6)
        assert svc.embedded_texts == embedded and same.version == first.version  # unchanged: same version
        changed = tool("send_email", "Send a text message by SMS")
        out = await svc.put(PutCatalogRequest("c", (changed, text("new", "a new entry")), delete_ids=("get_weather",)))
        assert (out.added, out.updated, out.deleted, out.size) == (1, 1, 1, 6)
        assert svc.embedded_texts == embedded + 2
        out = await svc.put(PutCatalogRequest("c", (text("only", "the only one"),), replace=True))
        assert (out.added, out.deleted, out.size) == (1, 6, 1)
        picked = await svc.select(SelectQuery("c", "anything", top_k=10))
        assert [h.id for h in picked.results] == ["only"]
        await _close(engine, svc)

    run(go())


@pytest.mark.parametrize("candidates, message", [
    ((text("a", "x"), Candidate(TextInput("no id"))), "candidates[1].id: required"),
    ((text("a", "x"), text("b", "y"), text("a", "z")), "candidates[2].id: duplicate id 'a' (also candidates[0])"),
    ((text("a", "x"), Candidate(None, "b")), "candidates[1]: no content"),  # type: ignore[arg-type]
    ((text("a", "x"), text("b", "   ")), "candidates[1].text: empty"),
])
def test_bad_candidate_refuses_the_whole_put_and_names_it(candidates, message):
    async def go():
        engine, svc = await _service()
        before = await svc.put(PutCatalogRequest("c", (text("keep", "kept"),)))
        with pytest.raises(InvalidRequest) as err:
            await svc.put(PutCatalogRequest("c", candidates))
        assert message in str(err.value)
        after = await svc.get("c")
        assert (after.version, after.size) == (before.version, 1)
        picked = await svc.select(SelectQuery("c", "kept"))
        assert [h.id for h in picked.results] == ["keep"]
        await _close(engine, svc)

    run(go())


def test_bad_requests_are_named():
    async def go():
        engine, svc = await _service(tiny_settings(limits=replace(tiny_settings().limits, max_candidate_bytes=300)))
        await svc.put(PutCatalogRequest("c", tuple(TOOLS[:2])))
        cases = [
            (PutCatalogRequest("bad name!", (text("a", "x"),)), "catalog: 'bad name!'"),
            (PutCatalogRequest("", (text("a", "x"),)), "catalog: ''"),
            (PutCatalogRequest("c", (text("a", "x"), text("b", "x" * 400))), "candidates[1].text: 400 bytes"),
            (PutCatalogRequest("c", (), delete_ids=("",)), "delete_ids[0]: empty"),
        ]
        for req, message in cases:
            with pytest.raises(InvalidRequest, match=None) as err:
                await svc.put(req)
            assert message in str(err.value)
        with pytest.raises(UnknownModel):
            await svc.put(PutCatalogRequest("c", (text("a", "x"),), model="nope"))
        for q, message in [
            (SelectQuery("c", "  "), "query: empty"),
            (SelectQuery("c", "x", top_k=-1), "top_k"),
            (SelectQuery("c", "x", pinned_ids=("get_weather", "ghost")), "pinned_ids[1]: 'ghost'"),
            (SelectQuery("c", "x", model="other"), "model: catalog 'c' is embedded with 'tiny-bi'"),
            (SelectQuery("c", "x", min_score=float("nan")), "min_score"),
            (SelectQuery("c", "x", rerank_depth=5000), "rerank_depth"),
            (SelectQuery("c", "x" * ((1 << 20) + 1)), f"query: {(1 << 20) + 1} bytes"),
        ]:
            with pytest.raises(InvalidRequest) as err:
                await svc.select(q)
            assert message in str(err.value)
        with pytest.raises(CatalogNotFound):
            await svc.select(SelectQuery("missing", "x"))
        await _close(engine, svc)

    run(go())


def test_limits_are_resource_exhausted():
    async def go():
        engine, svc = await _service(tiny_settings(max_catalogs=2, max_catalog_candidates=3))
        await svc.put(PutCatalogRequest("a", (text("1", "one"),)))
        await svc.put(PutCatalogRequest("b", (text("1", "one"),)))
        with pytest.raises(CatalogLimitExceeded, match="the limit is 2"):
            await svc.put(PutCatalogRequest("c", (text("1", "one"),)))
        await svc.put(PutCatalogRequest("a", (text("2", "two"), text("3", "three"))))  # 3: at the limit
        with pytest.raises(CatalogLimitExceeded, match="4 candidates after this put"):
            await svc.put(PutCatalogRequest("a", (text("4", "four"),)))
        with pytest.raises(CatalogLimitExceeded):
            await svc.put(PutCatalogRequest("b", tuple(text(str(i), "x") for i in range(4)), replace=True))
        assert (await svc.get("a")).size == 3
        await svc.delete("b")
        await svc.put(PutCatalogRequest("c", (text("1", "one"),)))  # room again
        await _close(engine, svc)

    run(go())


def test_pinned_filter_min_score_top_k():
    async def go():
        engine, svc = await _service()
        cands = [text(f"d{i}", f"document number {i} about topic {'red' if i % 2 else 'blue'}",
                      color="red" if i % 2 else "blue") for i in range(20)]
        await svc.put(PutCatalogRequest("c", tuple(cands)))
        picked = await svc.select(SelectQuery("c", "document about topic", top_k=4, pinned_ids=("d7", "d3")))
        ids = [h.id for h in picked.results]
        assert len(ids) == 4 and {"d7", "d3"} <= set(ids)
        assert {h.id for h in picked.results if h.pinned} == {"d7", "d3"}
        picked = await svc.select(SelectQuery("c", "document", top_k=20, filter={"color": "blue"}))
        assert len(picked.results) == 10 and all(int(h.id[1:]) % 2 == 0 for h in picked.results)
        picked = await svc.select(SelectQuery("c", "document", top_k=20, filter={"color": "green"}))
        assert picked.results == ()
        everything = await svc.select(SelectQuery("c", "document red", top_k=20))
        cut = everything.results[5].score
        above = await svc.select(SelectQuery("c", "document red", top_k=20, min_score=cut))
        assert [h.id for h in above.results] == [h.id for h in everything.results if h.score >= cut]
        pinned_low = await svc.select(SelectQuery("c", "document red", top_k=3, min_score=2.0, pinned_ids=("d0",)))
        assert [h.id for h in pinned_low.results] == ["d0"]  # pinned: in, whatever its score
        await _close(engine, svc)

    run(go())


def test_exact_name_and_keywords_count_in_stage_one():
    async def go():
        engine, svc = await _service()
        cands = [tool("fetch_rows", "Fetch rows"), tool("fetch_cols", "Fetch columns"),
                 tool("zz_helper", "Misc helper", keywords="invoice billing")]
        await svc.put(PutCatalogRequest("c", tuple(cands)))
        named = await svc.select(SelectQuery("c", "please run fetch_cols now", top_k=3))
        assert named.results[0].id == "fetch_cols"
        index = svc.loaded()["c"]
        qv = (await engine.embed(["please run fetch_cols now"])).vectors[0]
        terms = query_terms(index.vocab, "please run fetch_cols now", ())
        with_names = index.stage_one(qv, terms, "please run fetch_cols now", FUSED)
        without = index.stage_one(qv, terms, "", FUSED)  # same vector and terms, no name to match
        assert with_names.name_match.tolist() == [False, True, False]
        row = index.row_of["fetch_cols"]
        assert with_names.scores[row] == pytest.approx(without.scores[row] + (1 - without.scores[row]) * 0.5)
        assert named.results[0].score == pytest.approx(float(with_names.scores[row]), abs=1e-3)
        spaced = await svc.select(SelectQuery("c", "fetch cols", top_k=1))
        assert spaced.results[0].id == "fetch_cols"
        kw = await svc.select(SelectQuery("c", "billing", top_k=1, scoring=BM25))
        assert kw.results[0].id == "zz_helper" and kw.results[0].score > 0
        await _close(engine, svc)

    run(go())


def test_context_and_instruction_change_the_query_vector_only_as_documented():
    async def go():
        engine, svc = await _service()
        await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
        base = await svc.select(SelectQuery("c", "send it", top_k=6, scoring=DENSE))
        q = (await engine.embed(["send it"])).vectors[0]
        c = (await engine.embed(["the weather in paris"])).vectors[0]
        mixed = q + 0.5 * c
        mixed /= np.linalg.norm(mixed)
        index = svc.loaded()["c"]
        expected = (index.matrix @ mixed + 1) / 2
        with_ctx = await svc.select(SelectQuery("c", "send it", top_k=6, scoring=DENSE,
                                                context=("the weather in paris",)))
        for h in with_ctx.results:
            assert h.score == pytest.approx(float(expected[index.row_of[h.id]]), abs=2e-3)
        assert [h.score for h in with_ctx.results] != [h.score for h in base.results]
        instructed = await svc.select(SelectQuery("c", "send it", top_k=6, scoring=DENSE, instruction="Find a tool:"))
        v = (await engine.embed(["Find a tool: send it"])).vectors[0]
        for h in instructed.results:
            assert h.score == pytest.approx(float((index.matrix[index.row_of[h.id]] @ v + 1) / 2), abs=2e-3)
        bm = await svc.select(SelectQuery("c", "send it", top_k=6, scoring=BM25, instruction="weather weather"))
        assert "get_weather" not in [h.id for h in bm.results if h.score > 0]  # BM25 never sees the instruction
        await _close(engine, svc)

    run(go())


def test_stage_two_reranks_stage_one_top_with_the_cross_encoder():
    async def go():
        engine, svc = await _service(tiny_settings(TINY_BI, TINY_CROSS))
        await svc.put(PutCatalogRequest("c", tuple(TOOLS) + (table("flights", "id INT, origin TEXT, dest TEXT"),)))
        picked = await svc.select(SelectQuery("c", "book a flight", top_k=3, rerank_depth=5))
        assert picked.rerank_model == "tiny-cross" and picked.model == "tiny-bi" and len(picked.results) == 3
        one = await svc.select(SelectQuery("c", "book a flight", top_k=5, stage_one_only=True))
        pool = [h.id for h in one.results]
        index = svc.loaded()["c"]
        docs = tuple(Candidate(TextInput(index.entries[index.row_of[i]].text), i) for i in pool)
        direct = await engine.rerank(RerankQuery("book a flight", docs, model="tiny-cross", raw_scores=True,
                                                 lexical_weight=0.0), raw=True)
        logits = {r.id: r.score for r in direct.results}
        # the cross-encoder fused with stage one on z-scores over the pool (issue 18)
        fused = fuse_two_stages(np.array([logits[i] for i in pool]), np.array([h.score for h in one.results]))
        expected = sorted(zip(fused.tolist(), pool), reverse=True)[:3]
        assert [(h.id, pytest.approx(h.score, abs=1e-5)) for h in picked.results] == [(i, s) for s, i in expected]
        assert picked.usage.windows == 5 and picked.usage.candidate_tokens > 0
        assert one.rerank_model == ""
        with pytest.raises(InvalidRequest, match="not a cross-encoder"):
            await svc.select(SelectQuery("c", "x", rerank_model="tiny-bi"))
        await _close(engine, svc)

    run(go())


def test_bm25_only_when_no_bi_encoder_is_served():
    async def go():
        engine, svc = await _service(tiny_settings(TINY_CROSS))
        out = await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
        assert out.usage.windows == 0 and (await svc.get("c")).model == ""
        picked = await svc.select(SelectQuery("c", "translate text to french", top_k=2, stage_one_only=True))
        assert picked.results[0].id == "translate_text" and picked.model == ""
        await _close(engine, svc)

    run(go())


def test_another_model_embeds_again(tmp_path):
    async def go():
        settings = tiny_settings(TINY_BI, ("tiny-bi-2", TINY_BI[1]), TINY_CROSS)
        engine, svc = await _service(settings)
        await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
        assert svc.embedded_texts == 6
        out = await svc.put(PutCatalogRequest("c", (), model="tiny-bi-2"))
        assert svc.embedded_texts == 12 and (await svc.get("c")).model == "tiny-bi-2" and out.usage.windows == 6
        picked = await svc.select(SelectQuery("c", "email", model="tiny-bi-2"))
        assert picked.model == "tiny-bi-2"
        with pytest.raises(InvalidRequest, match="a catalog is embedded with a bi-encoder"):
            await svc.put(PutCatalogRequest("c", (), model="tiny-cross"))
        await _close(engine, svc)

    run(go())


def test_restart_on_the_same_store_selects_identically_without_embedding(tmp_path):
    url = f"sqlite:///{tmp_path}/c.sqlite3"
    queries = ["send an email", "weather in paris", "create an invoice for an order"]

    async def first():
        engine, svc = await _service(tiny_settings(store=url))
        await svc.put(PutCatalogRequest("c", tuple(TOOLS) + (table("orders", "id INT, total REAL"),)))
        out = [await svc.select(SelectQuery("c", q, top_k=5)) for q in queries]
        await _close(engine, svc)
        return out

    async def second():
        engine, svc = await _service(tiny_settings(store=url))
        out = [await svc.select(SelectQuery("c", q, top_k=5)) for q in queries]
        assert svc.embedded_texts == 0  # every embedding came from the store
        await _close(engine, svc)
        return out

    before, after = run(first()), run(second())
    for a, b in zip(before, after):
        assert a.version == b.version
        assert [(h.id, h.score) for h in a.results] == [(h.id, h.score) for h in b.results]


def test_two_replicas_on_one_store_see_each_others_versions(tmp_path):
    url = f"sqlite:///{tmp_path}/c.sqlite3"

    async def go():
        engine, a = await _service(tiny_settings(store=url))
        b = CatalogService(engine, open_store(url), a.settings)
        await a.put(PutCatalogRequest("c", (text("x", "alpha"),)))
        assert [h.id for h in (await b.select(SelectQuery("c", "alpha"))).results] == ["x"]
        v2 = await a.put(PutCatalogRequest("c", (text("y", "beta"),)))
        await b.refresh()
        picked = await b.select(SelectQuery("c", "beta"))
        assert picked.version == v2.version and {h.id for h in picked.results} == {"x", "y"}
        await b.put(PutCatalogRequest("c", (text("z", "gamma"),)))  # b builds on a's version, not its own
        assert (await a.get("c")).size == 3
        await a.delete("c")
        await b.refresh()
        with pytest.raises(CatalogNotFound):
            await b.select(SelectQuery("c", "alpha"))
        await b.aclose()
        await _close(engine, a)

    run(go())


def test_candidates_round_trip_with_metadata():
    async def go():
        engine, svc = await _service()
        cands = (tool("a_tool", "does a", team="x"), table("users", "id INT"),
                 Candidate(TextInput("plain"), "t", {"k": "v"}))
        await svc.put(PutCatalogRequest("c", cands))
        picked = await svc.select(SelectQuery("c", "users", top_k=3, return_candidates=True))
        assert {h.id: h.candidate for h in picked.results} == {c.id: c for c in cands}
        stored = json.loads(svc.loaded()["c"].entries[0].candidate)
        assert stored["metadata"] == {"team": "x"}
        await _close(engine, svc)

    run(go())


def test_best_breaks_ties_by_row():
    from toolrank.catalogs.service import _best

    scores = np.array([0.5, 0.9, 0.5, 0.5, -np.inf, 0.7], dtype=np.float32)
    assert sorted(_best(scores, 3).tolist()) == [0, 1, 5]
    assert sorted(_best(scores, 4).tolist()) == [0, 1, 2, 5]
    assert sorted(_best(scores, 6).tolist()) == [0, 1, 2, 3, 5]  # never a filtered-out (-inf) row
    assert _best(scores, 0).tolist() == []


def test_empty_catalog_and_clearing_one():
    async def go():
        engine, svc = await _service()
        out = await svc.put(PutCatalogRequest("empty"))
        assert (out.size, out.added) == (0, 0)
        assert (await svc.select(SelectQuery("empty", "anything"))).results == ()
        await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
        cleared = await svc.put(PutCatalogRequest("c", (), replace=True))
        assert (cleared.size, cleared.deleted) == (0, 6)
        assert (await svc.select(SelectQuery("c", "email"))).results == ()
        await _close(engine, svc)

    run(go())


def test_put_and_rerank_share_the_embedding_cache():
    async def go():
        engine, svc = await _service()
        await svc.put(PutCatalogRequest("c", tuple(TOOLS)))
        cache = engine.served("").embedding_cache
        hits = cache.hits
        await engine.rerank(RerankQuery("send an email", tuple(TOOLS)))
        assert cache.hits - hits == len(TOOLS)  # Rerank of the catalog's candidates embeds nothing again
        queries = len(cache)
        await svc.select(SelectQuery("c", "a query never seen"))
        assert len(cache) == queries  # queries are not cached: each Select embeds its query
        await _close(engine, svc)

    run(go())
