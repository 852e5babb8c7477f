"""The gRPC server's own promises (issue #11): a busy port is refused, a dead engine is reported and exits."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import TINY
from toolrank.api.grpc_server import create_server, follow_engine
from toolrank.api.serve import serve
from toolrank.engine.engine import Engine
from toolrank.errors import ModelUnavailable
from toolrank.settings import Settings

TINY_SETTINGS = Settings(models=(("tiny", str(TINY / "tiny-bert-bi")),), host="127.0.0.1", port=0, threads=1)


def test_a_busy_grpc_port_is_refused_unless_reuse_port():
    async def run():
        engine = Engine.from_settings(TINY_SETTINGS)
        first = await create_server(TINY_SETTINGS, engine)
        await first.server.start()
        try:
            with pytest.raises(OSError, match="cannot bind"):
                await create_server(replace(TINY_SETTINGS, port=first.port), engine)
        finally:
            await first.server.stop(None)
        opted_in = replace(TINY_SETTINGS, reuse_port=True)  # the operator asks for it on both
        a = await create_server(opted_in, engine)
        b = await create_server(replace(opted_in, port=a.port), engine)
        assert b.port == a.port

    asyncio.run(run())


def test_cli_serve_on_a_busy_port_prints_one_line_and_exits_1(capsys):
    from toolrank.cli import main

    async def hold():
        engine = Engine.from_settings(TINY_SETTINGS)
        running = await create_server(TINY_SETTINGS, engine)
        await running.server.start()
        return running

    loop = asyncio.new_event_loop()
    running = loop.run_until_complete(hold())
    try:
        code = main(["serve", "--port", str(running.port), "--model", f"tiny={TINY / 'tiny-bert-bi'}"])
    finally:
        loop.run_until_complete(running.server.stop(None))
        loop.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("toolrank serve: error: cannot bind"), err


def _break_scheduler(engine: Engine) -> None:
    def broken() -> list:
        raise RuntimeError("a bug in the scheduler loop")

    engine.scheduler_of()._next_batch = broken  # type: ignore[method-assign]


def test_health_turns_not_serving_when_the_engine_fails():
    async def run():
        engine = Engine.from_settings(TINY_SETTINGS)
        running = await create_server(TINY_SETTINGS, engine)
        await running.server.start()
        await engine.start()
        await running.set_serving(True)
        watch = asyncio.ensure_future(follow_engine(engine, running))
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            before = (await health.Check(health_pb2.HealthCheckRequest())).status
            _break_scheduler(engine)
            from toolrank.v1 import reranker_pb2 as pb
            from toolrank.v1 import reranker_pb2_grpc as pb_grpc

            with pytest.raises(grpc.aio.AioRpcError) as err:
                await pb_grpc.RerankerStub(channel).Rerank(
                    pb.RerankRequest(query="q", candidates=[pb.Candidate(text="never answered")]), timeout=20)
            await asyncio.wait_for(watch, 5)
            after = (await health.Check(health_pb2.HealthCheckRequest())).status
        await running.server.stop(None)
        await engine.stop()
        return before, err.value.code(), after

    before, code, after = asyncio.run(run())
    assert before == health_pb2.HealthCheckResponse.SERVING
    assert code == grpc.StatusCode.UNAVAILABLE  # at once, not after request_timeout_s
    assert after == health_pb2.HealthCheckResponse.NOT_SERVING


def test_serve_exits_with_an_error_when_the_engine_fails():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = replace(TINY_SETTINGS, port=port, grace_s=1)

    async def run():
        engine = Engine.from_settings(settings)
        task = asyncio.ensure_future(serve(settings, engine))
        for _ in range(600):
            if engine.ready:
                break
            await asyncio.sleep(0.05)
        assert engine.ready
        _break_scheduler(engine)
        from toolrank.types import Candidate, RerankQuery, TextInput

        with pytest.raises(ModelUnavailable):
            await engine.rerank(RerankQuery("q", (Candidate(TextInput("x")),)))
        await asyncio.wait_for(task, 30)

    with pytest.raises(ModelUnavailable, match="the engine failed"):
        asyncio.run(run())
