"""A 20,000-character request is answered over gRPC, HTTP (Cohere/Jina) and TEI's body; truncation is reported.

Agents paste logs and earlier turns: the query is cut to the model's window, keeping the request
(engine/query_window.py), and ``usage.query_truncated`` says so. TEI's ``"truncate": false`` refuses
such a query with 413, as TEI does.
"""

from __future__ import annotations

from conftest import ServerThread
from test_http import WEATHER, request
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

PASTE = "\n".join(f"2026-12-05 13:{i % 60:02d}:07 WARN gateway upstream latency {i} ms on /api/v1/orders/{i}"
                  for i in range(400))
ASK = "Thanks. Now what is the weather in Paris tomorrow?"
LONG_QUERY = (PASTE + "\n" + ASK)[-20_000:]
DOCS = ["A recipe for chocolate cake.", "Send an email message to a recipient", WEATHER]


def test_the_long_query_is_20000_characters():
    assert len(LONG_QUERY) == 20_000 and LONG_QUERY.endswith(ASK)


def test_grpc_answers_a_20000_character_query(channel):
    stub = pb_grpc.RerankerStub(channel)
    cands = [pb.Candidate(id="cake", text=DOCS[0]), pb.Candidate(id="mail", text=DOCS[1]),
             pb.Candidate(id="weather", text="get_weather: Get the current weather for a city")]
    resp = stub.Rerank(pb.RerankRequest(query=LONG_QUERY, candidates=cands), timeout=60)
    assert [r.id for r in resp.results][0] == "weather"
    assert resp.usage.query_truncated and resp.usage.truncated >= 1
    short = stub.Rerank(pb.RerankRequest(query=ASK, candidates=cands), timeout=60)
    assert not short.usage.query_truncated


def test_http_answers_a_20000_character_query(default_server: ServerThread):
    status, _, body = request(default_server.http_url, "POST", "/v1/rerank",
                              {"query": LONG_QUERY, "documents": DOCS})
    assert status == 200, body
    assert body["results"][0]["index"] == 2
    assert body["usage"]["query_truncated"] is True
    status, _, body = request(default_server.http_url, "POST", "/v2/rerank", {"query": ASK, "documents": DOCS})
    assert status == 200 and body["usage"]["query_truncated"] is False


def test_tei_body_answers_a_20000_character_query_with_truncate(default_server: ServerThread):
    texts = [d if isinstance(d, str) else "get_weather: Get the current weather for a city" for d in DOCS]
    for truncate in (True, None):
        payload = {"query": LONG_QUERY, "texts": texts, **({} if truncate is None else {"truncate": truncate})}
        status, headers, body = request(default_server.http_url, "POST", "/rerank", payload)
        assert status == 200, body
        assert body[0]["index"] == 2
        assert headers["x-query-truncated"] == "true"


def test_tei_truncate_false_refuses_a_query_over_the_window(default_server: ServerThread):
    status, _, body = request(default_server.http_url, "POST", "/rerank",
                              {"query": LONG_QUERY, "texts": ["a", "b"], "truncate": False})
    assert status == 413
    assert body["error_type"] == "Validation" and "query: over the" in body["error"]
    status, headers, _ = request(default_server.http_url, "POST", "/rerank",
                                 {"query": ASK, "texts": ["a", "b"], "truncate": False})
    assert status == 200 and headers["x-query-truncated"] == "false"
