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
    """Answers Reranker/Info with ``version=name``; ``fail`` makes every call UNAVAILABLE."""

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
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
            context.abort(grpc.StatusCode.UNAVAILABLE, f"{self.name} is draining")

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


def test_calls_are_spread_over_every_replica(replicas: list[FakeReplica]) -> None:
    with toolrank.Client(addresses(replicas), timeout=10) as client:
        client.info()  # connect
        seen = Counter(client.info().version for _ in range(60))
    assert set(seen) == {"r0", "r1", "r2"}
    assert max(seen.values()) <= 30, f"not round robin: {seen}"


def test_unavailable_is_retried_on_another_replica(replicas: list[FakeReplica]) -> None:
    replicas[1].fail = True
    with toolrank.Client(addresses(replicas), timeout=10) as client:
        seen = Counter(client.info().version for _ in range(30))  # every call answered
    assert set(seen) == {"r0", "r2"}
    assert replicas[1].calls["Info"] > 0, "the failing replica was never tried: the test proves nothing"


def test_without_the_retry_policy_those_calls_fail(replicas: list[FakeReplica]) -> None:
    """The control for the test above: the same replicas, round_robin without retries."""
    replicas[1].fail = True
    no_retries = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})
    with toolrank.Client(addresses(replicas), timeout=10, options=[("grpc.service_config", no_retries)]) as client:
        client.info()
        failed = 0
        for _ in range(30):
            try:
                client.info()
            except toolrank.errors.ToolrankError:
                failed += 1
    assert failed > 0


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
        async with toolrank.AsyncClient(addresses(replicas), timeout=10) as client:
            return Counter([(await client.info()).version for _ in range(30)])

    seen = asyncio.run(main())
    assert set(seen) == {"r1", "r2"} and replicas[0].calls["Info"] > 0


def test_dns_target_balances_over_every_address(replicas: list[FakeReplica]) -> None:
    """``dns:///localhost:PORT``: every address the name resolves to is used (here: one port, 127.0.0.1)."""
    with toolrank.Client(f"dns:///localhost:{replicas[0].port}", timeout=10) as client:
        assert client.info().version == "r0"


@pytest.mark.parametrize("address, target, authority", [
    ("127.0.0.1:1", "127.0.0.1:1", None),
    ("dns:///toolrank-grpc.toolrank.svc:50051", "dns:///toolrank-grpc.toolrank.svc:50051", None),
    ("127.0.0.1:1, 127.0.0.2:2", "ipv4:127.0.0.1:1,127.0.0.2:2", None),
    ("[::1]:1,[::1]:2", "ipv6:[::1]:1,[::1]:2", None),
    ("localhost:7,127.0.0.3:8", "ipv4:127.0.0.1:7,127.0.0.3:8", "localhost:7"),
])
def test_channel_target(address: str, target: str, authority: str | None) -> None:
    assert channel_target(address) == (target, authority)


@pytest.mark.parametrize("address", ["a,b", "127.0.0.1:1,:2", "no-such-host.invalid:1,127.0.0.1:2", ","])
def test_bad_address_lists_say_which_entry(address: str) -> None:
    with pytest.raises(ValueError, match="address"):
        channel_target(address)
