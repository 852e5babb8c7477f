"""Reliability on a real server: backpressure, deadlines and cancellation, graceful shutdown, faults.

Each test gets its own server on the tiny cross-encoder, whose ``run`` is
wrapped to be slow or to fail, so every case is reached by counting rather than
by timing: a cancelled request leaves sequences uncomputed, a refused one is
refused at once whatever the machine's speed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import TINY, ServerThread
from toolrank.settings import Settings
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

MODEL = str(TINY / "tiny-bert-cross")


class WrappedRun:
    """Replaces LoadedModel.run: counts calls and rows, sleeps, fails on demand, or waits for a gate."""

    def __init__(self, inner: Callable[..., np.ndarray], delay: float = 0.0) -> None:
        self.inner = inner
        self.delay = delay
        self.calls = 0
        self.rows = 0
        self.fail_next = 0
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def __call__(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(30)
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("simulated failure in the middle of a batch")
        time.sleep(self.delay)
        self.rows += ids.shape[0]
        return self.inner(ids, mask, types)


def start_server(**overrides: object) -> tuple[ServerThread, WrappedRun]:
    settings = Settings(models=(("tiny", MODEL),), **overrides)  # type: ignore[arg-type]
    server = ServerThread(settings).start()
    assert server.engine is not None
    model = server.engine.served("tiny").model
    wrapped = WrappedRun(model.run)
    model.run = wrapped  # type: ignore[method-assign]
    return server, wrapped


@pytest.fixture()
def make_server() -> Iterator[Callable[..., tuple[ServerThread, WrappedRun]]]:
    started: list[tuple[ServerThread, WrappedRun]] = []

    def make(**overrides: object) -> tuple[ServerThread, WrappedRun]:
        started.append(start_server(**overrides))
        return started[-1]

    yield make
    for server, wrapped in started:
        if wrapped.gate is not None:
            wrapped.gate.set()
        server.stop()


def request(n: int = 4, query: str = "weather in paris") -> pb.RerankRequest:
    return pb.RerankRequest(query=query, candidates=[pb.Candidate(id=str(i), text=f"document number {i} about things")
                                                     for i in range(n)])


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


# -- 1. backpressure -------------------------------------------------------------------------------


def test_over_max_inflight_requests_is_refused_at_once(make_server):
    server, wrapped = make_server(max_inflight_requests=2)
    wrapped.gate = threading.Event()  # the first two requests hold their slots until released
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.RerankerStub(channel)
        held = [stub.Rerank.future(request(query=f"q{i}"), timeout=60) for i in range(2)]
        assert wait_until(lambda: server.engine.inflight == 2)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Rerank(request(), timeout=60)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "in flight" in refused.value.details() and "retry" in refused.value.details()
        wrapped.gate.set()
        assert all(len(f.result().results) == 4 for f in held)
        assert len(stub.Rerank(request(), timeout=60).results) == 4  # serving again once they finished


def test_over_max_queued_tokens_is_refused_with_a_message(make_server):
    server, _ = make_server(max_queued_tokens=40)
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.RerankerStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Rerank(request(20), timeout=60)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "tokens queued" in refused.value.details()
        assert len(stub.Rerank(request(1), timeout=60).results) == 1
    assert server.engine.inflight == 0


# -- 2. deadlines and cancellation ------------------------------------------------------------------


def _pool_empty(server: ServerThread) -> bool:
    return server.engine.scheduler_of("tiny").queued_tokens == 0


def test_client_deadline_stops_the_remaining_work(make_server):
    server, wrapped = make_server(max_batch_size=1)  # one sequence a batch, so work left over is countable
    wrapped.delay = 0.2
    with grpc.insecure_channel(server.address) as channel:
        with pytest.raises(grpc.RpcError) as late:
            pb_grpc.RerankerStub(channel).Rerank(request(30), timeout=0.5)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert wait_until(lambda: _pool_empty(server))
    time.sleep(0.3)  # the batch running at cancel time may still finish
    assert wrapped.rows < 30  # the scheduler dropped the sequences nobody waits for
    assert server.engine.inflight == 0


def test_client_cancel_stops_the_remaining_work(make_server):
    server, wrapped = make_server(max_batch_size=1)
    wrapped.delay = 0.2
    with grpc.insecure_channel(server.address) as channel:
        call = pb_grpc.RerankerStub(channel).Rerank.future(request(30), timeout=60)
        assert wrapped.entered.wait(30)
        call.cancel()
        assert call.cancelled()
    assert wait_until(lambda: _pool_empty(server) and server.engine.inflight == 0)
    time.sleep(0.3)
    assert wrapped.rows < 30


def test_server_request_timeout_gives_deadline_exceeded(make_server):
    server, wrapped = make_server(max_batch_size=1, request_timeout_s=0.5)
    wrapped.delay = 0.2
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.RerankerStub(channel)
        with pytest.raises(grpc.RpcError) as late:
            stub.Rerank(request(30), timeout=60)
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "server's limit" in late.value.details()
        assert wait_until(lambda: _pool_empty(server))
        time.sleep(0.3)
        assert wrapped.rows < 30
        wrapped.delay = 0
        assert len(stub.Rerank(request(2), timeout=60).results) == 2  # and it goes on serving


# -- 8. faults ---------------------------------------------------------------------------------------


def test_a_failing_batch_fails_only_its_requests(make_server):
    server, wrapped = make_server()
    wrapped.fail_next = 1  # one failed run: the batch runs again in halves, the request is answered
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.RerankerStub(channel)
        assert len(stub.Rerank(request(3), timeout=60).results) == 3
        wrapped.fail_next = 10**6  # every run fails: the model is broken, UNAVAILABLE (retried elsewhere)
        with pytest.raises(grpc.RpcError) as failed:
            stub.Rerank(request(3), timeout=60)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "inference failed" in failed.value.details()
        wrapped.fail_next = 0
        assert len(stub.Rerank(request(3), timeout=60).results) == 3
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_a_model_or_tls_file_that_fails_to_load_refuses_to_start(tmp_path: Path):
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    (bad / "model.onnx").write_bytes(b"not an onnx graph")
    for flags in (["--model", "/bad/dir"], ["--model", str(bad)], ["--tls-cert", "/bad/cert.pem", "--tls-key", "k"]):
        done = subprocess.run([sys.executable, "-m", "toolrank.cli", "serve", "--port", "0", *flags],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("toolrank serve: error:"), done.stderr
        assert "Traceback" not in done.stderr


# -- 3. graceful shutdown of a real `toolrank serve` -------------------------------------------------

# Starts the real CLI with a model whose batches of more than one row wait until a file appears,
# so the test decides when the in-flight request may finish.
SLOW_SERVE = """
import os, sys, time
from toolrank.models import loader
inner = loader.LoadedModel.run
def run(self, ids, mask, types):
    if ids.shape[0] > 1:
        open(os.environ["TR_STARTED"], "w").close()
        while not os.path.exists(os.environ["TR_RELEASE"]):
            time.sleep(0.01)
    return inner(self, ids, mask, types)
loader.LoadedModel.run = run
from toolrank.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_drains_in_flight_requests_then_exits_0(tmp_path: Path):
    started, release = tmp_path / "started", tmp_path / "release"
    env = {**os.environ, "TR_STARTED": str(started), "TR_RELEASE": str(release)}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SERVE, "serve", "--port", "0", "--model", MODEL,
                             "--grace-s", "30", "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "serving on" in line, line + proc.stderr.read()
        address = line.split()[-1]
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.RerankerStub(channel)
            statuses: list[int] = []
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=60)

            def follow() -> None:
                try:
                    for response in watch:
                        statuses.append(response.status)
                except grpc.RpcError:
                    pass  # the stream ends when the server stops

            follower = threading.Thread(target=follow, daemon=True)
            follower.start()
            assert wait_until(lambda: health_pb2.HealthCheckResponse.SERVING in statuses)
            in_flight = stub.Rerank.future(request(4), timeout=60)
            assert wait_until(started.exists)

            proc.send_signal(signal.SIGTERM)
            assert wait_until(lambda: health_pb2.HealthCheckResponse.NOT_SERVING in statuses)
            with pytest.raises(grpc.RpcError) as refused:
                stub.Rerank(request(1), timeout=30)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert proc.poll() is None  # still draining: the in-flight request holds it open

            release.touch()
            assert len(in_flight.result(timeout=60).results) == 4
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
