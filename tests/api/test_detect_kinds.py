"""Strings that are tool schemas, SQL or code rank like their typed versions (HTTP by default, gRPC on request)."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest

from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city",
                                             "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                            "required": ["city"]}}}
DDL = ("CREATE TABLE weather_reports (report_id INTEGER PRIMARY KEY, city_name TEXT, temperature_celsius REAL,"
       " observed_at TIMESTAMP); COMMENT ON TABLE weather_reports IS 'hourly observations per city';")
CODE = ("import requests\n\n\ndef fetchCityWeather(city):\n    \"\"\"Return the current weather of a city.\"\"\"\n"
        "    # the public API needs no key\n    return requests.get(f'https://wttr.in/{city}?format=j1').json()\n")
PROSE = "A recipe for chocolate cake with a rich ganache."
QUERY = "current weather in Paris"
NOISE = 0.01  # int8 batch noise on a score (bench/batch_noise.py); a kind read as text moves it far more
TYPED: list[Any] = [{"tool": WEATHER}, {"sql": DDL}, {"code": CODE, "language": "python"}, {"text": PROSE}]
STRINGS: list[Any] = [json.dumps(WEATHER), DDL, CODE, PROSE]


def _post(url: str, body: Any) -> dict:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", "/v2/rerank", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = json.loads(resp.read())
        assert resp.status == 200, data
        return data
    finally:
        conn.close()


def _scores(body: dict) -> dict[int, float]:
    return {r["index"]: r["relevance_score"] for r in body["results"]}


def test_http_string_documents_rank_like_typed_ones(default_server):
    url = default_server.http_url
    _post(url, {"query": QUERY, "documents": TYPED})  # caches the candidates: the query is embedded alone below
    typed = _scores(_post(url, {"query": QUERY, "documents": TYPED}))
    strings = _scores(_post(url, {"query": QUERY, "documents": STRINGS}))
    cohere_v1 = _scores(_post(url, {"query": QUERY, "documents": [{"text": s} for s in STRINGS]}))
    for i in range(len(TYPED)):  # the same normalized texts: the cached embeddings, the same scores
        assert strings[i] == pytest.approx(typed[i], abs=1e-5)
        assert cohere_v1[i] == pytest.approx(typed[i], abs=1e-5)
    assert sorted(strings, key=strings.get) == sorted(typed, key=typed.get)
    # asked not to detect, the strings are plain text again and score differently
    plain = _scores(_post(url, {"query": QUERY, "documents": STRINGS, "detect_kinds": False}))
    assert any(abs(plain[i] - typed[i]) > 5 * NOISE for i in range(3))


def test_http_lexical_weight_is_a_number_in_range(default_server):
    url = default_server.http_url
    parts = urlsplit(url)
    for value, status in ((-1, 400), ("0.2", 422), (True, 422), (11, 400)):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.request("POST", "/v2/rerank", body=json.dumps({"query": QUERY, "documents": STRINGS,
                                                             "lexical_weight": value}).encode())
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        assert resp.status == status and "lexical_weight" in json.dumps(body)


def _grpc_request(detect: bool, typed: bool) -> pb.RerankRequest:
    if typed:
        cands = [pb.Candidate(id="tool", tool=pb.Tool(json=json.dumps(WEATHER))),
                 pb.Candidate(id="sql", sql=pb.Sql(text=DDL)),
                 pb.Candidate(id="code", code=pb.Code(language="python", source=CODE)),
                 pb.Candidate(id="text", text=PROSE)]
    else:
        cands = [pb.Candidate(id=i, text=t) for i, t in zip(("tool", "sql", "code", "text"), STRINGS)]
    return pb.RerankRequest(query=QUERY, candidates=cands, detect_kinds=detect)


def test_grpc_text_stays_text_unless_the_request_asks_for_auto(channel: grpc.Channel):
    stub = pb_grpc.RerankerStub(channel)
    stub.Rerank(_grpc_request(False, True), timeout=60)  # caches the candidates: the query is embedded alone below
    typed = {r.id: r.score for r in stub.Rerank(_grpc_request(False, True), timeout=60).results}
    auto = {r.id: r.score for r in stub.Rerank(_grpc_request(True, False), timeout=60).results}
    text = {r.id: r.score for r in stub.Rerank(_grpc_request(False, False), timeout=60).results}
    for key in typed:
        assert auto[key] == pytest.approx(typed[key], abs=1e-5)
    assert any(abs(text[k] - typed[k]) > 5 * NOISE for k in ("tool", "sql", "code"))

    norm = stub.Normalize(pb.NormalizeRequest(candidates=_grpc_request(True, False).candidates, detect_kinds=True),
                          timeout=60)
    details = [c.detail for c in norm.candidates]
    assert details[0].startswith("auto: tool") and details[1].startswith("auto: sql")
    assert details[2].startswith("auto: code, python") and details[3] == "auto: text"


def test_grpc_lexical_weight_changes_scores_and_is_validated(channel: grpc.Channel):
    stub = pb_grpc.RerankerStub(channel)
    request = _grpc_request(False, True)
    base = {r.id: r.score for r in stub.Rerank(request, timeout=60).results}
    request.raw_scores = True  # the default stack fuses a mixed request on z-scores: compare on the raw scale
    request.lexical_weight = 0.0
    zero = {r.id: r.score for r in stub.Rerank(request, timeout=60).results}
    request.lexical_weight = 0.5
    fused = {r.id: r.score for r in stub.Rerank(request, timeout=60).results}
    assert any(abs(fused[k] - zero[k]) > 1e-3 for k in zero)
    # the lexical term is z-scored over the request: it adds nothing on average
    assert sum(fused.values()) == pytest.approx(sum(zero.values()), abs=1e-4)
    assert set(base) == set(zero)
    request.lexical_weight = -0.5
    with pytest.raises(grpc.RpcError) as err:
        stub.Rerank(request, timeout=60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "lexical_weight" in err.value.details()
