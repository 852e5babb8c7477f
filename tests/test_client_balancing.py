"""The client balances calls over replicas (round_robin) and retries UNAVAILABLE on idempotent methods.

The replicas here are small gRPC servers on loopback that answer Info with their own name and can
be told to fail: what is tested is the client's channel, not the server.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import Counter
from concurrent import futures
from typing import Iterator

import grpc
import pytest

import toolrank
from toolrank.balancing import SERVICE_CONFIG, channel_target
from toolrank.v1 import reranker_pb2 as pb


class FakeReplica:
    """Answers Reranker/Info with ``version=name``; ``fail`` makes every call fail with ``fail_code``."""

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.fail_code = grpc.StatusCode.UNAVAILABLE
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(4))
        self.server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("toolrank.v1.Reranker", {
            "Info": grpc.unary_unary_rpc_method_handler(self._info, pb.InfoRequest.FromString,
                                                        pb.InfoResponse.SerializeToString)})])
        self.server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("toolrank.v1.Catalogs", {
            "PutCatalog": grpc.unary_unary_rpc_method_handler(self._put, lambda b: b, lambda b: b)})])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def _count(self, method: str, context: grpc.ServicerContext) -> None:
        with self._lock:
            self.calls[method] += 1
        if self.fail:
            context.abort(self.fail_code, f"{self.name} is draining")

    def _info(self, request: pb.InfoRequest, context: grpc.ServicerContext) -> pb.InfoResponse:
        self._count("Info", context)
        return pb.InfoResponse(version=self.name)

    def _put(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self._count("PutCatalog", context)
        return b""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture()
def replicas() -> Iterator[list[FakeReplica]]:
    started = [FakeReplica(f"r{i}") for i in range(3)]
    yield started
    for r in started:
        r.server.stop(0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def addresses(replicas: list[FakeReplica]) -> str:
    return ",".join(r.address for r in replicas)


def until(condition, call, timeout: float = 10.0) -> int:
    """``call()`` until ``condition()`` holds (subchannels connect at their own pace on a busy machine)."""
    import time

    deadline, n = time.monotonic() + timeout, 0
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        call()
        n += 1
    return n


def test_calls_are_spread_over_every_replica(replicas: list[FakeReplica]) -> None:
    with toolrank.Client(addresses(replicas), timeout=10) as client:
        until(lambda: all(r.calls["Info"] for r in replicas), client.info)  # every replica connected
        seen = Counter(client.info().version for _ in range(60))
    assert set(seen) == {"r0", "r1", "r2"}
    assert max(seen.values()) <= 30, f"not round robin: {seen}"


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED])
def test_unavailable_is_retried_on_another_replica(replicas: list[FakeReplica], code: grpc.StatusCode) -> None:
    """CANCELLED too: a stopping server cancels calls not yet handed to a handler (grpc/grpc#41785)."""
    replicas[1].fail, replicas[1].fail_code = True, code
    with toolrank.Client(addresses(replicas), timeout=10) as client:
        answers: list[str] = []
        until(lambda: replicas[1].calls["Info"] >= 5, lambda: answers.append(client.info().version))  # none raise
    assert set(answers) == {"r0", "r2"}


def test_without_the_retry_policy_those_calls_fail(replicas: list[FakeReplica]) -> None:
    """The control for the test above: the same replicas, round_robin without retries."""
    replicas[1].fail = True
    no_retries = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})
    failed = 0

    def call() -> None:
        nonlocal failed
        try:
            client.info()
        except toolrank.errors.ToolrankError:
            failed += 1

    with toolrank.Client(addresses(replicas), timeout=10, options=[("grpc.service_config", no_retries)]) as client:
        until(lambda: replicas[1].calls["Info"] >= 5, call)
    assert failed == replicas[1].calls["Info"], "every call that reached the failing replica failed"


def test_a_dead_address_in_the_list_costs_nothing(replicas: list[FakeReplica]) -> None:
    listed = f"127.0.0.1:{closed_port()},{addresses(replicas[:2])}"
    with toolrank.Client(listed, timeout=10) as client:
        assert {client.info().version for _ in range(20)} == {"r0", "r1"}


def test_non_idempotent_calls_are_not_retried(replicas: list[FakeReplica]) -> None:
    for r in replicas:
        r.fail = True
    with toolrank.Client(addresses(replicas), timeout=10) as client:
        put = client._channel.unary_unary("/toolrank.v1.Catalogs/PutCatalog")
        with pytest.raises(grpc.RpcError) as caught:
            put(b"", timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert sum(r.calls["PutCatalog"] for r in replicas) == 1
        with pytest.raises(toolrank.errors.ToolrankError):
            client.info()
    assert sum(r.calls["Info"] for r in replicas) == SERVICE_CONFIG["methodConfig"][0]["retryPolicy"]["maxAttempts"]


def test_async_client_balances_and_retries(replicas: list[FakeReplica]) -> None:
    replicas[0].fail = True

    async def main() -> Counter[str]:
        seen: Counter[str] = Counter()
        async with toolrank.AsyncClient(addresses(replicas), timeout=10) as client:
            for _ in range(2000):
                seen[(await client.info()).version] += 1
                if replicas[0].calls["Info"] >= 5 and seen["r1"] and seen["r2"]:
                    break
        return seen

    seen = asyncio.run(main())
    assert set(seen) == {"r1", "r2"} and replicas[0].calls["Info"] >= 5


def test_dns_target_balances_over_every_address(replicas: list[FakeReplica]) -> None:
    """``dns:///localhost:PORT``: every address the name resolves to is used (here: one port, 127.0.0.1)."""
    with toolrank.Client(f"dns:///localhost:{replicas[0].port}", timeout=10) as client:
        assert client.info().version == "r0"


@pytest.mark.parametrize("address, target, authority", [
    ("127.0.0.1:1", "127.0.0.1:1", None),
    ("dns:///toolrank-grpc.toolrank.svc:50051", "dns:///toolrank-grpc.toolrank.svc:50051", None),
    ("127.0.0.1:1, 127.0.0.2:2", "ipv4:127.0.0.1:1,127.0.0.2:2", None),
    ("[::1]:1,[::1]:2", "ipv6:[::1]:1,[::1]:2", None),
    ("ipv4:127.0.0.1:1,127.0.0.2:2", "ipv4:127.0.0.1:1,127.0.0.2:2", None),  # already a gRPC target: as it is
    ("localhost:7,127.0.0.3:8", "ipv4:127.0.0.1:7,127.0.0.3:8", "localhost:7"),
])
def test_channel_target(address: str, target: str, authority: str | None) -> None:
    assert channel_target(address) == (target, authority)


@pytest.mark.parametrize("address", ["a,b", "127.0.0.1:1,:2", "no-such-host.invalid:1,127.0.0.1:2", ","])
def test_bad_address_lists_say_which_entry(address: str) -> None:
    with pytest.raises(ValueError, match="address"):
        channel_target(address)


def test_readme_shows_the_service_config_the_client_uses() -> None:
    """Other languages' clients copy the docs' JSON: it must be exactly what toolrank.Client sends."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "scaling.md").read_text()
    section = page[page.index("## Clients: one address per replica"):]
    block = section[section.index("```json") + len("```json"):]
    assert json.loads(block[:block.index("```")]) == SERVICE_CONFIG
