"""End to end: the HTTP API on loopback, raw HTTP for every route and status, and real Cohere clients."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest

from toolrank.api.http_runner import HttpServer, create_http_server

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city",
                                             "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                            "required": ["city"]}}}
EMAIL = {"name": "send_email", "description": "Send an email message to a recipient",
         "input_schema": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}}}
DOCUMENTS: list[Any] = [
    EMAIL,
    WEATHER,
    {"code": "def add(a, b):\n    return a + b\n", "language": "python"},
    {"sql": "CREATE TABLE users (id INT, name TEXT)", "dialect": "sqlite"},
    "A recipe for chocolate cake.",
]
QUERY = "what is the weather in Paris"


def request(url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
            conn: http.client.HTTPConnection | None = None) -> tuple[int, dict[str, str], Any]:
    """One request; the body is JSON-encoded unless it is bytes; the reply decoded as JSON when it is."""
    parts = urlsplit(url)
    own = conn is None
    conn = conn or http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    try:
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        ctype = resp.getheader("Content-Type", "")
        value = json.loads(raw) if ctype.startswith("application/json") else raw.decode()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, value
    finally:
        if own:
            conn.close()


def raw_exchange(url: str, data: bytes, read_timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes (or the timeout)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=read_timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


@pytest.fixture(scope="module")
def url(default_server) -> str:
    return default_server.http_url


def test_rerank_v1_ranks_every_kind(url):
    status, headers, body = request(url, "POST", "/v1/rerank", {"query": QUERY, "documents": DOCUMENTS})
    assert status == 200 and headers["content-type"] == "application/json"
    results = body["results"]
    assert results[0]["index"] == 1  # the weather tool
    assert sorted(r["index"] for r in results) == [0, 1, 2, 3, 4]
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all("document" not in r for r in results)
    assert body["id"] and body["model"] == "default"
    assert body["meta"]["api_version"]["version"] == "1"
    assert body["meta"]["billed_units"]["search_units"] == 1
    assert body["meta"]["tokens"]["input_tokens"] == body["usage"]["total_tokens"] > 0


def test_return_documents_echoes_the_input(url):
    status, _, body = request(url, "POST", "/v2/rerank",
                              {"query": QUERY, "documents": DOCUMENTS, "top_n": 2, "return_documents": True})
    assert status == 200 and len(body["results"]) == 2
    assert body["meta"]["api_version"]["version"] == "2"
    assert body["results"][0]["document"] == WEATHER  # the caller's object, unchanged (no key added)
    status, _, body = request(url, "POST", "/v1/rerank",
                              {"query": "cake", "documents": ["chocolate cake", "tax law"], "return_documents": True})
    assert body["results"][0]["document"] == {"text": "chocolate cake"}


def test_rank_fields_pick_the_fields_of_plain_objects(url):
    docs = [{"title": "Weather in Paris", "body": "tax law and accounting"},
            {"title": "Tax law", "body": "the weather in Paris is sunny"}]
    results = {}
    for fields in (["title"], ["body"]):
        status, _, body = request(url, "POST", "/v1/rerank", {"query": QUERY, "documents": docs,
                                                              "rank_fields": fields, "return_documents": True})
        assert status == 200
        results[fields[0]] = body["results"]
    assert results["title"][0]["index"] == 0 and results["body"][0]["index"] == 1
    assert results["title"][0]["document"] == docs[0]  # returned as sent
    # a plain object without rank_fields: every field is rendered (title and body both count)
    status, _, body = request(url, "POST", "/v1/rerank", {"query": QUERY, "documents": docs, "return_documents": True})
    assert status == 200 and {r["index"] for r in body["results"]} == {0, 1}


def test_max_tokens_per_doc_truncates(url):
    long_doc = "unrelated words about gardening and soil. " * 20 + "The weather in Paris is sunny today."
    doc = {"query": QUERY, "documents": [long_doc, "a short note on cooking"]}
    _, _, full = request(url, "POST", "/v2/rerank", doc)
    _, _, capped = request(url, "POST", "/v2/rerank", {**doc, "max_tokens_per_doc": 8})
    assert capped["usage"]["total_tokens"] < full["usage"]["total_tokens"]
    score = {r["index"]: r["relevance_score"] for r in full["results"]}
    capped_score = {r["index"]: r["relevance_score"] for r in capped["results"]}
    # int8 dynamic quantization varies a little with the batch: compare within a tolerance
    assert capped_score[0] < score[0] - 0.1  # the relevant sentence at the end was cut off
    assert capped_score[1] == pytest.approx(score[1], abs=0.02)  # short enough: unchanged
    _, _, again = request(url, "POST", "/v2/rerank", doc)  # and the cache kept the full one apart
    assert {r["index"]: r["relevance_score"] for r in again["results"]}[0] == pytest.approx(score[0], abs=0.02)


def test_model_by_name_default_and_unknown(url):
    for model in ("all-MiniLM-L6-v2", "", None):
        status, _, _ = request(url, "POST", "/v1/rerank", {"model": model, "query": "q", "documents": ["d"]})
        assert status == 200
    status, _, body = request(url, "POST", "/v1/rerank", {"model": "nope", "query": "q", "documents": ["d"]})
    assert status == 400 and set(body) == {"message"}  # Cohere's error shape
    assert body["message"].startswith("model:") and "all-MiniLM-L6-v2" in body["message"]


@pytest.mark.parametrize("payload, status, field", [
    (b"{not json", 400, "body"),
    (b"[1, 2]", 400, "body"),
    (b"\xff\xfe", 400, "body"),
    ({"documents": ["d"]}, 422, "query"),
    ({"query": 5, "documents": ["d"]}, 422, "query"),
    ({"query": "q", "documents": {"a": "b"}}, 422, "documents"),
    ({"query": "q", "documents": ["d", 7]}, 422, "documents[1]"),
    ({"query": "q", "documents": [{"text": 3}]}, 422, "documents[0].text"),
    ({"query": "q", "documents": ["d"], "top_n": "2"}, 422, "top_n"),
    ({"query": "q", "documents": ["d"], "top_n": -1}, 422, "top_n"),
    ({"query": "q", "documents": ["d"], "return_documents": "yes"}, 422, "return_documents"),
    ({"query": "q", "documents": ["d"], "rank_fields": "title"}, 422, "rank_fields"),
    ({"query": "q", "documents": ["d"], "max_tokens_per_doc": 0}, 422, "max_tokens_per_doc"),
    ({"query": "q", "documents": [{"title": "t"}], "rank_fields": ["body"]}, 422, "documents[0]"),
    ({"query": "  ", "documents": ["d"]}, 400, "query"),
    ({"query": "q", "documents": []}, 400, "documents"),
    ({"query": "q", "documents": ["d", ""]}, 400, "documents[1]"),
    ({"query": "q", "documents": ["x"] * 1001}, 413, "documents"),
])
def test_rerank_errors_name_the_field(url, payload, status, field):
    got, _, body = request(url, "POST", "/v1/rerank", payload)
    assert got == status, body
    assert set(body) == {"message"}  # Cohere's error shape on the Cohere routes
    assert body["message"].startswith(field), body
    assert "Traceback" not in body["message"]


def test_routes_health_info_metrics(url):
    assert request(url, "GET", "/health")[::2] == (200, {"status": "serving"})
    status, _, info = request(url, "GET", "/info")
    assert status == 200 and info["default_model"] == "default" and info["version"]
    models = {m["name"]: m for m in info["models"]}
    assert models["default"]["kind"] == "ensemble" and models["default"]["is_default"]
    assert models["minilm-l6-tools-v1"]["kind"] == models["all-MiniLM-L6-v2"]["kind"] == "bi-encoder"
    status, headers, text = request(url, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE toolrank_requests_total counter" in text


def test_unknown_route_and_wrong_method(url):
    status, _, body = request(url, "GET", "/v3/rerank")
    assert status == 404 and body["error"]["type"] == "not_found"
    status, headers, body = request(url, "GET", "/v1/rerank")
    assert status == 405 and headers["allow"] == "POST" and body["message"].startswith("GET /v1/rerank")
    status, headers, _ = request(url, "POST", "/health", b"")
    assert status == 405 and headers["allow"] == "GET"


def test_framing_limits(url):
    status, _, body = request(url, "GET", "/health", headers={"X-Big": "a" * 20_000})
    assert status == 431 and body["error"]["type"] == "headers_too_large"
    status, _, _ = request(url, "GET", "/health", headers={f"X-H{i}": "v" for i in range(150)})
    assert status == 431
    # 413 is decided from Content-Length, before any of the body is read
    reply = raw_exchange(url, b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413 ") and b'{"message":"body: 99999999999 bytes' in reply
    # chunked bodies are read (and counted against the same limit as they stream in)
    reply = raw_exchange(url, b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                              b"Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 422 ") and b'"query: Field required' in reply
    # a POST with neither Content-Length nor chunked framing
    reply = raw_exchange(url, b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 411 ")
    assert raw_exchange(url, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw_exchange(url, b"GET /health HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 505 ")


def test_keep_alive_and_expect_continue(url):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        assert request(url, "GET", "/health", conn=conn)[0] == 200
        sock = conn.sock
        assert request(url, "POST", "/v1/rerank", {"query": "q", "documents": ["d"]}, conn=conn)[0] == 200
        assert request(url, "GET", "/nowhere", conn=conn)[0] == 404
        assert conn.sock is sock  # one connection served all three
    finally:
        conn.close()
    body = json.dumps({"query": "q", "documents": ["d"]}).encode()
    reply = raw_exchange(url, b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n"
                              b"Connection: close\r\n\r\n" % len(body) + body)
    assert reply.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")


@pytest.fixture()
def extra_http(default_server):
    """Another HTTP server on the same engine, with other settings; yields a factory."""
    servers: list[HttpServer] = []

    def make(**changes: Any) -> HttpServer:
        async def build() -> HttpServer:
            server = await create_http_server(replace(default_server.settings, **changes), default_server.engine)
            await server.start()
            return server

        server = asyncio.run_coroutine_threadsafe(build(), default_server.loop).result(timeout=30)
        servers.append(server)
        return server

    yield make
    for server in servers:
        asyncio.run_coroutine_threadsafe(server.stop(0.1), default_server.loop).result(timeout=30)


def test_slow_and_idle_clients_time_out(extra_http):
    server = extra_http(http_read_timeout_s=0.3)
    url = f"http://127.0.0.1:{server.port}"
    reply = raw_exchange(url, b"POST /v1/rerank HTTP/1.1\r\nContent-Length: 10\r\n")  # head never ends
    assert reply.startswith(b"HTTP/1.1 408 ")
    reply = raw_exchange(url, b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}")  # short body
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert raw_exchange(url, b"") == b""  # idle: closed quietly


def test_health_503_while_draining(extra_http):
    server = extra_http()
    server.draining = True
    url = f"http://127.0.0.1:{server.port}"
    assert request(url, "GET", "/health")[::2] == (503, {"status": "not_serving"})


def test_bearer_tokens_guard_every_route_but_health(extra_http):
    server = extra_http(auth_tokens="s3cret")
    url = f"http://127.0.0.1:{server.port}"
    assert request(url, "GET", "/health")[0] == 200
    status, headers, body = request(url, "POST", "/v1/rerank", {"query": "q", "documents": ["d"]})
    assert status == 401 and headers["www-authenticate"] == "Bearer" and "bearer token" in body["message"]
    assert request(url, "GET", "/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401
    status, _, _ = request(url, "POST", "/v1/rerank", {"query": "q", "documents": ["d"]},
                           headers={"Authorization": "Bearer s3cret"})
    assert status == 200


# -- real clients ------------------------------------------------------------------------------------------------


def test_cohere_sdk_v1(url):
    cohere = pytest.importorskip("cohere")
    client = cohere.Client(base_url=url, api_key="unused")
    resp = client.rerank(query=QUERY, documents=["A recipe for chocolate cake.", "Sunny weather in Paris today."],
                         top_n=2, return_documents=True)
    assert [r.index for r in resp.results] == [1, 0]
    assert resp.results[0].document.text == "Sunny weather in Paris today."
    assert 0 < resp.results[0].relevance_score <= 1
    assert resp.meta.billed_units.search_units == 1


def test_cohere_sdk_v2_and_errors(url):
    cohere = pytest.importorskip("cohere")
    client = cohere.ClientV2(base_url=url, api_key="unused")
    resp = client.rerank(model="all-MiniLM-L6-v2", query=QUERY, top_n=1, max_tokens_per_doc=64,
                         documents=["A recipe for chocolate cake.", "Sunny weather in Paris today."])
    assert [r.index for r in resp.results] == [1]
    assert resp.meta.tokens.input_tokens > 0
    with pytest.raises(cohere.BadRequestError) as err:
        client.rerank(model="rerank-english-v3.0", query=QUERY, documents=["x"])
    assert err.value.status_code == 400 and err.value.body["message"].startswith("model:")


def test_langchain_cohere_rerank(url):
    pytest.importorskip("langchain_cohere", reason="pip install -e '.[test-langchain]' (langchain-cohere needs cohere<6)")
    from langchain_cohere import CohereRerank
    from langchain_core.documents import Document

    reranker = CohereRerank(base_url=url, cohere_api_key="unused", model="all-MiniLM-L6-v2", top_n=1)
    docs = [Document(page_content="A recipe for chocolate cake."), Document(page_content="Sunny weather in Paris.")]
    (best,) = reranker.compress_documents(docs, QUERY)
    assert best.page_content == "Sunny weather in Paris." and best.metadata["relevance_score"] > 0


def test_connections_have_tcp_nodelay(default_server, url):
    """Without TCP_NODELAY, Nagle and delayed ACKs added ~40 ms to every warm W1 request (the listening
    socket must be created with proto IPPROTO_TCP for asyncio to set it)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        assert request(url, "GET", "/health", conn=conn)[0] == 200
        server = default_server.http.server
        flags = [c.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                 for c in list(server.server_state.connections)]
        assert flags and all(flags)
    finally:
        conn.close()
