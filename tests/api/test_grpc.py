"""End to end: the real server on loopback, every RPC, health, reflection, validation."""

from __future__ import annotations

import json

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city",
                                             "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                            "required": ["city"]}}}
EMAIL = {"name": "send_email", "description": "Send an email message to a recipient",
         "input_schema": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}}}


def _request(**kw) -> pb.RerankRequest:
    base = dict(
        query="what is the weather in Paris",
        candidates=[
            pb.Candidate(id="email", tool=pb.Tool(json=json.dumps(EMAIL))),
            pb.Candidate(id="weather", tool=pb.Tool(json=json.dumps(WEATHER))),
            pb.Candidate(id="code", code=pb.Code(language="python", source="def add(a, b):\n    return a + b\n")),
            pb.Candidate(id="sql", sql=pb.Sql(dialect="sqlite", text="CREATE TABLE users (id INT, name TEXT)")),
            pb.Candidate(id="text", text="A recipe for chocolate cake."),
        ],
    )
    base.update(kw)
    return pb.RerankRequest(**base)


def test_rerank_ranks_sorted_with_usage_and_timing(channel):
    resp = pb_grpc.RerankerStub(channel).Rerank(_request(return_text=True), timeout=30)
    assert resp.results[0].id == "weather"
    scores = [r.score for r in resp.results]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r.index for r in resp.results) == [0, 1, 2, 3, 4]
    assert all(r.text for r in resp.results)
    assert "get_weather" in resp.results[0].text and "{" not in resp.results[0].text
    assert resp.usage.query_tokens > 0 and resp.usage.candidate_tokens > 0
    assert resp.usage.windows >= 5
    # a mixed request runs both bundled models at once; inference adds the two models' work
    assert 2 * resp.timing.total_ns >= resp.timing.inference_ns > 0
    assert resp.model == "default"  # the default stack (both bundled models), served as the ensemble "default"


def test_top_n_and_text_off(channel):
    resp = pb_grpc.RerankerStub(channel).Rerank(_request(top_n=2), timeout=30)
    assert len(resp.results) == 2
    assert all(r.text == "" for r in resp.results)


def test_repeat_request_hits_the_cache(channel):
    stub = pb_grpc.RerankerStub(channel)
    first = stub.Rerank(_request(), timeout=30)
    again = stub.Rerank(_request(), timeout=30)
    assert again.usage.cache_hits == 5
    assert [r.index for r in again.results] == [r.index for r in first.results]
    assert [round(r.score, 5) for r in again.results] == [round(r.score, 5) for r in first.results]


def test_normalize_rpc(channel):
    resp = pb_grpc.RerankerStub(channel).Normalize(
        pb.NormalizeRequest(candidates=_request().candidates), timeout=30)
    kinds = [c.kind for c in resp.candidates]
    assert kinds == ["tool", "tool", "code", "sql", "text"]
    tool = resp.candidates[1]
    assert "get_weather" in tool.text and tool.tokens < tool.raw_tokens


def test_info_rpc(channel):
    resp = pb_grpc.RerankerStub(channel).Info(pb.InfoRequest(), timeout=10)
    assert resp.default_model == "default"
    models = {m.name: m for m in resp.models}
    assert set(models) == {"all-MiniLM-L6-v2", "minilm-l6-tools-v1", "default"}
    for name in ("all-MiniLM-L6-v2", "minilm-l6-tools-v1"):
        model = models[name]
        assert model.kind == "bi-encoder" and model.max_length == 256 and model.family == "bert"
        assert not model.is_default
    assert models["default"].kind == "ensemble" and models["default"].is_default


def test_health_serving(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "toolrank.v1.Reranker"):
        resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_services(channel):
    db = ProtoReflectionDescriptorDatabase(channel)
    services = set(db.get_services())
    assert {"toolrank.v1.Reranker", "grpc.health.v1.Health"} <= services
    desc = db.FindFileContainingSymbol("toolrank.v1.Reranker")
    assert desc.package == "toolrank.v1"


@pytest.mark.parametrize(
    "request_kw, fragment",
    [
        ({"query": ""}, "query: empty"),
        ({"candidates": []}, "candidates: at least one"),
        ({"candidates": [pb.Candidate(id="x")]}, "candidates[0]: no content"),
        ({"candidates": [pb.Candidate(text="ok"), pb.Candidate(code=pb.Code(source="  "))]}, "candidates[1].code.source: empty"),
        ({"model": "nope"}, "model: 'nope' is not served"),
        ({"query": "q" * ((1 << 20) + 1)}, f"query: {(1 << 20) + 1} bytes"),
        ({"candidates": [pb.Candidate(text="x" * 300_000)]}, "candidates[0].text: 300000 bytes"),
        ({"candidates": [pb.Candidate(text="x")] * 1001}, "1001 candidates"),
    ],
)
def test_invalid_requests_name_the_field(channel, request_kw, fragment):
    with pytest.raises(grpc.RpcError) as err:
        pb_grpc.RerankerStub(channel).Rerank(_request(**request_kw), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in err.value.details()


def test_server_survives_bad_requests(channel):
    stub = pb_grpc.RerankerStub(channel)
    with pytest.raises(grpc.RpcError):
        stub.Rerank(_request(query=""), timeout=10)
    assert stub.Rerank(_request(), timeout=30).results[0].id == "weather"


def test_message_over_the_transport_limit_is_refused(default_server):
    limit = default_server.settings.limits.max_message_bytes
    with grpc.insecure_channel(default_server.address, options=[("grpc.max_send_message_length", -1)]) as ch:
        with pytest.raises(grpc.RpcError) as err:
            pb_grpc.RerankerStub(ch).Rerank(_request(query="x" * (limit + 10)), timeout=30)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
