"""Pure-ASGI guard in front of the FastAPI app: limits before a body is read, auth, metrics, tracing.

Per request, before the app runs: at most ``MAX_HEADERS`` headers and
``MAX_HEAD_BYTES`` of them (431); ``Content-Length`` over
``limits.max_message_bytes`` (413, before any of the body is read); a POST
without Content-Length or chunked framing (411); a bearer token on every
route but ``/health`` (401). While the app reads the body: a chunked body that
grows past the limit (413) or a body that has not arrived within
``http_read_timeout_s`` of the request (408, slowloris). Bodies being held
(declared or streamed) share one budget, 4 x ``max_message_bytes``: past
it a request is refused at once (429, Retry-After). Afterwards the
request is counted by route template and status. Anything unexpected that
escaped the app is logged once, here, and never reaches the client as a trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toolrank.api.auth import TokenChecker
from toolrank.api.http_errors import error_response
from toolrank.api.metrics import Metrics
from toolrank.api.tracing import Tracing
from toolrank.settings import Settings

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024  # all header names and values together
MAX_HEADERS = 100
BODY_BUDGET_MESSAGES = 4  # request bodies in memory at once: 4 x max_message_bytes (128 MiB by default)
OPEN_PATHS = frozenset({"/health"})
CLOSE = {"Connection": "close"}


class BodyRefused(HTTPException):
    """Raised from ``receive`` while the body is read: too large (413) or too slow (408)."""


class HttpGuard:
    """Wraps the ASGI app; see the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings, checker: TokenChecker, metrics: Metrics,
                 tracing: Tracing | None = None) -> None:
        self.app = app
        self.settings = settings
        self.checker = checker
        self.metrics = metrics
        self.tracing = tracing
        # Bodies held at once (declared or streamed so far), over all requests: each may be up to
        # max_message_bytes, and without a shared budget 576 connections x 32 MiB could hold 18 GiB.
        self.body_budget = BODY_BUDGET_MESSAGES * settings.limits.max_message_bytes
        self.body_bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [0]

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        path = scope.get("path", "")
        held = [0]  # body bytes this request holds against the budget
        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await error_response(path, *refusal)(scope, receive, send_counted)
                return
            declared = _content_length(scope)
            if self.body_bytes + declared > self.body_budget:
                await error_response(path, 429, f"{self.body_bytes} bytes of request bodies are being read, this one "
                                                f"adds {declared}: over the server's budget of {self.body_budget} "
                                                f"bytes, retry later", {**CLOSE, "Retry-After": "1"},
                                     )(scope, receive, send_counted)
                return
            self.body_bytes += declared
            held[0] = declared
            guarded = self._guarded_receive(receive, held)
            if self.tracing is not None:
                with self.tracing.http_span(scope, status):
                    await self.app(scope, guarded, send_counted)
            else:
                await self.app(scope, guarded, send_counted)
        except ClientDisconnect:
            status[0] = status[0] or 499  # the client went away mid-body: nobody to answer, nothing to log
        except Exception:  # noqa: BLE001 - already answered 500 by the app; log once, no trace to the client
            log.exception("unexpected error in HTTP %s %s", scope.get("method"), path)
            if status[0] == 0:
                await error_response(path, 500, "internal error (logged on the server)")(scope, receive, send_counted)
        finally:
            self.body_bytes -= held[0]
            route = scope.get("route")
            method = getattr(route, "path", None) or "other"
            self.metrics.observe_request("http", method, str(status[0] or 500), time.perf_counter() - started)

    def _refusal(self, scope: Scope) -> tuple[int, str, dict[str, str]] | None:
        """(status, message, headers) when the request is refused before the app sees it."""
        if scope.get("http_version") not in ("1.0", "1.1"):
            return 505, f"HTTP/{scope.get('http_version')}: only HTTP/1.0 and HTTP/1.1 are served", CLOSE
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if len(headers) > MAX_HEADERS:
            return 431, f"{len(headers)} headers, over the limit of {MAX_HEADERS}", CLOSE
        size = sum(len(k) + len(v) for k, v in headers)
        if size > MAX_HEAD_BYTES:
            return 431, f"request headers: {size} bytes, over the limit of {MAX_HEAD_BYTES}", CLOSE
        length: bytes | None = None
        chunked = False
        authorization: bytes | None = None
        for name, value in headers:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"authorization":
                authorization = value
        limit = self.settings.limits.max_message_bytes
        if length is not None and chunked:  # RFC 9112 6.3: a smuggling shape; refuse rather than pick one
            return 400, "a request with both Content-Length and Transfer-Encoding", CLOSE
        if length is not None:
            # h11 has already refused anything but ASCII digits, and conflicting values
            if int(length) > limit:
                return 413, f"body: {int(length)} bytes, over the limit of {limit} bytes", CLOSE
        elif not chunked and scope["method"] in ("POST", "PUT", "PATCH"):
            return 411, "a body needs a Content-Length header (or chunked framing)", CLOSE
        if scope.get("path") not in OPEN_PATHS:
            reason = self.checker.refusal(authorization.decode("latin-1") if authorization is not None else None)
            if reason is not None:
                return 401, reason, {"WWW-Authenticate": "Bearer"}
        return None

    def _guarded_receive(self, receive: Receive, held: list[int]) -> Callable[[], Any]:
        """``receive`` with the size limit, the body deadline, and chunked bytes counted against the budget."""
        limit = self.settings.limits.max_message_bytes
        timeout = self.settings.http_read_timeout_s
        deadline = time.monotonic() + timeout
        received = 0
        done = False

        async def guarded() -> Message:
            nonlocal received, done
            if done:
                return await receive()  # after the body: only http.disconnect comes, whenever it comes
            try:
                message = await asyncio.wait_for(receive(), max(0.001, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise BodyRefused(408, f"the body did not arrive within {timeout:g} s", CLOSE) from None
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                received += size
                if received > limit:
                    raise BodyRefused(413, f"body: over the limit of {limit} bytes", CLOSE)
                extra = received - held[0]  # past what Content-Length reserved (chunked bodies)
                if extra > 0:
                    if self.body_bytes + extra > self.body_budget:
                        raise BodyRefused(429, f"request bodies being read are over the server's budget of "
                                               f"{self.body_budget} bytes, retry later", {**CLOSE, "Retry-After": "1"})
                    self.body_bytes += extra
                    held[0] += extra
                done = not message.get("more_body", False)
            return message

        return guarded


def _content_length(scope: Scope) -> int:
    """The declared body size (0 when chunked or absent; h11 has checked it is digits)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value)
    return 0
