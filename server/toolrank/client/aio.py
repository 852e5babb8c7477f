"""The asyncio client."""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from toolrank.client.channel import DEFAULT_ADDRESS, ClientBase, normalize_request, rerank_request
from toolrank.client.errors import error_from_rpc
from toolrank.client.inputs import CandidateLike
from toolrank.client.results import (
    NormalizedItem,
    Ranking,
    normalized_items,
    ranking_of,
)
from toolrank.client.catalogs import AsyncCatalogMethods
from toolrank.convert import (
    normalized_from_pb,
    rerank_response_from_pb,
    server_info_from_pb,
)
from toolrank.types import ServerInfo
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc


class AsyncClient(AsyncCatalogMethods, ClientBase):
    """The asyncio twin of :class:`Client` (grpc.aio); the channel opens on first use
    so that it belongs to the running event loop."""

    def __init__(self, address: str = DEFAULT_ADDRESS, *, token: str | None = None,
                 root_certificates: bytes | str | os.PathLike[str] | None = None, tls: bool = False,
                 timeout: float | None = None, options: Sequence[tuple[str, Any]] | None = None) -> None:
        super().__init__(address, token, root_certificates, tls, timeout, options)
        self._channel: grpc.aio.Channel | None = None

    def _open(self) -> grpc.aio.Channel:
        if self._channel is None:
            if self._credentials is None:
                self._channel = grpc.aio.insecure_channel(self._target, options=self._options)
            else:
                self._channel = grpc.aio.secure_channel(self._target, self._credentials, options=self._options)
        return self._channel

    async def _call(self, name: str, request: Any, timeout: float | None) -> Any:
        channel = self._open()
        method = getattr(health_pb2_grpc.HealthStub(channel) if name == "Check" else pb_grpc.RerankerStub(channel),
                         name)
        try:
            return await method(request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc

    async def rerank(self, query: str, candidates: Iterable[CandidateLike], top_n: int = 0, model: str = "",
                     return_text: bool = False, timeout: float | None = None, *,
                     raw_scores: bool = False, lexical_weight: float | None = None,
                     detect_kinds: bool = False) -> Ranking:
        """Rank ``candidates`` against ``query``; ``top_n`` 0 keeps them all (see :meth:`Client.rerank`)."""
        request = rerank_request(query, candidates, top_n, model, return_text, raw_scores, lexical_weight,
                                 detect_kinds)
        return ranking_of(rerank_response_from_pb(await self._call("Rerank", request, timeout)))

    async def normalize(self, candidates: Iterable[CandidateLike], model: str = "",
                        timeout: float | None = None, *, detect_kinds: bool = False) -> list[NormalizedItem]:
        request = normalize_request(candidates, model, detect_kinds)
        return normalized_items(normalized_from_pb(await self._call("Normalize", request, timeout)))

    async def info(self, timeout: float | None = None) -> ServerInfo:
        return server_info_from_pb(await self._call("Info", pb.InfoRequest(), timeout))

    async def health(self, service: str = "", timeout: float | None = None) -> bool:
        resp = await self._call("Check", health_pb2.HealthCheckRequest(service=service), timeout)
        return resp.status == health_pb2.HealthCheckResponse.SERVING

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
