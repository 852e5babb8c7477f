"""The one table from toolrank errors to gRPC status codes, applied by one interceptor."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

import grpc
import grpc.aio

from toolrank.errors import InvalidRequest, ModelUnavailable, Overloaded, ToolrankError

log = logging.getLogger(__name__)

STATUS_OF: tuple[tuple[type[ToolrankError], grpc.StatusCode], ...] = (
    (InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (Overloaded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (ModelUnavailable, grpc.StatusCode.UNAVAILABLE),
    (ToolrankError, grpc.StatusCode.INTERNAL),
)


def grpc_status(exc: ToolrankError) -> grpc.StatusCode:
    for cls, code in STATUS_OF:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Turn ToolrankError into its status; anything unexpected into INTERNAL, logged once."""

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

        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                return await inner(request, context)
            except ToolrankError as exc:
                await context.abort(grpc_status(exc), str(exc))
            except grpc.aio.AbortError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("unexpected error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error (logged on the server)")

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
