"""Hostile HTTP on raw sockets: each case gets its documented status, the server keeps serving, and
nothing is logged with a traceback."""

from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import replace
from typing import Iterator

import pytest

from conftest import TINY, ServerThread
from toolrank.settings import Limits, Settings



@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    settings = replace(Settings(models=(("tiny", str(TINY / "tiny-bert-cross")),)), http_read_timeout_s=1.0,
                       limits=Limits(max_message_bytes=64 * 1024))
    running = ServerThread(settings, http=True).start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_traceback_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    traced = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not traced, [r.getMessage() for r in traced]


def exchange(server: ServerThread, data: bytes | list[bytes], pause: float = 0.0, timeout: float = 10) -> bytes:
    """Send ``data`` (pieces with ``pause`` between them), read until the server closes."""
    assert server.http is not None
    with socket.create_connection(("127.0.0.1", server.http.port), timeout=timeout) as sock:
        try:
            for piece in [data] if isinstance(data, bytes) else data:
                sock.sendall(piece)
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before we were done
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
    return b"".join(chunks)


def status_of(reply: bytes) -> int:
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    return int(reply[9:12])


def body_of(reply: bytes) -> dict:
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])


def post(body: bytes, extra: bytes = b"") -> bytes:
    return (b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n" % len(body)
            + extra + b"\r\n" + body)


OK_BODY = json.dumps({"query": "weather in paris", "documents": ["sunny in paris", "cake"]}).encode()


def still_serving(server: ServerThread) -> None:
    assert status_of(exchange(server, post(OK_BODY))) == 200


@pytest.mark.parametrize("name, raw, status", [
    ("a Content-Length that is a superscript digit", "POST /v1/rerank HTTP/1.1\r\nHost: x\r\n"
     "Content-Length: \u00b2\r\n\r\n{}".encode(), 400),
    ("a negative Content-Length", b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    ("two different Content-Lengths", b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     b"Content-Length: 3\r\n\r\n{}", 400),
    ("Content-Length and chunked", b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n{}", 400),
    ("a bare LF inside the head", b"POST /v1/rerank HTTP/1.1\r\nHost: x\nContent-Length: 2\r\n\r\n{}", 400),
    ("a bare LF as the head's end", b"GET /health HTTP/1.1\nHost: x\n\n", 400),
    ("no Host header", b"GET /health HTTP/1.1\r\n\r\n", 400),
    ("a header flood (500 headers)", b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-H: 1\r\n" * 500 + b"\r\n", 431),
    ("a 20 KB header", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431),
    ("a 200 KB header", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n", 431),
    ("HTTP/2.0 in a request line", b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("a POST without a length", b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\n\r\n", 411),
    ("a body over the limit by Content-Length", b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 99999999\r\n\r\n{", 413),
    ("invalid UTF-8", post(b'{"query": "caf\xe9 \xc0\x80", "documents": ["a"]}'), 400),
    ("JSON nested 30,000 deep", post(b"[" * 30_000 + b"]" * 30_000), 400),
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n", 400),
])
def test_refused_with_the_documented_status(server, name, raw, status):
    reply = exchange(server, raw)
    assert status_of(reply) == status, (name, reply[:300])
    body = body_of(reply)
    message = body.get("message") or body["error"]["message"]
    assert message and "Traceback" not in message
    still_serving(server)


def test_chunked_bodies_are_read_and_limited_while_they_stream(server):
    head = b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    ok = exchange(server, head + b"%x\r\n" % len(OK_BODY) + OK_BODY + b"\r\n0\r\n\r\n")
    assert status_of(ok) == 200 and len(body_of(ok)["results"]) == 2
    chunk = b"a" * 16_000
    too_big = head + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 8 + b"0\r\n\r\n"  # 128 KB > 64 KiB
    reply = exchange(server, too_big)
    assert status_of(reply) == 413 and body_of(reply)["message"].startswith("body: over the limit")
    still_serving(server)


def test_slowloris_body_and_head_get_408(server):
    body = OK_BODY
    pieces = [post(body)[: -len(body)]] + [body[i:i + 1] for i in range(12)]  # 1 byte every 0.15 s: > 1 s
    reply = exchange(server, pieces, pause=0.15)
    assert status_of(reply) == 408 and "did not arrive within 1 s" in body_of(reply)["message"]
    head = [b"GET /health HTTP/1.1\r\n", b"Host: x\r\n"] + [b"X-Slow: 1\r\n"] * 12
    reply = exchange(server, head, pause=0.15)
    assert status_of(reply) == 408
    assert exchange(server, b"") == b""  # an idle connection is closed quietly
    still_serving(server)


def test_deep_json_inside_a_document_is_a_400(server):
    reply = exchange(server, post(b'{"query": "q", "documents": [' + b"[" * 5000 + b"]" * 5000 + b"]}"))
    assert status_of(reply) == 400 and body_of(reply)["message"].startswith("body: not valid JSON")


def test_a_client_that_leaves_mid_body_is_not_logged_as_an_error(server):
    assert server.http is not None
    with socket.create_connection(("127.0.0.1", server.http.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"query\": ")
        time.sleep(0.2)  # the app is reading the body when the client goes
    time.sleep(0.3)
    still_serving(server)


def test_malformed_requests_are_counted_not_logged(server, caplog):
    before = server.metrics.requests.labels("http", "other", "400")._value.get()
    for _ in range(3):
        assert status_of(exchange(server, b"GARBAGE\r\n\r\n")) == 400
    assert server.metrics.requests.labels("http", "other", "400")._value.get() == before + 3
    assert not [r for r in caplog.records if "Invalid HTTP request" in r.getMessage()]


def test_bodies_in_flight_share_one_budget(server):
    """4 x max_message_bytes (here 4 x 64 KiB) of bodies at once; the next is refused before it is read."""
    assert server.http is not None
    held = []
    try:
        for _ in range(4):  # 4 x 60 KiB declared, 10 bytes sent: the server holds their reservations
            sock = socket.create_connection(("127.0.0.1", server.http.port), timeout=10)
            sock.sendall(b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 61440\r\n\r\n{\"query\":")
            held.append(sock)
        time.sleep(0.3)
        reply = exchange(server, b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n{")
        assert status_of(reply) == 429 and "over the server's budget of 262144 bytes" in body_of(reply)["message"]
        assert b"retry-after: 1" in reply.lower()
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    still_serving(server)  # the budget was given back
