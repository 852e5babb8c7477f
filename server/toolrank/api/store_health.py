"""gRPC health for the catalog store: ``toolrank.v1.Catalogs`` follows whether the store answers.

Only that service's status changes: the server's overall status ("") and ``toolrank.v1.Reranker``
stay SERVING while Redis is down, because reranks and selects on catalogs already loaded keep
working (Kubernetes' readiness probe checks ``toolrank.v1.Reranker`` and keeps the pod).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from grpc_health.v1 import health, health_pb2

log = logging.getLogger(__name__)


async def follow_store_health(store: Any, servicer: health.aio.HealthServicer, service_name: str,
                              interval_s: float = 1.0) -> None:
    """Set ``service_name`` SERVING or NOT_SERVING as the store's ``available()`` says, until cancelled."""
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    available = getattr(store, "available", None)
    if available is None:  # an embedded store (sqlite, memory) is there as long as the process is
        await servicer.set(service_name, serving)
        return
    last: bool | None = None
    while True:
        ok = bool(await asyncio.to_thread(available))
        if ok != last:
            await servicer.set(service_name, serving if ok else not_serving)
            last = ok
        await asyncio.sleep(interval_s)
