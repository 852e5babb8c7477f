"""The Prometheus registry's text format, and the toolrank families after real gRPC and HTTP traffic."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import grpc
import pytest

from toolrank.metrics import Registry
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc


def test_text_format_counters_gauges_histograms():
    r = Registry()
    c = r.counter("t_requests_total", "Requests.", ("method", "status"))
    c.inc(method="/a", status="200")
    c.inc(2, method="/a", status="200")
    c.inc(method='we"ird\\\n', status="500")
    r.gauge("t_depth", "Depth.", (), lambda: 7)
    r.gauge("t_per_model", "Per model.", ("model",), lambda: {("m1",): 1.5})
    h = r.histogram("t_seconds", "Latency.", ("stage",), buckets=(0.1, 1.0))
    for v in (0.05, 0.5, 0.5, 3.0):
        h.observe(v, stage="total")
    text = r.render()
    assert text.endswith("\n")
    assert "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n" in text
    assert 't_requests_total{method="/a",status="200"} 3\n' in text
    assert 't_requests_total{method="we\\"ird\\\\\\n",status="500"} 1\n' in text
    assert "# TYPE t_depth gauge\nt_depth 7\n" in text
    assert 't_per_model{model="m1"} 1.5\n' in text
    assert "# TYPE t_seconds histogram\n" in text
    assert 't_seconds_bucket{stage="total",le="0.1"} 1\n' in text
    assert 't_seconds_bucket{stage="total",le="1"} 3\n' in text  # cumulative
    assert 't_seconds_bucket{stage="total",le="+Inf"} 4\n' in text
    assert 't_seconds_sum{stage="total"} 4.05\n' in text
    assert 't_seconds_count{stage="total"} 4\n' in text
    assert c.value(method="/a", status="200") == 3 and h.count(stage="total") == 4


def test_labels_must_match_and_names_are_unique():
    r = Registry()
    c = r.counter("x_total", "X.", ("a",))
    with pytest.raises(ValueError):
        c.inc(b="1")
    with pytest.raises(ValueError):
        r.gauge("x_total", "again")


def _samples(text: str) -> dict[str, float]:
    """Each sample line as {"name{labels}": value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def _sum(samples: dict[str, float], pattern: str) -> float:
    rx = re.compile(pattern)
    return sum(v for k, v in samples.items() if rx.fullmatch(k))


def test_families_count_grpc_and_http_traffic(default_server, channel):
    stub = pb_grpc.RerankerStub(channel)
    request = pb.RerankRequest(query="weather in Paris", candidates=[
        pb.Candidate(tool=pb.Tool(json=json.dumps({"name": "get_weather", "description": "Weather for a city"}))),
        pb.Candidate(text="A recipe for chocolate cake."),
        pb.Candidate(tool=pb.Tool(json="{not json")),  # a normalizer fallback
    ])
    stub.Rerank(request, timeout=30)
    stub.Rerank(request, timeout=30)  # the second one hits the caches
    with pytest.raises(grpc.RpcError):
        stub.Rerank(pb.RerankRequest(query="q"), timeout=30)
    url = default_server.http_url
    body = json.dumps({"query": "weather", "documents": ["sunny in Paris", "cake"]}).encode()
    urllib.request.urlopen(urllib.request.Request(url + "/v1/rerank", data=body, method="POST"), timeout=30).read()
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(urllib.request.Request(url + "/v1/rerank", data=b"{", method="POST"), timeout=30)

    with urllib.request.urlopen(url + "/metrics", timeout=30) as resp:
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = resp.read().decode()
    s = _samples(text)
    rerank = 'method="/toolrank.v1.Reranker/Rerank"'
    assert s[f'toolrank_requests_total{{transport="grpc",{rerank},status="OK"}}'] >= 2
    assert s[f'toolrank_requests_total{{transport="grpc",{rerank},status="INVALID_ARGUMENT"}}'] >= 1
    assert s['toolrank_requests_total{transport="http",method="/v1/rerank",status="200"}'] >= 1
    assert s['toolrank_requests_total{transport="http",method="/v1/rerank",status="400"}'] >= 1
    assert s[f'toolrank_request_duration_seconds_count{{transport="grpc",{rerank}}}'] >= 3
    for stage in ("normalize", "tokenize", "queue", "inference", "total"):
        assert s[f'toolrank_rerank_stage_seconds_count{{model="all-MiniLM-L6-v2",stage="{stage}"}}'] >= 3
    assert s['toolrank_rerank_tokens_total{model="all-MiniLM-L6-v2",kind="query"}'] > 0
    assert s['toolrank_rerank_tokens_total{model="all-MiniLM-L6-v2",kind="candidate"}'] > 0
    assert s['toolrank_rerank_candidates_total{model="all-MiniLM-L6-v2"}'] >= 8
    assert s['toolrank_batch_size_count{model="all-MiniLM-L6-v2"}'] >= 3
    assert s['toolrank_batch_tokens_total{model="all-MiniLM-L6-v2",kind="padded"}'] >= \
        s['toolrank_batch_tokens_total{model="all-MiniLM-L6-v2",kind="real"}'] > 0
    assert s['toolrank_queued_tokens{model="all-MiniLM-L6-v2"}'] == 0
    assert s["toolrank_inflight_requests"] == 0 and s["toolrank_ready"] == 1
    assert s["toolrank_normalize_fallbacks_total"] >= 2
    assert s['toolrank_cache_hits_total{cache="normalized",model=""}'] >= 3
    assert s['toolrank_cache_misses_total{cache="normalized",model=""}'] >= 3
    assert _sum(s, r'toolrank_cache_hits_total\{cache="(tokens|embeddings)",.*') > 0
    assert s['toolrank_cache_entries{cache="embeddings",model="all-MiniLM-L6-v2"}'] > 0
