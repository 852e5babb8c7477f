"""OpenTelemetry (the otel extra): a span per request with stage children, parented by the caller's
traceparent, over gRPC and HTTP alike, captured with the SDK's in-memory exporter."""

from __future__ import annotations

import time
from typing import Iterator

import grpc
import httpx
import pytest

from conftest import TINY, ServerThread
from toolrank.settings import Settings
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from toolrank.api.tracing import Tracing  # noqa: E402

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
STAGES = ["normalize", "tokenize", "queue", "inference"]


@pytest.fixture(scope="module")
def traced() -> Iterator[tuple[ServerThread, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server = ServerThread(Settings(models=(("tiny", str(TINY / "tiny-bert-cross")),)), http=True,
                          tracing=Tracing(provider)).start()
    yield server, exporter
    server.stop()


def _finished(exporter: InMemorySpanExporter, name: str) -> list:
    """The finished spans once ``name`` has ended (it ends just after the reply is sent)."""
    deadline = time.monotonic() + 10
    while not any(s.name == name for s in exporter.get_finished_spans()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(exporter.get_finished_spans())


def _check_request_tree(exporter: InMemorySpanExporter, name: str) -> None:
    spans = _finished(exporter, name)
    (root,) = [s for s in spans if s.name == name]
    assert format(root.context.trace_id, "032x") == TRACE_ID  # the caller's trace
    assert root.parent is not None and format(root.parent.span_id, "016x") == PARENT_ID
    children = sorted((s for s in spans if s.parent is not None and s.parent.span_id == root.context.span_id),
                      key=lambda s: s.start_time)
    assert [c.name for c in children] == STAGES
    for a, b in zip(children, children[1:]):
        assert a.end_time <= b.start_time  # laid end to end, in the engine's order
    assert root.start_time <= children[0].start_time and children[-1].end_time <= root.end_time + 1_000_000
    assert root.attributes["toolrank.model"] == "tiny" and root.attributes["toolrank.candidates"] == 2


def test_http_request_span_with_stage_children(traced):
    server, exporter = traced
    exporter.clear()
    resp = httpx.post(server.http_url + "/v1/rerank", headers={"traceparent": TRACEPARENT}, timeout=30,
                      json={"query": "weather", "documents": ["sunny in Paris", "cake"]})
    assert resp.status_code == 200
    _check_request_tree(exporter, "POST /v1/rerank")
    (root,) = [s for s in exporter.get_finished_spans() if s.name == "POST /v1/rerank"]
    assert root.attributes["http.response.status_code"] == 200


def test_grpc_call_span_with_stage_children(traced):
    server, exporter = traced
    exporter.clear()
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.RerankerStub(channel)
        stub.Rerank(pb.RerankRequest(query="weather", candidates=[pb.Candidate(text="sunny in Paris"),
                                                                  pb.Candidate(text="cake")]),
                    metadata=[("traceparent", TRACEPARENT)], timeout=30)
    _check_request_tree(exporter, "toolrank.v1.Reranker/Rerank")
    (root,) = [s for s in exporter.get_finished_spans() if s.name == "toolrank.v1.Reranker/Rerank"]
    assert root.attributes["rpc.system"] == "grpc" and root.attributes["rpc.grpc.status_code"] == 0


def test_refused_requests_are_spans_too(traced):
    server, exporter = traced
    exporter.clear()
    resp = httpx.post(server.http_url + "/v1/rerank", json={"query": 3}, timeout=30)
    assert resp.status_code == 422
    (root,) = _finished(exporter, "POST /v1/rerank")
    assert root.name == "POST /v1/rerank" and root.attributes["http.response.status_code"] == 422


def test_off_unless_an_endpoint_is_set():
    assert Tracing.from_settings(Settings(), environ={}) is None
    on = Tracing.from_settings(Settings(), environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"})
    assert on is not None
    on.shutdown()
    flag = Tracing.from_settings(Settings(otlp_endpoint="http://127.0.0.1:4317"), environ={})
    assert flag is not None
    flag.shutdown()
