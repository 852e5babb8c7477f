"""gRPC side of the one error table (``toolrank.errors.STATUS_TABLE``), applied by one interceptor."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

import grpc
import grpc.aio

from toolrank.api.metrics import Metrics
from toolrank.api.tracing import Tracing
from toolrank.errors import ERROR_CLASS_KEY, STATUS_TABLE, ToolrankError, status_of

log = logging.getLogger(__name__)

# The table's gRPC column as StatusCode values (the client reads it backwards).
STATUS_OF: tuple[tuple[type[ToolrankError], grpc.StatusCode], ...] = tuple(
    (cls, grpc.StatusCode[code]) for cls, code, _ in STATUS_TABLE)


def grpc_status(exc: ToolrankError) -> grpc.StatusCode:
    return grpc.StatusCode[status_of(exc)[0]]


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Turn ToolrankError into its status; anything unexpected into INTERNAL, logged once.

    With ``metrics``, every unary call is also counted by method and final status, with its latency;
    with ``tracing``, each call is a span whose parent comes from the call's ``traceparent`` metadata.
    """

    def __init__(self, metrics: Metrics | None = None, tracing: Tracing | None = None) -> None:
        self.metrics = metrics
        self.tracing = tracing

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = handler_call_details.method

        async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, _Unreadable):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"request: not a valid protobuf message for {method} ({request.reason})")
            try:
                return await inner(request, context)
            except ToolrankError as exc:
                context.set_trailing_metadata(((ERROR_CLASS_KEY, type(exc).__name__),))  # the client tells classes apart
                await context.abort(grpc_status(exc), str(exc))
            except grpc.aio.AbortError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("unexpected error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error (logged on the server)")

        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if self.tracing is None:
                return await counted(request, context)
            with self.tracing.grpc_span(method, context.invocation_metadata()) as span:
                try:
                    return await counted(request, context)
                finally:
                    code = context.code()
                    span.set_attribute("rpc.grpc.status_code", code.value[0] if isinstance(code, grpc.StatusCode)
                                       else 0)

        async def counted(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if self.metrics is None:
                return await handle(request, context)
            started = time.perf_counter()
            status = "OK"
            try:
                return await handle(request, context)
            except grpc.aio.AbortError:
                code = context.code()
                status = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
                raise
            except asyncio.CancelledError:
                status = "CANCELLED"
                raise
            finally:
                self.metrics.observe_request("grpc", method, status, time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=_lenient(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )


class _Unreadable:
    """Stands for a request whose bytes did not parse (binary garbage, bad UTF-8 in a string field)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _lenient(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A deserializer that hands on a parse failure, so it becomes INVALID_ARGUMENT rather than UNKNOWN."""
    if deserialize is None:
        return None

    def read(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError, and others on odd input
            return _Unreadable(str(exc).split(":")[-1].strip() or type(exc).__name__)

    return read
