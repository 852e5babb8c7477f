"""Layers: the engine imports no metrics, grpc or transport; it exposes a stats snapshot and observers;
one table maps errors to gRPC and HTTP statuses, read by both transports and the client."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import grpc
import pytest

from conftest import TINY
from toolrank import client, errors
from toolrank.api.errors import grpc_status
from toolrank.engine.engine import Engine
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput


def test_engine_imports_no_transport_or_metrics():
    code = ("import sys, toolrank.engine.engine; "
            "bad = [m for m in sys.modules if m.startswith(('prometheus_client', 'grpc', 'fastapi', 'uvicorn', "
            "'toolrank.api', 'toolrank.metrics', 'opentelemetry'))]; print(bad); assert not bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("error, grpc_code, http_status", [
    (errors.RequestTooLarge("x"), "INVALID_ARGUMENT", 413),
    (errors.InvalidField("x"), "INVALID_ARGUMENT", 422),
    (errors.UnknownModel("x"), "INVALID_ARGUMENT", 400),
    (errors.InvalidRequest("x"), "INVALID_ARGUMENT", 400),
    (errors.Unauthenticated("x"), "UNAUTHENTICATED", 401),
    (errors.Overloaded("x"), "RESOURCE_EXHAUSTED", 429),
    (errors.ModelLoadError("x"), "UNAVAILABLE", 503),
    (errors.DeadlineExceeded("x"), "DEADLINE_EXCEEDED", 504),
    (errors.ConfigError("x"), "INTERNAL", 500),
    (ValueError("x"), "INTERNAL", 500),
])
def test_one_table_for_both_transports(error, grpc_code, http_status):
    assert errors.status_of(error) == (grpc_code, http_status)
    if isinstance(error, errors.ToolrankError):
        assert grpc_status(error) == grpc.StatusCode[grpc_code]


def test_the_client_reads_the_table_backwards_to_the_general_class():
    table = client.errors._error_table()  # toolrank.client is a package (harden): client/errors.py
    assert table[grpc.StatusCode.INVALID_ARGUMENT] is errors.InvalidRequest  # not RequestTooLarge
    assert table[grpc.StatusCode.RESOURCE_EXHAUSTED] is errors.Overloaded
    assert table[grpc.StatusCode.UNAVAILABLE] is errors.ModelUnavailable


class _Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[tuple[str, int, int, int]] = []
        self.reranks: list[int] = []
        self.fail = fail

    def on_batch(self, model: str, sequences: int, real: int, padded: int) -> None:
        if self.fail:
            raise RuntimeError("observer bug")
        self.batches.append((model, sequences, real, padded))

    def on_rerank(self, outcome, candidates: int) -> None:
        if self.fail:
            raise RuntimeError("observer bug")
        self.reranks.append(candidates)


def test_stats_snapshot_and_observers():
    async def run() -> None:
        engine = Engine(Settings(), [LoadedModel(TINY / "tiny-bert-cross", "tiny", threads=1)])
        recorder, broken = _Recorder(), _Recorder(fail=True)
        engine.add_observer(broken)  # a failing observer reaches neither the engine nor the others
        engine.add_observer(recorder)
        before = engine.stats()
        assert not before.ready and before.inflight == 0 and before.queued_tokens == {}
        async with engine:
            query = RerankQuery("weather", tuple(Candidate(TextInput(t)) for t in ("sunny", "cake", "rain")))
            await engine.rerank(query)
            await engine.rerank(query)
            stats = engine.stats()
        assert stats.ready and stats.requests == 2 and stats.candidates == 6 and stats.inflight == 0
        assert stats.queued_tokens == {"tiny": 0}
        assert stats.caches[("normalized", "")].hits == 3 and stats.caches[("normalized", "")].misses == 3
        assert stats.caches[("tokens", "tiny")].entries == 3
        assert recorder.reranks == [3, 3]
        assert recorder.batches and all(m == "tiny" and p >= r > 0 for m, _, r, p in recorder.batches)

    asyncio.run(run())
