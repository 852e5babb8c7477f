"""The gRPC transport: toolrank.v1.Reranker, grpc.health.v1.Health and reflection.

``create_server`` builds a server bound to a port (0 = any free port) and
returns it with the port, so tests run on loopback; ``toolrank.api.serve``
runs it beside the HTTP server.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from dataclasses import dataclass

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

import toolrank
from toolrank.convert import (
    candidate_from_pb,
    model_info_to_pb,
    normalized_to_pb,
    rerank_query_from_pb,
    rerank_response_to_pb,
)
from toolrank.api.auth import AuthInterceptor, TokenChecker
from toolrank.api.aliases import ModelAliases
from toolrank.api.errors import ErrorInterceptor
from toolrank.api.grpc_catalogs import add_catalogs_service
from toolrank.catalogs.service import CatalogService
from toolrank.api.metrics import Metrics
from toolrank.api.tracing import Tracing
from toolrank.api.tls import grpc_credentials
from toolrank.engine.engine import Engine
from toolrank.settings import Settings
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Reranker"].full_name
MAX_CONNECTION_AGE_MS = 5 * 60 * 1000


class RerankerService(pb_grpc.RerankerServicer):
    """Converts messages and calls the engine; nothing else."""

    def __init__(self, engine: Engine, aliases: ModelAliases | None = None) -> None:
        self.engine = engine
        self.aliases = aliases or ModelAliases()

    async def Rerank(self, request: pb.RerankRequest, context: grpc.aio.ServicerContext) -> pb.RerankResponse:
        query = rerank_query_from_pb(request)
        outcome = await self.engine.rerank(replace(query, model=self.aliases.resolve(query.model)))
        return rerank_response_to_pb(outcome)

    async def Normalize(self, request: pb.NormalizeRequest, context: grpc.aio.ServicerContext) -> pb.NormalizeResponse:
        candidates = tuple(candidate_from_pb(c, request.detect_kinds) for c in request.candidates)
        return normalized_to_pb(await self.engine.normalize_candidates(candidates,
                                                                       self.aliases.resolve(request.model)))

    async def Info(self, request: pb.InfoRequest, context: grpc.aio.ServicerContext) -> pb.InfoResponse:
        default = self.engine.default_model
        return pb.InfoResponse(
            version=toolrank.__version__,
            models=[model_info_to_pb(s, default) for s in self.engine.model_specs()],
            default_model=default,
        )


@dataclass
class RunningServer:
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    catalogs: CatalogService  # the one the Catalogs service answers from (HTTP's catalog routes share it)

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", SERVICE_NAME):
            await self.health.set(name, status)


def grpc_options(settings: Settings) -> list[tuple[str, int]]:
    """Message size limits (the request limits are checked again, per field, by the engine).

    grpc turns SO_REUSEPORT on by default, so a second server on a busy port would start and
    share its requests: off unless the operator asks for it (``--reuse-port``).
    """
    size = settings.limits.max_message_bytes
    return [
        ("grpc.max_receive_message_length", size),
        ("grpc.max_send_message_length", size),
        ("grpc.max_metadata_size", 16 * 1024),
        ("grpc.so_reuseport", 1 if settings.reuse_port else 0),
        # Replicas behind DNS: clients re-resolve when a connection closes, so close each one gracefully now
        # and then (calls in flight finish) and clients find replicas added since they connected.
        ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_MS),
        ("grpc.max_connection_age_grace_ms", int(max(settings.request_timeout_s, 1.0) * 1000)),
    ]


async def create_server(settings: Settings, engine: Engine, metrics: Metrics | None = None,
                        tracing: Tracing | None = None, catalogs: CatalogService | None = None) -> RunningServer:
    """Build and bind (not start) the gRPC server; health starts NOT_SERVING.

    ``catalogs``: the catalog service to answer toolrank.v1.Catalogs from (``serve()`` builds one and shares
    it with HTTP); None builds one on ``settings.store`` here.
    """
    catalogs = catalogs or CatalogService.from_settings(engine, settings)
    tokens = TokenChecker.from_settings(settings)
    interceptors: list[grpc.aio.ServerInterceptor] = [AuthInterceptor(tokens)] if tokens.enabled else []
    # A hard cap on calls in the server (beyond it: RESOURCE_EXHAUSTED), above the engine's own admission
    # limit, so that even calls not yet admitted (being read, validated) cannot pile up without bound.
    server = grpc.aio.server(interceptors=[*interceptors, ErrorInterceptor(metrics or Metrics(engine), tracing)],
                             options=grpc_options(settings),
                             maximum_concurrent_rpcs=2 * settings.max_inflight_requests + 64)
    pb_grpc.add_RerankerServicer_to_server(RerankerService(engine, ModelAliases(settings.model_aliases)), server)
    catalogs_name = add_catalogs_service(server, catalogs)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, catalogs_name, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    credentials = grpc_credentials(settings)
    address = f"{settings.host}:{settings.port}"
    try:
        port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    except RuntimeError:  # grpc.aio raises where grpc returns 0
        port = 0
    if port == 0:
        raise OSError(f"cannot bind {settings.host}:{settings.port} (in use? --reuse-port shares it on purpose)")
    running = RunningServer(server, port, health_servicer, catalogs)
    await running.set_serving(False)
    return running


async def follow_engine(engine: Engine, running: RunningServer) -> BaseException:
    """Wait until the engine fails for good (a scheduler died), then report NOT_SERVING; returns the error."""
    exc = await engine.wait_failed()
    await running.set_serving(False)
    return exc
