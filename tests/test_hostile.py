"""Hostile input through the real server: each gets a clear error or a bounded, correct result.

Every call carries a deadline, so a hang fails the test instead of stalling the
suite; after each case the server must still answer a normal request.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
from typing import Iterator

import grpc
import pytest

from conftest import TINY, ServerThread
from toolrank.normalize import MAX_PARSE_CHARS, normalize
from toolrank.settings import Limits, Settings
from toolrank.types import CodeInput, SqlInput, TextInput, ToolInput
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

MODEL = str(TINY / "tiny-bert-cross")
DEADLINE = 120  # generous: only a hang should hit it
MAX_CHARS = Settings().normalize_max_chars

DEEP = 100_000


def garbage(n: int, seed: int) -> str:
    """Random bytes as text (every byte a code point), like a binary file pasted into a field."""
    rnd = random.Random(seed)
    return bytes(rnd.randrange(256) for _ in range(n)).decode("latin-1")


def ref_cycle_tool() -> str:
    return json.dumps({
        "name": "walk", "description": "follows references",
        "parameters": {"$ref": "#/$defs/a", "$defs": {
            "a": {"type": "object", "properties": {"next": {"$ref": "#/$defs/b"}, "self": {"$ref": "#/$defs/a"}}},
            "b": {"type": "object", "properties": {"back": {"$ref": "#/$defs/a"}, "root": {"$ref": "#"}}},
        }},
    })


# Within the per-candidate limit (256 KiB): these reach the normalizers and must come back bounded.
ACCEPTED: dict[str, pb.Candidate] = {
    "json nested 100,000 deep": pb.Candidate(tool=pb.Tool(json="[" * DEEP + "]" * DEEP)),
    "json objects nested 40,000 deep": pb.Candidate(tool=pb.Tool(json='{"a":' * 40_000 + "1" + "}" * 40_000)),
    "schema nested 5,000 deep": pb.Candidate(tool=pb.Tool(json=json.dumps({"name": "f", "description": "d"})[:-1]
                                                          + ', "parameters": '
                                                          + '{"type": "object", "properties": {"p": ' * 5000
                                                          + '{"type": "string"}' + "}}" * 5000 + "}")),
    "array of 100,000 elements": pb.Candidate(tool=pb.Tool(json="[" + ",".join(["0"] * DEEP) + "]")),
    "$ref cycles": pb.Candidate(tool=pb.Tool(json=ref_cycle_tool())),
    "python brackets 100,000 deep": pb.Candidate(code=pb.Code(language="python", source="x = " + "(" * DEEP + ")" * DEEP)),
    "javascript brackets 100,000 deep": pb.Candidate(code=pb.Code(language="javascript",
                                                                  source="x = " + "[" * DEEP + "]" * DEEP)),
    "c braces 100,000 deep": pb.Candidate(code=pb.Code(language="c", source="int f() " + "{" * DEEP + "}" * DEEP)),
    "sql with 10,000 joined tables": pb.Candidate(sql=pb.Sql(
        text="SELECT * FROM t0 " + " ".join(f"JOIN t{i} USING (a)" for i in range(1, 10_000)))),
    "sql parentheses 50,000 deep": pb.Candidate(sql=pb.Sql(text="SELECT " + "(" * 50_000 + "1" + ")" * 50_000)),
    "binary garbage as a tool": pb.Candidate(tool=pb.Tool(json=garbage(100_000, 1))),
    "binary garbage as code": pb.Candidate(code=pb.Code(language="python", source=garbage(100_000, 2))),
    "binary garbage as sql": pb.Candidate(sql=pb.Sql(text=garbage(100_000, 3))),
    "binary garbage as text": pb.Candidate(text=garbage(100_000, 4)),
    "unknown language and dialect": pb.Candidate(code=pb.Code(language="cobol-9000", source="x" * 1000)),
}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    running = ServerThread(Settings(models=(("tiny", MODEL),)), http=True).start()
    yield running
    running.stop()


@pytest.fixture()
def stub(server: ServerThread) -> Iterator[pb_grpc.RerankerStub]:
    options = [("grpc.max_send_message_length", 64 * 1024 * 1024)]
    with grpc.insecure_channel(server.address, options=options) as channel:
        yield pb_grpc.RerankerStub(channel)
        still_fine = pb_grpc.RerankerStub(channel).Rerank(
            pb.RerankRequest(query="still there?", candidates=[pb.Candidate(text="yes")]), timeout=DEADLINE)
        assert len(still_fine.results) == 1


def refused(call, message) -> grpc.RpcError:  # noqa: ANN001
    with pytest.raises(grpc.RpcError) as info:
        call(message, timeout=DEADLINE)
    return info.value


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_hostile_candidate_gives_a_bounded_ranking(stub, name):
    plain = pb.Candidate(id="plain", text="the weather in paris today")
    hostile = pb.Candidate()
    hostile.CopyFrom(ACCEPTED[name])
    hostile.id = "hostile"
    resp = stub.Rerank(pb.RerankRequest(query="weather in paris", candidates=[hostile, plain], return_text=True),
                       timeout=DEADLINE)
    assert sorted(r.id for r in resp.results) == ["hostile", "plain"]  # the other candidate is unaffected
    by_id = {r.id: r for r in resp.results}
    assert by_id["plain"].text == "the weather in paris today"
    if not hostile.HasField("text"):
        assert len(by_id["hostile"].text) <= MAX_CHARS  # structured kinds stay within the output budget
    assert all(r.score == r.score for r in resp.results)  # no NaN


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_hostile_candidate_normalize_rpc(stub, name):
    resp = stub.Normalize(pb.NormalizeRequest(candidates=[ACCEPTED[name]]), timeout=DEADLINE)
    (item,) = resp.candidates
    assert isinstance(item.text, str) and item.tokens >= 0


def test_a_50_mb_string_is_refused_by_the_transport(stub):
    error = refused(stub.Rerank, pb.RerankRequest(query="q", candidates=[pb.Candidate(text="a" * (50 << 20))]))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_20_mb_candidate_is_refused_naming_it(stub):
    error = refused(stub.Rerank, pb.RerankRequest(query="q", candidates=[pb.Candidate(text="a"),
                                                                        pb.Candidate(text="b " * (10 << 20))]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "candidates[1].text" in error.details() and "limit" in error.details()


def test_a_million_element_array_is_refused_naming_it(stub):
    error = refused(stub.Rerank, pb.RerankRequest(query="q", candidates=[
        pb.Candidate(tool=pb.Tool(json="[" + ",".join(["0"] * 1_000_000) + "]"))]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "candidates[0].tool.json" in error.details()


def test_a_query_over_1_mib_is_refused(stub):
    error = refused(stub.Rerank, pb.RerankRequest(query="q" * ((1 << 20) + 1), candidates=[pb.Candidate(text="a")]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("query:")


def test_100000_candidates_are_refused(stub):
    many = [pb.Candidate(text="x")] * 100_000
    error = refused(stub.Rerank, pb.RerankRequest(query="q", candidates=many))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "100000 candidates" in error.details()
    error = refused(stub.Normalize, pb.NormalizeRequest(candidates=many[:1001]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("payload", [b"\xff" * 1000, garbage(5000, 9).encode("latin-1"), b"\x0a\xff\xff\xff\xff\x0f"])
def test_binary_garbage_instead_of_a_message(server, payload):
    with grpc.insecure_channel(server.address) as channel:
        for method in ("Rerank", "Normalize", "Info"):
            call = channel.unary_unary(f"/toolrank.v1.Reranker/{method}")
            try:
                call(payload, timeout=DEADLINE)
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
                assert "not a valid protobuf message" in error.details()


def test_invalid_utf8_in_a_string_field(server):
    good = pb.RerankRequest(query="QQQQ", candidates=[pb.Candidate(text="hello")]).SerializeToString()
    with grpc.insecure_channel(server.address) as channel:
        with pytest.raises(grpc.RpcError) as info:
            channel.unary_unary("/toolrank.v1.Reranker/Rerank")(good.replace(b"QQQQ", b"\xff\xfe\xc0\x80"),
                                                                timeout=DEADLINE)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_empty_and_blank_inputs_name_the_field(stub):
    cases = [
        (pb.RerankRequest(query="", candidates=[pb.Candidate(text="a")]), "query"),
        (pb.RerankRequest(query="q"), "candidates"),
        (pb.RerankRequest(query="q", candidates=[pb.Candidate(id="x")]), "candidates[0]"),
        (pb.RerankRequest(query="q", candidates=[pb.Candidate(text="a"), pb.Candidate(sql=pb.Sql(text=" \n\t"))]),
         "candidates[1].sql.text"),
    ]
    for message, field in cases:
        error = refused(stub.Rerank, message)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith(field), error.details()


def test_many_hostile_candidates_in_one_request(stub):
    """A request full of the worst accepted candidates still completes (bounded by the 16 MB request limit)."""
    candidates = [ACCEPTED[name] for name in ACCEPTED] * 4
    resp = stub.Rerank(pb.RerankRequest(query="anything", candidates=candidates), timeout=DEADLINE)
    assert len(resp.results) == len(candidates)


# -- the normalizer's own size cap (for CLI use and for operators who raise the server's limits) ------


@pytest.mark.parametrize("item", [
    ToolInput("[" * (MAX_PARSE_CHARS + 10)),
    CodeInput("(" * (MAX_PARSE_CHARS + 10), "python"),
    SqlInput("SELECT " + "x, " * MAX_PARSE_CHARS),
    TextInput("word " * MAX_PARSE_CHARS),
])
def test_normalize_never_parses_more_than_the_cap(item):
    result = normalize(item)
    assert result.fallback and "too large" in result.detail
    assert len(result.text) <= MAX_PARSE_CHARS


def test_raised_server_limits_still_bound_each_candidate():
    limits = Limits(max_candidate_bytes=4 << 20)
    running = ServerThread(Settings(models=(("tiny", MODEL),), limits=limits)).start()
    try:
        with grpc.insecure_channel(running.address) as channel:
            big_sql = "SELECT * FROM t0 " + " ".join(f"JOIN t{i} USING (a)" for i in range(1, 150_000))
            resp = pb_grpc.RerankerStub(channel).Rerank(pb.RerankRequest(
                query="join", candidates=[pb.Candidate(sql=pb.Sql(text=big_sql)), pb.Candidate(text="plain")],
                return_text=True), timeout=DEADLINE)
        assert resp.usage.fallbacks >= 1
        assert all(len(r.text) <= MAX_CHARS for r in resp.results)
    finally:
        running.stop()


# -- the same through the HTTP API ----------------------------------------------------------------------


def http_call(server: ServerThread, body: bytes, path: str = "/v1/rerank",
              headers: dict[str, str] | None = None) -> tuple[int, dict]:
    assert server.http is not None
    conn = http.client.HTTPConnection("127.0.0.1", server.http.port, timeout=DEADLINE)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def rerank_body(documents: list, query: str = "weather in paris", **extra: object) -> bytes:
    return json.dumps({"query": query, "documents": documents, **extra}).encode("utf-8")


def _as_document(cand: pb.Candidate) -> object:
    which = cand.WhichOneof("content")
    if which == "tool":
        return {"tool": cand.tool.json}
    if which == "code":
        return {"code": {"language": cand.code.language, "source": cand.code.source}}
    if which == "sql":
        return {"sql": cand.sql.text}
    return cand.text


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_http_hostile_document_gives_a_bounded_ranking(server, name):
    status, body = http_call(server, rerank_body([_as_document(ACCEPTED[name]), "the weather in paris today"]))
    assert status == 200, body
    assert sorted(r["index"] for r in body["results"]) == [0, 1]


@pytest.mark.parametrize("name, payload, expected", [
    ("json nested 100,000 deep", b'{"query": "q", "documents": [' + b"[" * DEEP + b"]" * DEEP + b"]}", 400),
    ("a body nested 100,000 deep", b"[" * DEEP + b"]" * DEEP, 400),
    ("invalid utf-8", b'{"query": "\xff\xfe", "documents": ["a"]}', 400),
    ("binary garbage", garbage(20_000, 5).encode("latin-1"), 400),
    ("not an object", b'["query", "documents"]', 400),
    ("a query over 1 MiB", rerank_body(["a"], query="q" * ((1 << 20) + 1)), 413),
    ("100,000 documents", rerank_body(["x"] * 100_000), 413),
    ("a million-element array", rerank_body([{"tool": [0] * 1_000_000}]), 413),
    ("a 20 MB document", rerank_body(["a", "b " * (5 << 20)]), 413),
])
def test_http_hostile_body_is_refused_clearly(server, name, payload, expected):
    status, body = http_call(server, payload)
    assert status == expected, (name, body)
    assert body["message"] and "Traceback" not in body["message"]


def test_http_invalid_utf8_is_a_400(server):
    status, body = http_call(server, b'{"query": "caf\xe9 \xc0\x80", "documents": ["a"]}')
    assert status == 400 and "JSON" in body["message"]


def _raw(server: ServerThread, data: bytes) -> bytes:
    """Send bytes on a fresh connection; the whole answer (the server closes after refusing)."""
    assert server.http is not None
    with socket.create_connection(("127.0.0.1", server.http.port), timeout=DEADLINE) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_http_a_50_mb_body_is_refused_before_it_is_read(server):
    answer = _raw(server, b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\n{")
    assert answer.startswith(b"HTTP/1.1 413")


def test_http_oversized_head_is_refused(server):
    answer = _raw(server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (200 * 1024) + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431")
    answer = _raw(server, b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-H: 1\r\n" * 500 + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431")


def test_http_garbage_instead_of_a_request(server):
    answer = _raw(server, garbage(4000, 7).encode("latin-1") + b"\r\n\r\n")
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4") or answer.startswith(b"HTTP/1.1 505")
    status, _ = http_call(server, rerank_body(["still serving"]))
    assert status == 200
