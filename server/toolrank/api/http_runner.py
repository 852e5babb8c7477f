"""Runs the FastAPI app with uvicorn in the current event loop (the one gRPC uses): bind, start, stop.

uvicorn's h11 protocol parses HTTP; the subclass here only answers what h11
refuses with the status h11 suggests (400, 431) as JSON, and gives a client
``http_read_timeout_s`` to send each request head (408 for a half-sent head;
an idle connection is closed quietly), which uvicorn itself does not bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import ssl
import sys
from http import HTTPStatus
from typing import Any, Callable, Iterable, Iterator

import h11
import uvicorn
from fastapi import APIRouter
from uvicorn.protocols.http.h11_impl import H11Protocol

from toolrank.api.http_app import HttpState, RouterFactory, create_app
from toolrank.api.http_errors import ERROR_TYPE
from toolrank.api.metrics import Metrics
from toolrank.api.tls import http_ssl_context
from toolrank.api.tracing import Tracing
from toolrank.catalogs.service import CatalogService
from toolrank.engine.engine import Engine
from toolrank.settings import Settings

_BARE_LF = re.compile(rb"(?<!\r)\n")
HEAD_BUFFER_BYTES = 64 * 1024  # h11's cap on a request head; the guard refuses heads over 16 KiB with 431


class _QuietRefusals(logging.LoggerAdapter):  # type: ignore[type-arg]
    """uvicorn's logger minus its warning for each malformed request: those are answered (400/431) and
    counted in metrics; a log line each would let any client flood the log."""

    @property
    def level(self) -> int:
        return self.logger.level

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        if msg != "Invalid HTTP request received.":
            self.logger.warning(msg, *args, **kwargs)


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol with JSON refusals and a deadline for each request head."""

    head_timeout_s: float = 30.0
    metrics: Metrics | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = _QuietRefusals(logging.getLogger("uvicorn.error"), {})  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._cycle_seen: Any = None
        self._head_tail = b""
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        """Refuse a head with a bare LF line end: h11 would read it as a line break, a proxy may not (smuggling)."""
        if self.conn.their_state in (h11.IDLE, h11.DONE):  # these bytes start or continue a request head
            seen = self._head_tail + data
            end = seen.find(b"\r\n\r\n")
            if _BARE_LF.search(seen if end < 0 else seen[: end + 4]):
                self._refuse(400, "malformed request: a line of the request head ends in LF without CR")
                return
            self._head_tail = seen[-3:] if end < 0 else b""
        super().data_received(data)

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timeout)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and self.cycle is not self._cycle_seen and self._head_timer is not None:
            self._cycle_seen = self.cycle  # a request head arrived: the guard bounds its body
            self._head_timer.cancel()
            self._head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "_head_timer", None) is not None:
            self._head_timer.cancel()  # type: ignore[union-attr]
        super().connection_lost(exc)

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        pending, _ = self.conn.trailing_data
        if pending and self.conn.our_state is h11.IDLE:
            self._refuse(408, f"the request head did not arrive within {self.head_timeout_s:g} s")
        else:
            self.transport.close()  # idle between requests: close quietly

    def send_400_response(self, msg: str) -> None:
        """Called by uvicorn while handling h11's RemoteProtocolError: use the status h11 suggests."""
        exc = sys.exc_info()[1]
        status = getattr(exc, "error_status_hint", 400) if isinstance(exc, h11.RemoteProtocolError) else 400
        detail = str(exc) if isinstance(exc, h11.RemoteProtocolError) and str(exc) else msg
        if status == 431:
            detail = f"request head over {HEAD_BUFFER_BYTES} bytes"
        self._refuse(status, f"malformed request: {detail}" if status == 400 else detail)

    def _refuse(self, status: int, message: str) -> None:
        if self.metrics is not None:
            self.metrics.observe_request("http", "other", str(status), 0.0)
        body = json.dumps({"error": {"type": ERROR_TYPE.get(status, "error"), "message": message}}).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close"),
                   (b"content-length", str(len(body)).encode())]
        try:
            if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers,
                                                                reason=HTTPStatus(status).phrase.encode())))
                self.transport.write(self.conn.send(h11.Data(data=body)))
                self.transport.write(self.conn.send(h11.EndOfMessage()))
        except h11.LocalProtocolError:
            pass  # the connection is past answering: just close it
        self.transport.close()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: ``toolrank.api.serve`` owns SIGTERM/SIGINT for both transports."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """A bound (not yet serving) HTTP server on the running loop; ``start()``, then ``stop(grace_s)``."""

    def __init__(self, settings: Settings, engine: Engine, metrics: Metrics | None = None,
                 tracing: Tracing | None = None, routers: Iterable[APIRouter | RouterFactory] = (),
                 catalogs: CatalogService | None = None) -> None:
        self.settings = settings
        self.state = HttpState()
        metrics = metrics or Metrics(engine)
        self.app = create_app(engine, settings, metrics, routers, self.state, tracing, catalogs)
        protocol = type("TimedH11Protocol", (_Protocol,), {"head_timeout_s": settings.http_read_timeout_s,
                                                           "metrics": metrics})
        context = http_ssl_context(settings)  # a bad TLS file fails here, at bind time, not on the first connection

        def ssl_factory(config: uvicorn.Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
            assert context is not None
            return context

        self.config = uvicorn.Config(
            self.app, host=settings.host, port=settings.http_port, http=protocol, lifespan="off",
            log_config=None, access_log=False, server_header=False,
            timeout_keep_alive=max(1, int(settings.http_read_timeout_s)),
            limit_concurrency=2 * settings.max_inflight_requests + 64,
            timeout_graceful_shutdown=max(1, int(settings.grace_s)),
            h11_max_incomplete_event_size=HEAD_BUFFER_BYTES, ssl_context_factory=ssl_factory if context is not None else None)
        self.server = _Server(self.config)
        self.port = 0
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def draining(self) -> bool:
        return self.state.draining

    @draining.setter
    def draining(self, value: bool) -> None:
        self.state.draining = value

    def bind(self) -> None:
        """Bind the listening socket (OSError when the port is busy)."""
        family, _, proto, _, address = socket.getaddrinfo(self.settings.host, self.settings.http_port,
                                                          type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
        # proto IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so, and without it
        # Nagle's algorithm and delayed ACKs add ~40 ms to each response (measured: bench/http_overhead.py)
        sock = socket.socket(family, socket.SOCK_STREAM, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT only; a listener still refuses
            sock.bind(address)
            sock.listen(2048)
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot bind the HTTP port {self.settings.host}:{self.settings.http_port} "
                          f"({exc.strerror or exc})") from exc
        sock.setblocking(False)
        self._socket = sock
        self.port = self._socket.getsockname()[1]

    async def start(self) -> None:
        assert self._socket is not None, "bind() first"
        self._task = asyncio.create_task(self.server.serve(sockets=[self._socket]))
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start
                raise OSError(f"the HTTP server on {self.settings.host}:{self.port} did not start")
            await asyncio.sleep(0.01)

    async def stop(self, grace_s: float = 1.0) -> None:
        """Refuse new connections; requests being answered get ``grace_s``; then every connection closes."""
        self.state.draining = True
        self.config.timeout_graceful_shutdown = max(0.1, grace_s)  # type: ignore[assignment]
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), grace_s + 5)


async def create_http_server(settings: Settings, engine: Engine, metrics: Metrics | None = None,
                             tracing: Tracing | None = None, routers: Iterable[APIRouter | RouterFactory] = (),
                             catalogs: CatalogService | None = None) -> HttpServer:
    """Build and bind (not start) the HTTP server on ``settings.host:settings.http_port`` (0 = a free port)."""
    server = HttpServer(settings, engine, metrics, tracing, routers, catalogs)
    server.bind()
    return server
