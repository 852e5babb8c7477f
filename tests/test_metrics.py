"""Prometheus metrics (prometheus-client) after real gRPC and HTTP traffic, read back with its own parser."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from toolrank.api.metrics import Metrics
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc


def test_families_without_an_engine_and_label_checks():
    m = Metrics()
    m.observe_request("http", "/v1/rerank", "200", 0.5)
    m.observe_request("http", "/v1/rerank", "200", 3.0)
    families = {f.name: f for f in text_string_to_metric_families(m.render().decode())}
    requests = families["toolrank_requests"]  # the parser drops the counter's _total suffix
    assert requests.type == "counter"
    (sample,) = [s for s in requests.samples if s.name == "toolrank_requests_total"]
    assert sample.labels == {"transport": "http", "method": "/v1/rerank", "status": "200"} and sample.value == 2
    hist = families["toolrank_request_duration_seconds"]
    buckets = {s.labels["le"]: s.value for s in hist.samples if s.name.endswith("_bucket")}
    assert buckets["0.5"] == 1 and buckets["+Inf"] == 2  # cumulative
    with pytest.raises(ValueError):
        m.requests.labels("http", "/x")  # a missing label


_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _key(name: str, labels: dict[str, str]) -> str:
    return name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")


class _Samples(dict):
    """Samples by ``name{labels}``, read with prometheus_client's parser; label order does not matter."""

    def __getitem__(self, key: str) -> float:
        name, _, rest = key.partition("{")
        return super().__getitem__(_key(name, dict(_LABEL.findall(rest))))


def _samples(text: str) -> _Samples:
    out = _Samples()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[_key(sample.name, sample.labels)] = sample.value
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
    # prometheus_client's own parser reads every family back, with the documented types
    types = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert types["toolrank_requests"] == types["toolrank_cache_hits"] == "counter"
    assert types["toolrank_request_duration_seconds"] == types["toolrank_batch_size"] == "histogram"
    assert types["toolrank_queued_tokens"] == types["toolrank_ready"] == types["toolrank_cache_entries"] == "gauge"
    rerank = 'method="/toolrank.v1.Reranker/Rerank"'
    assert s[f'toolrank_requests_total{{transport="grpc",{rerank},status="OK"}}'] >= 2
    assert s[f'toolrank_requests_total{{transport="grpc",{rerank},status="INVALID_ARGUMENT"}}'] >= 1
    assert s['toolrank_requests_total{transport="http",method="/v1/rerank",status="200"}'] >= 1
    assert s['toolrank_requests_total{transport="http",method="/v1/rerank",status="400"}'] >= 1
    assert s[f'toolrank_request_duration_seconds_count{{transport="grpc",{rerank}}}'] >= 3
    # reranks are labelled with the model that answered (the default server's stack answers as "default"),
    # batches with the model that ran them
    for stage in ("normalize", "tokenize", "queue", "inference", "total"):
        assert _sum(s, rf'toolrank_rerank_stage_seconds_count\{{model="[^"]+",stage="{stage}"\}}') >= 3
    assert _sum(s, r'toolrank_rerank_tokens_total\{kind="query",model="[^"]+"\}') > 0
    assert _sum(s, r'toolrank_rerank_tokens_total\{kind="candidate",model="[^"]+"\}') > 0
    assert _sum(s, r'toolrank_rerank_candidates_total\{model="[^"]+"\}') >= 8
    assert _sum(s, r'toolrank_batch_size_count\{model="[^"]+"\}') >= 3
    assert s['toolrank_batch_tokens_total{model="all-MiniLM-L6-v2",kind="padded"}'] >= \
        s['toolrank_batch_tokens_total{model="all-MiniLM-L6-v2",kind="real"}'] > 0
    assert s['toolrank_queued_tokens{model="all-MiniLM-L6-v2"}'] == 0
    assert s["toolrank_inflight_requests"] == 0 and s["toolrank_ready"] == 1
    assert s["toolrank_normalize_fallbacks_total"] >= 2
    assert s['toolrank_cache_hits_total{cache="normalized",model=""}'] >= 3
    assert s['toolrank_cache_misses_total{cache="normalized",model=""}'] >= 3
    assert _sum(s, r'toolrank_cache_hits_total\{cache="(tokens|embeddings)",.*') > 0
    assert not any("_created" in k for k in s)  # the documented families only
    assert s['toolrank_cache_entries{cache="embeddings",model="all-MiniLM-L6-v2"}'] > 0
