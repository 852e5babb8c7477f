"""Channel settings both clients share: TLS credentials, message limits, bearer metadata, request building."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import grpc

from toolrank.balancing import channel_options as balanced_channel
from toolrank.client.inputs import CandidateLike, candidates_pb
from toolrank.v1 import reranker_pb2 as pb

DEFAULT_ADDRESS = "127.0.0.1:50051"
MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # the server's default receive limit


def credentials(root_certificates: bytes | str | os.PathLike[str] | None,
                 tls: bool) -> grpc.ChannelCredentials | None:
    """TLS credentials when asked for: ``root_certificates`` is PEM bytes or a file path."""
    if root_certificates is None:
        return grpc.ssl_channel_credentials() if tls else None
    if not isinstance(root_certificates, bytes):
        root_certificates = Path(root_certificates).read_bytes()
    return grpc.ssl_channel_credentials(root_certificates=root_certificates)


def channel_options(options: Sequence[tuple[str, Any]] | None) -> list[tuple[str, Any]]:
    return [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES), *(options or ())]


class ClientBase:
    """What both clients keep: address, default deadline, bearer metadata, TLS credentials, channel options."""

    def __init__(self, address: str, token: str | None, root_certificates: Any, tls: bool,
                 timeout: float | None, options: Sequence[tuple[str, Any]] | None) -> None:
        self.address = address
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self._credentials = credentials(root_certificates, tls)
        # Several replicas (dns:///name or a comma-separated list): round_robin, UNAVAILABLE retried.
        self._target, balancing = balanced_channel(address)
        if any(key == "grpc.service_config" for key, _ in options or ()):
            balancing = [o for o in balancing if o[0] != "grpc.service_config"]
        self._options = channel_options([*balancing, *(options or ())])

    def _timeout(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout


def rerank_request(query: str, candidates: Iterable[CandidateLike], top_n: int = 0, model: str = "",
                   return_text: bool = False, raw_scores: bool = False, lexical_weight: float | None = None,
                   detect_kinds: bool = False) -> pb.RerankRequest:
    """Every RerankRequest field (tests/test_client_parity.py holds it to the proto); the CLI builds with it too."""
    if not isinstance(query, str):
        raise TypeError("query: expected a string")
    request = pb.RerankRequest(query=query, candidates=candidates_pb(candidates), top_n=max(0, top_n),
                               return_text=return_text, raw_scores=raw_scores, model=model,
                               detect_kinds=detect_kinds)
    if lexical_weight is not None:  # unset = the per-kind default; 0 = model only
        request.lexical_weight = lexical_weight
    return request


def normalize_request(candidates: Iterable[CandidateLike], model: str = "",
                      detect_kinds: bool = False) -> pb.NormalizeRequest:
    return pb.NormalizeRequest(candidates=candidates_pb(candidates), model=model, detect_kinds=detect_kinds)
