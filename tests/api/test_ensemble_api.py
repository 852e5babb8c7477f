"""An ensemble served with --ensemble is a model like any other over gRPC and HTTP: listed by Info, chosen by name."""

from __future__ import annotations

import json
import urllib.request

import grpc
import pytest

from conftest import TINY, ServerThread
from toolrank.settings import Settings
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def server():
    settings = Settings(models=(("", str(TINY / "tiny-bert-bi")), ("", str(TINY / "tiny-bert-cross-peaky"))),
                        ensembles=("mix=tiny-bert-bi:1,tiny-bert-cross-peaky:1,bm25:0.3",), default_model="mix")
    s = ServerThread(settings, http=True).start()
    yield s
    s.stop()


DOCS = ["get the weather forecast for a city", "convert dollars to euros", "send an email"]


def test_info_lists_the_ensemble_as_the_default(server):
    with grpc.insecure_channel(server.address) as ch:
        info = pb_grpc.RerankerStub(ch).Info(pb.InfoRequest(), timeout=10)
    kinds = {m.name: (m.kind, m.is_default) for m in info.models}
    assert kinds["mix"] == ("ensemble", True) and info.default_model == "mix"
    assert kinds["tiny-bert-bi"] == ("bi-encoder", False)


def test_rerank_by_name_over_grpc_and_http(server):
    req = pb.RerankRequest(query="weather in paris", candidates=[pb.Candidate(id=str(i), text=d)
                                                                  for i, d in enumerate(DOCS)], model="mix")
    with grpc.insecure_channel(server.address) as ch:
        out = pb_grpc.RerankerStub(ch).Rerank(req, timeout=30)
    assert out.model == "mix" and len(out.results) == 3
    assert all(0.0 < r.score < 1.0 for r in out.results)
    body = json.dumps({"model": "mix", "query": "weather in paris", "documents": DOCS}).encode()
    http = urllib.request.Request(server.http_url + "/v1/rerank", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(http, timeout=30) as resp:
        got = json.loads(resp.read())
    assert [r["index"] for r in got["results"]] == [r.index for r in out.results]
    with grpc.insecure_channel(server.address) as ch, pytest.raises(grpc.RpcError) as err:
        pb_grpc.RerankerStub(ch).Rerank(pb.RerankRequest(query="x", candidates=[pb.Candidate(text="y")],
                                                         model="nope"), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "mix" in err.value.details()
