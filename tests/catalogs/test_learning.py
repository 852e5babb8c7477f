"""Learning from use: example requests and feedback in every store, in the service, over gRPC/HTTP, across restarts
and replicas (on the tiny random models: a repeated request is the one phrasing they are sure to find similar)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace

import pytest

from catalog_helpers import TOOLS, data_home, tiny_settings, tool  # noqa: F401 (data_home: autouse fixture)
from conftest import ServerThread
from toolrank.catalogs import learning
from toolrank.catalogs.service import CatalogService
from toolrank.catalogs.store import open_store
from toolrank.catalogs.types import FeedbackRequest, PutCatalogRequest, SelectQuery
from toolrank.client import Client
from toolrank.engine.engine import Engine
from toolrank.errors import InvalidRequest

ASK = "I need to know whether to bring an umbrella tomorrow"


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


async def _ranked(svc, query, **kw):
    return [h.id for h in (await svc.select(SelectQuery("tools", query, top_k=6, **kw))).results]


def _redis_store(prefix: str):
    redis = pytest.importorskip("redis")
    from toolrank.catalogs.store_redis import RedisStore

    url = "redis://127.0.0.1:6379/12"  # our own database number; keys under a prefix of this test's own
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis answers on 127.0.0.1:6379")
    return RedisStore.from_url(url, prefix=prefix)


def _cleanup_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/12")
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_store_feedback_bounded_switch_and_drop(kind, tmp_path):
    prefix = f"toolrank-test-learn-{uuid.uuid4().hex[:8]}:"
    store = {"memory": lambda: open_store("memory://"), "sqlite": lambda: open_store(f"sqlite:///{tmp_path}/s.db"),
             "redis": lambda: _redis_store(prefix)}[kind]()
    try:
        assert store.feedback("c").records == () and store.feedback("c").learn
        seqs = []
        for i in range(5):
            seq, held = store.add_feedback("c", f"r{i}", 3)
            seqs.append(seq)
            assert held == min(i + 1, 3)
        assert seqs == sorted(seqs) and len(set(seqs)) == 5
        log = store.feedback("c")
        assert log.records == ("r2", "r3", "r4") and log.seq == seqs[-1]  # oldest dropped first
        assert store.feedback_seqs()["c"] == log.seq
        seq = store.set_learning("c", False)
        assert seq > log.seq and not store.feedback("c").learn and store.feedback("c").records == log.records
        store.set_feedback("c", ["only"])
        assert store.feedback("c").records == ("only",) and not store.feedback("c").learn
        store.drop_feedback("c")
        assert store.feedback("c").records == () and "c" not in store.feedback_seqs()
    finally:
        store.close()
        if kind == "redis":
            _cleanup_redis(prefix)


def test_examples_are_scored_never_normalized_and_embedded_once():
    async def go():
        engine, svc = await _service()
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS)))
        before = svc.loaded()["tools"]
        text_before = before.entries[before.row_of["get_weather"]].text
        assert (await _ranked(svc, ASK))[0] != "get_weather"
        weather = tool("get_weather", "Current weather and forecast for a city",
                       examples=json.dumps([ASK, "is it going to rain"]))
        embedded = svc.embedded_texts
        await svc.put(PutCatalogRequest("tools", (weather,)))
        after = svc.loaded()["tools"]
        assert after.entries[after.row_of["get_weather"]].text == text_before  # normalize output unchanged
        assert svc.embedded_texts == embedded  # the candidate's own text was not embedded again
        assert svc.learner.embedded_texts == 2  # only its two examples
        assert (await _ranked(svc, ASK))[0] == "get_weather"
        assert (await _ranked(svc, ASK, learn=False))[0] != "get_weather"
        info = await svc.get("tools")
        assert (info.examples, info.feedback, info.learn) == (2, 0, True)
        mail = tool("send_email", "Send an email message to a recipient", examples="write to my boss")
        await svc.put(PutCatalogRequest("tools", (mail,)))
        assert svc.learner.embedded_texts == 3  # one new example; the weather ones come from the store
        await _close(engine, svc)

    run(go())


def test_feedback_learns_rejects_and_drops_deleted_ids():
    async def go():
        engine, svc = await _service()
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS)))
        base = await _ranked(svc, ASK)
        target = base[-1]  # the worst for this request: feedback must bring it first
        out = await svc.feedback(FeedbackRequest("tools", ASK, (target,), (base[0],), "test"))
        assert (out.feedback, out.dropped) == (1, 0)
        learned = await _ranked(svc, ASK)
        assert learned[0] == target and learned[-1] == base[0]  # chosen first, rejected last
        assert (await _ranked(svc, ASK, learn=False)) == base
        with pytest.raises(InvalidRequest, match=r"chosen_ids\[0\]"):
            await svc.feedback(FeedbackRequest("tools", ASK, ("nope",)))
        with pytest.raises(InvalidRequest, match="at least one"):
            await svc.feedback(FeedbackRequest("tools", ASK))
        await svc.put(PutCatalogRequest("tools", (), delete_ids=(target, base[0])))
        info = await svc.get("tools")
        assert info.feedback == 0  # both ids gone: the record went with them
        assert svc.store.feedback("tools").records == ()
        await _close(engine, svc)

    run(go())


def test_feedback_bounded_and_learning_switches():
    async def go():
        engine, svc = await _service(tiny_settings(feedback_limit=2))
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS)))
        base = await _ranked(svc, ASK)
        for i in range(3):
            out = await svc.feedback(FeedbackRequest("tools", f"{ASK} {i}", (base[-1],)))
        assert (out.feedback, out.dropped) == (2, 1)
        await svc.feedback(FeedbackRequest("tools", ASK, (base[-1],)))
        assert (await _ranked(svc, ASK))[0] == base[-1]
        await svc.put(PutCatalogRequest("tools", (), learn=False))  # per catalog
        assert await _ranked(svc, ASK) == base and not (await svc.get("tools")).learn
        await svc.put(PutCatalogRequest("tools", (), learn=True))
        assert (await _ranked(svc, ASK))[0] == base[-1]
        await _close(engine, svc)
        engine, svc = await _service(tiny_settings(learn=False))  # server-wide
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS)))
        with pytest.raises(InvalidRequest, match="learn"):
            await svc.feedback(FeedbackRequest("tools", ASK, (base[-1],)))
        await _close(engine, svc)

    run(go())


def test_feedback_survives_a_restart_without_embedding_again(tmp_path):
    settings = tiny_settings(store=f"sqlite:///{tmp_path}/c.sqlite3")

    async def first():
        engine, svc = await _service(settings)
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS)))
        base = await _ranked(svc, ASK)
        await svc.feedback(FeedbackRequest("tools", ASK, (base[-1],), (), "test"))
        await _close(engine, svc)
        return base

    async def second(base):
        engine, svc = await _service(settings)
        assert (await _ranked(svc, ASK))[0] == base[-1]
        assert svc.embedded_texts == 0 and svc.learner.embedded_texts == 0  # vectors came from the store
        assert [r.query for r in await svc.feedback_records("tools")] == [ASK]
        await _close(engine, svc)

    run(second(run(first())))


def test_two_replicas_share_learning_on_one_redis():
    prefix = f"toolrank-test-learn-{uuid.uuid4().hex[:8]}:"

    async def go():
        settings = tiny_settings(catalog_refresh_s=0.05)
        engine_a, a = await _service(settings, _redis_store(prefix))
        engine_b, b = await _service(settings, _redis_store(prefix))
        await a.put(PutCatalogRequest("tools", tuple(TOOLS)))
        base = await _ranked(b, ASK)
        await a.feedback(FeedbackRequest("tools", ASK, (base[-1],)))
        for _ in range(100):  # b follows by pub/sub or its poll
            if (await _ranked(b, ASK))[0] == base[-1]:
                break
            await asyncio.sleep(0.05)
        assert (await _ranked(b, ASK))[0] == base[-1]
        assert (await b.get("tools")).feedback == 1
        await _close(engine_a, a)
        await _close(engine_b, b)

    try:
        run(go())
    finally:
        _cleanup_redis(prefix)


def test_feedback_rpc_http_and_cli_on_a_real_server(tmp_path, capsys):
    from toolrank.cli import main

    s = ServerThread(tiny_settings(store=f"sqlite:///{tmp_path}/c.sqlite3"), http=True).start()
    try:
        with Client(s.address, timeout=60) as client:
            client.put_catalog("tools", [{"id": c.id, "tool": json.loads(c.content.json)} for c in TOOLS]
                               + [{"id": "x", "text": "plain", "examples": ["say it plainly"]}])
            base = client.select("tools", ASK, 7).ids
            out = client.feedback("tools", ASK, [base[-1]], source="test")
            assert out.feedback == 1 and client.select("tools", ASK, 7).ids[0] == base[-1]
            assert client.select("tools", ASK, 7, learn=False).ids == base
            info = client.get_catalog("tools")
            assert (info.examples, info.feedback, info.learn) == (1, 1, True)
            assert [(r.query, r.chosen_ids) for r in client.list_feedback("tools")] == [(ASK, (base[-1],))]
            assert client.select("tools", ASK, 7, max_tokens=1).ids == []  # the budget travels over gRPC
            assert 1 <= len(client.select("tools", ASK, 7, adaptive=True)) <= 7
        import urllib.request

        body = json.dumps({"query": "book me a seat", "chosen_ids": ["book_flight"], "source": "http"}).encode()
        req = urllib.request.Request(f"{s.http_url}/v1/catalogs/tools/feedback", body,
                                     {"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req) as resp:
            assert json.loads(resp.read())["feedback"] == 2
        assert main(["catalog", "feedback", "tools", "a third request", "--chosen", "send_email",
                     "--address", s.address]) == 0
        assert "3 feedback records" in capsys.readouterr().out
        assert main(["catalog", "feedback", "export", "tools", "--address", s.address]) == 0
        lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        assert [x["query"] for x in lines] == [ASK, "book me a seat", "a third request"]
        put_file = tmp_path / "more.jsonl"
        put_file.write_text(json.dumps({"id": "y", "text": "another", "examples": ["one", "two"]}) + "\n")
        assert main(["catalog", "put", "tools", str(put_file), "--address", s.address]) == 0
        capsys.readouterr()
        with Client(s.address, timeout=60) as client:
            assert client.get_catalog("tools").examples == 3  # a catalog put file's examples

        s.running.catalogs.no_match_thresholds = {"tiny-bi": {"tool": 1.01, "text": 1.01}}
        with Client(s.address, timeout=60) as client:
            assert client.select("tools", "anything at all", 3, learn=False).no_match
        assert main(["catalog", "select", "tools", "anything at all", "--no-learning", "--address", s.address]) == 0
        assert "no candidate fits" in capsys.readouterr().out
        s.running.catalogs.no_match_thresholds = {}
        queries = tmp_path / "q.jsonl"
        queries.write_text("\n".join(json.dumps({"query": x["query"], "relevant": x["relevant"]}) for x in lines))
        assert main(["catalog", "eval", "tools", str(queries), "--json", "--address", s.address]) == 0
        rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        assert {(r["stage"], r["learning"]) for r in rows} == {("stage one", "off"), ("stage one", "on")}
        on, off = (next(r for r in rows if r["learning"] == w) for w in ("on", "off"))
        assert on["ndcg_at_10"] > off["ndcg_at_10"] and on["recall_at_1"] >= 2 / 3, rows  # each request was recorded
    finally:
        s.stop()


def test_examples_metadata_forms():
    assert learning.examples_of({"examples": json.dumps(["a", " b ", "a"])}) == ["a", "b"]
    assert learning.examples_of({"examples": "one\ntwo\n"}) == ["one", "two"]
    assert learning.examples_of({}) == []
    with pytest.raises(Exception, match="examples"):
        learning.check_examples({"examples": json.dumps([f"x{i}" for i in range(100)])}, "candidates[3]")


def test_a_replace_keeps_learning_settings():
    async def go():
        engine, svc = await _service(replace(tiny_settings()))
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS), learn=False))
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS), replace=True))
        assert not (await svc.get("tools")).learn
        await _close(engine, svc)

    run(go())


def test_no_match_from_calibrated_thresholds():
    async def go():
        engine, svc = await _service()
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS)))
        out = await svc.select(SelectQuery("tools", ASK))
        assert not out.no_match  # tiny-bi has no calibrated threshold: never "nothing fits"
        svc.no_match_thresholds = {"tiny-bi": {"tool": 1.01}}
        out = await svc.select(SelectQuery("tools", ASK, top_k=3))
        assert out.no_match and len(out.results) == 3  # the results still come back; the caller decides
        svc.no_match_thresholds = {"tiny-bi": {"tool": 0.0}}
        assert not (await svc.select(SelectQuery("tools", ASK))).no_match
        svc.no_match_thresholds = {"tiny-bi": {"sql": 1.01}, "other-model": {"tool": 1.01}}
        assert not (await svc.select(SelectQuery("tools", ASK))).no_match  # another kind or model: no threshold
        await _close(engine, svc)

    run(go())


def test_shipped_thresholds_are_calibrated_data(tmp_path):
    from toolrank.catalogs.no_match import DATA_FILE, load_thresholds

    shipped = load_thresholds()
    assert {"tool", "sql"} <= set(shipped["all-MiniLM-L6-v2"])
    assert all(0.0 < t < 1.0 for t in shipped["all-MiniLM-L6-v2"].values())
    data = json.loads(DATA_FILE.read_text())["models"]["all-MiniLM-L6-v2"]
    assert data["kinds"]["sql"]["precision"] >= data["min_precision"]  # what bench/no_match.py measured
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert load_thresholds(str(bad)) == {}  # unreadable: no_match off, never a crash


def test_feedback_moves_stage_two_too():
    from catalog_helpers import TINY_BI, TINY_CROSS

    async def go():
        engine, svc = await _service(tiny_settings(TINY_BI, TINY_CROSS))
        await svc.put(PutCatalogRequest("tools", tuple(TOOLS)))
        before = await svc.select(SelectQuery("tools", ASK, top_k=6))
        assert before.rerank_model == "tiny-cross"
        base = [h.id for h in before.results]
        await svc.feedback(FeedbackRequest("tools", ASK, (base[-1],)))
        after = await svc.select(SelectQuery("tools", ASK, top_k=6))
        assert after.rerank_model == "tiny-cross" and after.results[0].id == base[-1]
        await _close(engine, svc)

    run(go())
