"""``toolrank serve``: one engine, gRPC and (with ``--http-port``) HTTP side by side on one event loop.

Order: read TLS/token files (a bad one fails before the model loads), load the
engine, bind both ports (a busy one fails here), start both transports, warm
up, then health SERVING. On SIGTERM/SIGINT: health NOT_SERVING on both, new
requests refused (UNAVAILABLE / 503), requests in flight get ``grace_s``, then
both transports stop, the engine stops, and the process exits 0.

If the engine fails for good (its batch scheduler died: a bug), health turns
NOT_SERVING at once, the same shutdown runs, and ``serve`` raises
``ModelUnavailable`` (the CLI exits 1): it is not restarted in place.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import toolrank
from toolrank.api.aliases import ModelAliases
from toolrank.api.auth import TokenChecker
from toolrank.api.grpc_catalogs import SERVICE_NAME as CATALOGS_SERVICE
from toolrank.api.grpc_server import create_server, follow_engine
from toolrank.api.http_runner import HttpServer, create_http_server
from toolrank.api.metrics import Metrics
from toolrank.api.store_health import follow_store_health
from toolrank.api.tls import grpc_credentials, http_ssl_context
from toolrank.api.tracing import Tracing
from toolrank.catalogs.service import CatalogService
from toolrank.engine.engine import Engine
from toolrank.errors import ModelUnavailable
from toolrank.settings import Settings

log = logging.getLogger(__name__)


def write_address_file(path: str, host: str, port: int) -> None:
    """``host:port`` a local client can dial (a wildcard bind becomes loopback), written whole or not at all."""
    dial = "127.0.0.1" if host in ("", "0.0.0.0") else "[::1]" if host in ("::", "[::]") else host
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(f"{dial}:{port}\n", encoding="utf-8")
    partial.replace(target)


async def serve(settings: Settings, engine: Engine | None = None, stop: asyncio.Event | None = None) -> None:
    """Load, warm up, serve until a signal (or ``stop``), then shut down gracefully."""
    grpc_credentials(settings)
    http_ssl_context(settings)
    TokenChecker.from_settings(settings)
    tracing = Tracing.from_settings(settings)
    if engine is None:
        engine = await asyncio.to_thread(Engine.from_settings, settings)
    catalogs = CatalogService.from_settings(engine, settings)  # opens --store now: a bad one fails before serving
    metrics = Metrics(engine)
    if tracing is not None:
        engine.add_observer(tracing)
    running = await create_server(settings, engine, metrics, tracing, catalogs)
    http: HttpServer | None = None
    if settings.http_port >= 0:
        http = await create_http_server(settings, engine, metrics, tracing, catalogs=catalogs)
    await running.server.start()
    if http is not None:
        await http.start()  # /health says 503 until the engine is warm
    await engine.start()
    try:
        ModelAliases(settings.model_aliases).check([s.name for s in engine.model_specs()])
    except Exception:
        await asyncio.gather(running.server.stop(0), http.stop(0) if http is not None else asyncio.sleep(0))
        await engine.stop()
        raise
    await running.set_serving(True)
    store_health = asyncio.create_task(follow_store_health(catalogs.store, running.health, CATALOGS_SERVICE))
    log.info("toolrank %s serving %s on %s:%d", toolrank.__version__,
             ", ".join(s.name for s in engine.model_specs()), settings.host, running.port)
    print(f"toolrank serving on {settings.host}:{running.port}", flush=True)
    if settings.address_file:  # the port actually bound, however it was set: the image's HEALTHCHECK reads it
        write_address_file(settings.address_file, settings.host, running.port)
    if http is not None:
        log.info("HTTP API (Cohere/Jina/TEI rerank, /health, /info, /metrics, /docs) on %s:%d",
                 settings.host, http.port)
        print(f"toolrank HTTP on {settings.host}:{http.port}", flush=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch = asyncio.ensure_future(follow_engine(engine, running))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([watch, stopping], return_when=asyncio.FIRST_COMPLETED)
    failure = watch.result() if watch.done() else None
    watch.cancel()
    stopping.cancel()
    if failure is not None:  # not restarted in place: exit 1 and let the supervisor (Docker, k8s) start afresh
        log.error("the engine failed (%s): health NOT_SERVING, shutting down", type(failure).__name__)
    log.info("shutting down: health NOT_SERVING, %.1fs grace for in-flight requests", settings.grace_s)
    started = loop.time()
    if http is not None:
        http.draining = True  # /health 503 at once
    await running.health.enter_graceful_shutdown()  # health says NOT_SERVING (while still answering)
    # Then new requests are refused with UNAVAILABLE/503 while those in flight finish, within the grace period.
    if not await engine.drain(settings.grace_s):
        log.warning("grace period over: %d requests still in flight are cancelled", engine.inflight)
    left = max(0.5, settings.grace_s - (loop.time() - started))
    await asyncio.gather(running.server.stop(left), http.stop(left) if http is not None else asyncio.sleep(0))
    store_health.cancel()
    await catalogs.aclose()
    await engine.stop()
    if tracing is not None:
        tracing.shutdown()
    if settings.address_file:
        Path(settings.address_file).unlink(missing_ok=True)
    log.info("stopped")
    if failure is not None:
        raise ModelUnavailable(f"the engine failed: {type(failure).__name__}: {failure}")

