"""The dialects clients send: TEI's /rerank (a TEI-style httpx client), /v1/models, model aliases over
HTTP (the Cohere SDK with a hard-coded model name) and gRPC, OpenAPI, and big bodies parsed off the loop."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from typing import Any, Iterator

import grpc
import httpx
import pytest

from conftest import ServerThread
from toolrank.api import http_app
from toolrank.settings import Settings
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

QUERY = "what is the weather in Paris"
TEXTS = ["A recipe for chocolate cake.", "Sunny weather in Paris today.", "Tax law for small firms."]


@pytest.fixture(scope="module")
def aliased() -> Iterator[ServerThread]:
    settings = Settings(model_aliases=(("rerank-v3.5", "default"), ("jina-reranker-v2-base-multilingual",
                                                                     "all-MiniLM-L6-v2")))
    server = ServerThread(settings, http=True).start()
    yield server
    server.stop()


def test_tei_body_and_answer_shape(default_server):
    # what a TEI client sends: text-embeddings-inference's /rerank body, plain httpx
    with httpx.Client(base_url=default_server.http_url, timeout=30) as client:
        resp = client.post("/rerank", json={"query": QUERY, "texts": TEXTS, "return_text": True,
                                            "truncate": True, "truncation_direction": "Right"})
        assert resp.status_code == 200
        ranks = resp.json()
        assert isinstance(ranks, list) and [r["index"] for r in ranks][0] == 1
        assert set(ranks[0]) == {"index", "score", "text"} and ranks[0]["text"] == TEXTS[1]
        scores = [r["score"] for r in ranks]
        assert scores == sorted(scores, reverse=True)
        plain = client.post("/rerank", json={"query": QUERY, "texts": TEXTS}).json()
        assert all(set(r) == {"index", "score"} for r in plain)  # no text unless asked for
        raw = client.post("/rerank", json={"query": QUERY, "texts": TEXTS, "raw_scores": True}).json()
        assert {r["index"] for r in raw} == {0, 1, 2}


@pytest.mark.parametrize("payload, status, field", [
    ({"query": QUERY}, 422, "texts"),
    ({"query": QUERY, "texts": ["a", 3]}, 422, "texts[1]"),
    ({"query": QUERY, "texts": ["a"], "truncation_direction": "Left"}, 422, "truncation_direction"),
    ({"query": QUERY, "texts": ["a", ""]}, 400, "texts[1]"),
])
def test_tei_errors_have_tei_shape(default_server, payload, status, field):
    resp = httpx.post(default_server.http_url + "/rerank", json=payload, timeout=30)
    assert resp.status_code == status
    body = resp.json()
    assert set(body) == {"error", "error_type"} and body["error"].startswith(field), body
    assert body["error_type"] == "Validation"


def test_models_list_and_info_show_aliases(aliased):
    models = httpx.get(aliased.http_url + "/v1/models", timeout=30).json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["all-MiniLM-L6-v2", "minilm-l6-tools-v1", "default",
                                                 "jina-reranker-v2-base-multilingual", "rerank-v3.5"]
    assert all(m["object"] == "model" for m in models["data"])
    info = httpx.get(aliased.http_url + "/info", timeout=30).json()
    assert info["aliases"] == {"jina-reranker-v2-base-multilingual": "all-MiniLM-L6-v2",
                               "rerank-v3.5": "default"}


def test_cohere_sdk_with_a_hard_coded_model_name(aliased):
    cohere = pytest.importorskip("cohere")
    client = cohere.ClientV2(base_url=aliased.http_url, api_key="unused")
    resp = client.rerank(model="rerank-v3.5", query=QUERY, documents=TEXTS, top_n=1)
    assert [r.index for r in resp.results] == [1]
    with pytest.raises(cohere.BadRequestError) as err:
        client.rerank(model="rerank-english-v2.0", query=QUERY, documents=TEXTS)
    assert ("'rerank-english-v2.0' is not served (served: all-MiniLM-L6-v2, default, minilm-l6-tools-v1)"
            in err.value.body["message"])


def test_aliases_work_over_grpc_too(aliased):
    with grpc.insecure_channel(aliased.address) as channel:
        stub = pb_grpc.RerankerStub(channel)
        resp = stub.Rerank(pb.RerankRequest(query=QUERY, model="jina-reranker-v2-base-multilingual",
                                            candidates=[pb.Candidate(text=t) for t in TEXTS]), timeout=30)
        assert resp.model == "all-MiniLM-L6-v2" and resp.results[0].index == 1


def test_documents_come_back_unchanged(default_server):
    docs: list[Any] = ["plain", {"text": "Sunny in Paris", "id": "d1", "meta": {"k": [1, 2]}},
                       {"title": "Weather", "body": "rain"}]
    body = httpx.post(default_server.http_url + "/v2/rerank", timeout=30,
                      json={"query": QUERY, "documents": docs, "return_documents": True}).json()
    echoed = {r["index"]: r["document"] for r in body["results"]}
    assert echoed == {0: {"text": "plain"}, 1: docs[1], 2: docs[2]}


def test_openapi_describes_every_route(default_server):
    spec = httpx.get(default_server.http_url + "/openapi.json", timeout=30).json()
    paths = spec["paths"]
    for path, method in (("/v1/rerank", "post"), ("/v2/rerank", "post"), ("/rerank", "post"),
                         ("/v1/models", "get"), ("/health", "get"), ("/info", "get"), ("/metrics", "get")):
        assert method in paths[path], path
    cohere_body = paths["/v1/rerank"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"query", "documents", "top_n", "return_documents", "rank_fields", "max_tokens_per_doc"} <= \
        set(cohere_body["properties"]) and cohere_body["required"] == ["query", "documents"]
    tei_body = paths["/rerank"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"query", "texts", "raw_scores", "return_text", "truncate", "truncation_direction"} <= \
        set(tei_body["properties"])
    assert "RerankAnswer" in spec["components"]["schemas"]
    docs = httpx.get(default_server.http_url + "/docs", timeout=30)
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert "cdn" not in docs.text.lower() and "/docs-assets/swagger-ui-bundle.js" in docs.text  # no CDN
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        got = httpx.get(f"{default_server.http_url}/docs-assets/{asset}", timeout=30)
        assert got.status_code == 200 and len(got.content) > 100_000


def test_big_bodies_are_parsed_off_the_event_loop(default_server, monkeypatch):
    threads: list[threading.Thread] = []
    parse = http_app._parse

    def spy(raw: bytes, model: Any) -> Any:
        threads.append(threading.current_thread())
        return parse(raw, model)

    monkeypatch.setattr(http_app, "_parse", spy)
    loop_thread = default_server._thread
    small = {"query": QUERY, "documents": TEXTS}
    big = {"query": QUERY, "documents": TEXTS + ["filler " * 2000] * 10}  # ~140 KB
    for payload in (small, big):
        assert httpx.post(default_server.http_url + "/v1/rerank", json=payload, timeout=60).status_code == 200
    assert threads[0] is loop_thread and threads[1] is not loop_thread


def test_app_factory_takes_extra_routers(default_server):
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/v1/extra")
    async def extra() -> dict[str, str]:
        return {"ok": "yes"}

    async def build() -> Any:
        from toolrank.api.http_runner import create_http_server

        server = await create_http_server(replace(default_server.settings, auth_tokens="t0k"),
                                          default_server.engine, routers=[router])
        await server.start()
        return server

    server = asyncio.run_coroutine_threadsafe(build(), default_server.loop).result(timeout=30)
    try:
        url = f"http://127.0.0.1:{server.port}/v1/extra"
        assert httpx.get(url, timeout=30).status_code == 401  # the guard covers plugged-in routes
        assert httpx.get(url, headers={"Authorization": "Bearer t0k"}, timeout=30).json() == {"ok": "yes"}
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(0.1), default_server.loop).result(timeout=30)


def test_aliases_and_otlp_endpoint_from_flags_and_environment():
    from toolrank.cli import _settings, build_parser
    from toolrank.errors import ConfigError
    from toolrank.settings import settings_from

    args = build_parser().parse_args(["serve", "--model-alias", "rerank-v3.5=default", "--model-alias", "b=m",
                                      "--otlp-endpoint", "http://collector:4317"])
    flags = _settings(args)
    assert flags.model_aliases == (("rerank-v3.5", "default"), ("b", "m"))
    assert flags.otlp_endpoint == "http://collector:4317"
    env = settings_from({}, env={"TOOLRANK_MODEL_ALIAS": "a=default, b = m", "TOOLRANK_OTLP_ENDPOINT": "x"})
    assert env.model_aliases == (("a", "default"), ("b", "m")) and env.otlp_endpoint == "x"
    with pytest.raises(ConfigError, match="expected ALIAS=MODEL"):
        settings_from({"model_aliases": ["nope"]}, env={})
