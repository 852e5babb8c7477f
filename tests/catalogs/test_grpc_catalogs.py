"""toolrank.v1.Catalogs end to end: a real server on loopback, the Python client, the CLI, a restart."""

from __future__ import annotations

import json
from dataclasses import replace

import grpc
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from catalog_helpers import TINY_BI, TINY_CROSS, TOOLS, data_home, tiny_settings  # noqa: F401 (autouse fixture)
from conftest import DATA, ServerThread
from toolrank.cli import main
from toolrank.client import Client
from toolrank.errors import CatalogNotFound, InvalidRequest, Overloaded
from toolrank.settings import Settings
from toolrank.v1 import catalogs_pb2 as cpb
from toolrank.v1 import catalogs_pb2_grpc as cpb_grpc


@pytest.fixture()
def server(tmp_path):
    s = ServerThread(tiny_settings(TINY_BI, TINY_CROSS, store=f"sqlite:///{tmp_path}/c.sqlite3",
                                   max_catalogs=5)).start()
    yield s
    s.stop()


def test_every_rpc_through_the_client(server):
    with Client(server.address, timeout=60) as client:
        out = client.put_catalog("tools", [{"id": c.id, "tool": json.loads(c.content.json), "metadata": {"team": t}}
                                           for c, t in zip(TOOLS, "xyxyxy")])
        assert (out.catalog, out.size, out.added) == ("tools", 6, 6) and out.version > 0
        picked = client.select("tools", "send an email", top_k=2, return_candidates=True, return_text=True,
                               filter={"team": "y"}, pinned_ids=["get_weather"], min_score=0.0)
        assert picked.version == out.version and len(picked) == 2
        assert picked.model == "tiny-bi" and picked.rerank_model == "tiny-cross"
        assert {h.id for h in picked if h.pinned} == {"get_weather"}
        hit = next(h for h in picked if not h.pinned)
        assert hit.text and hit.candidate is not None and hit.candidate.metadata["team"] == "y"
        assert picked.timing.total_ns > 0 and picked.usage.query_tokens > 0
        none = client.select("tools", "send an email", min_score=1.5, stage_one_only=True)
        assert len(none) == 0  # min_score is sent only when set: 1.5 keeps nothing, unset keeps all
        assert len(client.select("tools", "send an email", stage_one_only=True)) == 6
        info = client.get_catalog("tools")
        assert (info.size, info.version, info.model) == (6, out.version, "tiny-bi")
        assert [i.catalog for i in client.list_catalogs()] == ["tools"]
        assert client.delete_catalog("tools").size == 6
        with pytest.raises(CatalogNotFound) as err:
            client.select("tools", "x")
        assert err.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(CatalogNotFound):
            client.get_catalog("tools")


def test_errors_have_their_status(server):
    with Client(server.address, timeout=60) as client:
        with pytest.raises(InvalidRequest, match=r"candidates\[1\].id: required"):
            client.put_catalog("c", [{"id": "a", "text": "x"}, {"text": "no id"}])
        with pytest.raises(InvalidRequest, match="catalog: 'a b'"):
            client.put_catalog("a b", [{"id": "a", "text": "x"}])
        for name in ("c1", "c2", "c3", "c4", "c5"):
            client.put_catalog(name, [{"id": "a", "text": "x"}])
        with pytest.raises(Overloaded) as err:  # the client knows RESOURCE_EXHAUSTED as Overloaded
            client.put_catalog("c6", [{"id": "a", "text": "x"}])
        assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    with grpc.insecure_channel(server.address) as channel:
        stub = cpb_grpc.CatalogsStub(channel)
        with pytest.raises(grpc.RpcError) as rpc:
            stub.Select(cpb.SelectRequest(catalog="c1", query=""), timeout=30)
        assert rpc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "query: empty" in rpc.value.details()
        names = set(ProtoReflectionDescriptorDatabase(channel).get_services())
        assert "toolrank.v1.Catalogs" in names and "toolrank.v1.Reranker" in names


def test_batched_put_reports_progress_and_sums(server):
    seen = []
    with Client(server.address, timeout=60) as client:
        docs = [{"id": f"d{i}", "text": f"document {i}"} for i in range(25)]
        out = client.put_catalog("docs", docs, batch_size=10, progress=lambda a, b: seen.append((a, b)))
        assert seen == [(10, 25), (20, 25), (25, 25)]
        assert (out.size, out.added) == (25, 25)


def test_cli_put_select_list_delete(server, tmp_path, capsys):
    addr = ["--address", server.address]
    jsonl = tmp_path / "tools.jsonl"
    jsonl.write_text("\n".join(json.dumps({"tool": json.loads(c.content.json)}) for c in TOOLS))  # no ids: names
    assert main(["catalog", "put", "tools", str(jsonl), *addr]) == 0
    assert "6 candidates (added 6" in capsys.readouterr().out
    assert main(["catalog", "select", "tools", "translate this text", "--top-k", "2", "--stage-one-only", *addr]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("translate_text") and len(out.splitlines()) == 2
    assert main(["catalog", "select", "tools", "email", "--json", "--top-k", "1", *addr]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["results"][0]["candidate"]["tool"]["json"] and doc["version"]
    openapi = tmp_path / "openapi.json"
    openapi.write_text(json.dumps({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {
        "/pets": {"get": {"operationId": "listPets", "summary": "List all pets"},
                  "post": {"summary": "Create a pet"}}}}))
    assert main(["catalog", "put", "api", str(openapi), *addr]) == 0
    capsys.readouterr()
    schema = tmp_path / "schema.sql"
    schema.write_text("CREATE TABLE users (id INT, name TEXT);\nCREATE TABLE orders (id INT, user_id INT);")
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "mail.py").write_text("def send_mail(to, body):\n    return smtp.send(to, body)\n")
    (folder / "notes.md").write_text("how we deploy")
    assert main(["catalog", "put", "db", str(schema), *addr]) == 0
    assert main(["catalog", "put", "code", str(folder), *addr]) == 0
    capsys.readouterr()
    with Client(server.address) as client:
        assert set(client.select("api", "pets", stage_one_only=True).ids) == {"listPets", "POST /pets"}
        assert set(client.select("db", "users", stage_one_only=True).ids) == {"users", "orders"}
        assert set(client.select("code", "mail", stage_one_only=True).ids) == {"mail.py", "notes.md"}
    assert main(["catalog", "list", *addr]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("tools", "api", "code"))
    assert main(["catalog", "delete", "api", *addr]) == 0
    assert main(["catalog", "select", "api", "pets", *addr]) == 1
    assert "NOT_FOUND" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\nnot json\n')
    assert main(["catalog", "put", "x", str(bad), *addr]) == 1
    assert f"{bad}:2: not JSON" in capsys.readouterr().err


def test_done_when_bfcl_put_select_and_restart_without_reembedding(tmp_path):
    """The issue's check on the embedded model: put BFCL tools, select, restart on the store, same answer."""
    lines = (DATA / "tools-bfcl" / "corpus.jsonl").read_text().splitlines()
    subset = [ln for ln in lines if "flight" in ln.lower()] + lines[:60]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(dict.fromkeys(subset)))
    settings = replace(Settings(), store=f"sqlite:///{tmp_path}/store.sqlite3")
    first = ServerThread(settings).start()
    try:
        assert main(["catalog", "put", "tools", str(corpus), "--address", first.address]) == 0
        with Client(first.address, timeout=60) as client:
            before = client.select("tools", "book a flight to Paris", top_k=5, return_text=True)
    finally:
        first.stop()
    assert "flight" in before[0].text.lower() and "book" in before[0].text.lower()
    second = ServerThread(settings).start()
    try:
        with Client(second.address, timeout=60) as client:
            after = client.select("tools", "book a flight to Paris", top_k=5, return_text=True)
        assert second.running is not None and second.running.catalogs.embedded_texts == 0
    finally:
        second.stop()
    assert after.version == before.version
    assert [(h.id, h.score) for h in after] == [(h.id, h.score) for h in before]


def test_async_client_catalog_methods(server):
    import asyncio

    from toolrank.client import AsyncClient

    async def go():
        async with AsyncClient(server.address, timeout=60) as client:
            out = await client.put_catalog("a", [{"id": "x", "text": "alpha"}, {"id": "y", "text": "beta"}],
                                           batch_size=1)
            assert (out.size, out.added) == (2, 2)
            picked = await client.select("a", "alpha", top_k=1, stage_one_only=True)
            assert picked.ids == ["x"]
            assert (await client.get_catalog("a")).size == 2
            assert [i.catalog for i in await client.list_catalogs()] == ["a"]
            assert (await client.delete_catalog("a")).catalog == "a"
            with pytest.raises(CatalogNotFound):
                await client.select("a", "alpha")
            assert await client.health()  # the client's own methods still work beside the mixin

    asyncio.run(go())


def test_catalogs_need_the_bearer_token(tmp_path):
    server = ServerThread(tiny_settings(store="memory://", auth_tokens="s3cret"), http=True).start()
    try:
        with Client(server.address, timeout=30) as anonymous:
            with pytest.raises(Exception) as refused:
                anonymous.list_catalogs()
            assert getattr(refused.value, "code", None) == grpc.StatusCode.UNAUTHENTICATED
        with Client(server.address, timeout=30, token="s3cret") as client:
            client.put_catalog("c", [{"id": "a", "text": "alpha"}])
            assert client.select("c", "alpha").ids == ["a"]
        import http.client as hc
        from urllib.parse import urlparse

        parts = urlparse(server.http_url)
        conn = hc.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.request("GET", "/v1/catalogs/c")
        assert conn.getresponse().status == 401
        conn.close()
    finally:
        server.stop()
