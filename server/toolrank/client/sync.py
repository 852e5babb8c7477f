"""The blocking client."""

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
from toolrank.client.catalogs import CatalogMethods
from toolrank.convert import (
    normalized_from_pb,
    rerank_response_from_pb,
    server_info_from_pb,
)
from toolrank.types import ServerInfo
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc


class Client(CatalogMethods, ClientBase):
    """A blocking client over one gRPC channel; safe to share between threads.

    ``token`` is sent as ``authorization: Bearer <token>`` on every call;
    ``root_certificates`` (PEM bytes or a path) or ``tls=True`` (system roots)
    make the channel TLS. ``timeout`` is the default deadline in seconds.
    """

    def __init__(self, address: str = DEFAULT_ADDRESS, *, token: str | None = None,
                 root_certificates: bytes | str | os.PathLike[str] | None = None, tls: bool = False,
                 timeout: float | None = None, options: Sequence[tuple[str, Any]] | None = None) -> None:
        super().__init__(address, token, root_certificates, tls, timeout, options)
        if self._credentials is None:
            self._channel = grpc.insecure_channel(self._target, options=self._options)
        else:
            self._channel = grpc.secure_channel(self._target, self._credentials, options=self._options)
        self._stub = pb_grpc.RerankerStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def _call(self, method: Any, request: Any, timeout: float | None) -> Any:
        try:
            return method(request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc

    def rerank(self, query: str, candidates: Iterable[CandidateLike], top_n: int = 0, model: str = "",
               return_text: bool = False, timeout: float | None = None, *, raw_scores: bool = False,
               lexical_weight: float | None = None, detect_kinds: bool = False) -> Ranking:
        """Rank ``candidates`` against ``query``; ``top_n`` 0 keeps them all. ``lexical_weight``: BM25's share of
        the score (None: the kind's default, 0: model only); ``detect_kinds``: read strings as tool/SQL/code."""
        request = rerank_request(query, candidates, top_n, model, return_text, raw_scores, lexical_weight,
                                 detect_kinds)
        return ranking_of(rerank_response_from_pb(self._call(self._stub.Rerank, request, timeout)))

    def normalize(self, candidates: Iterable[CandidateLike], model: str = "",
                  timeout: float | None = None, *, detect_kinds: bool = False) -> list[NormalizedItem]:
        """What the model would see for each candidate, with token counts."""
        request = normalize_request(candidates, model, detect_kinds)
        return normalized_items(normalized_from_pb(self._call(self._stub.Normalize, request, timeout)))

    def info(self, timeout: float | None = None) -> ServerInfo:
        """The server's version and served models."""
        return server_info_from_pb(self._call(self._stub.Info, pb.InfoRequest(), timeout))

    def health(self, service: str = "", timeout: float | None = None) -> bool:
        """True when the server (or ``service``) reports SERVING."""
        resp = self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return resp.status == health_pb2.HealthCheckResponse.SERVING

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
