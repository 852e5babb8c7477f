"""toolrank.convert: protobuf <-> dataclasses both ways, and a client that loads no server code."""

from __future__ import annotations

import subprocess
import sys

from toolrank import convert
from toolrank.types import (
    Candidate,
    CodeInput,
    ModelSpec,
    Normalized,
    NormalizedCandidate,
    RerankOutcome,
    RerankQuery,
    Scored,
    SqlInput,
    TextInput,
    Timing,
    ToolInput,
    Usage,
)
from toolrank.v1 import reranker_pb2 as pb

CANDIDATES = (
    Candidate(TextInput("plain"), "t", {"k": "v"}),
    Candidate(CodeInput("def f(): pass", "python", "a/f.py"), "c"),
    Candidate(SqlInput("CREATE TABLE t (a INT)", "sqlite"), "s"),
    Candidate(ToolInput('{"name": "get_weather"}'), "w"),
)


def test_candidates_round_trip_through_protobuf():
    for cand in CANDIDATES:
        assert convert.candidate_from_pb(convert.candidate_to_pb(cand)) == cand


def test_an_empty_oneof_is_left_for_validation_to_name():
    assert convert.candidate_from_pb(pb.Candidate(id="x")).content is None


def test_rerank_request_and_response_round_trip():
    query = RerankQuery("q", CANDIDATES, top_n=2, return_text=True, raw_scores=True, model="m")
    assert convert.rerank_query_from_pb(convert.rerank_query_to_pb(query)) == query
    out = RerankOutcome((Scored(0, "t", 0.75, "text"), Scored(3, "w", 0.25, None)),
                        Usage(1, 2**40, 3, 4, 5, 6), Timing(1, 2, 3, 4, 2**40), "m")
    assert convert.rerank_response_from_pb(convert.rerank_response_to_pb(out)) == out


def test_normalized_and_info_round_trip():
    items = [NormalizedCandidate(0, "t", "text", Normalized("plain", False, ""), 1, 1),
             NormalizedCandidate(1, "w", "tool", Normalized("get weather", True, "bad json"), 2, 5)]
    assert convert.normalized_from_pb(convert.normalized_to_pb(items)) == items
    spec = ModelSpec("m", "/p", "bi-encoder", "none", 256, 256, "bert")
    info = convert.server_info_from_pb(convert.server_info_to_pb("1.0", [spec], "m"))
    assert info.version == "1.0" and info.default_model == "m"
    (model,) = info.models
    assert (model.name, model.kind, model.max_length, model.family, model.is_default) == ("m", "bi-encoder", 256,
                                                                                           "bert", True)


def _loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_client_and_adapters_import_no_model_or_server_code():
    heavy = {"onnxruntime", "tokenizers", "toolrank.metrics", "toolrank.api.metrics", "prometheus_client",
             "fastapi", "uvicorn", "toolrank.engine", "toolrank.engine.engine", "toolrank.models.loader",
             "toolrank.api.grpc_server", "toolrank.api.serve"}
    for statement in ("import toolrank.client", "from toolrank import Client",
                      "import toolrank.integrations.langchain", "import toolrank.integrations.llamaindex"):
        assert _loaded_by(statement) & heavy == set(), statement


def test_usage_round_trips_query_truncation_and_steps():
    usage = Usage(query_tokens=254, candidate_tokens=900, truncated=1, windows=4, fallbacks=0, cache_hits=2,
                  query_truncated=True, steps=3)
    assert convert.usage_from_pb(convert.usage_to_pb(usage)) == usage
    assert convert.usage_from_pb(pb.Usage()) == Usage()
