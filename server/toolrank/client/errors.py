"""Server errors as the same :mod:`toolrank.errors` classes the server raised, picked by gRPC status."""

from __future__ import annotations

import grpc

from toolrank.errors import ERROR_CLASS_KEY, STATUS_TABLE, ToolrankError, error_class_named


class RpcFailed(ToolrankError):
    """A call failed with a status no toolrank error stands for (INTERNAL, UNIMPLEMENTED...)."""


def _error_table() -> dict[grpc.StatusCode, type[ToolrankError]]:
    """The one error table (``toolrank.errors.STATUS_TABLE``) read backwards, gRPC column."""
    table: dict[grpc.StatusCode, type[ToolrankError]] = {}
    for cls, code, _http in reversed(STATUS_TABLE):  # most general class per code (InvalidRequest, not RequestTooLarge)
        if cls is not ToolrankError:
            table.setdefault(grpc.StatusCode[code], cls)
    return table


_ERROR_OF = _error_table()


def error_from_rpc(exc: grpc.RpcError) -> ToolrankError:
    """The toolrank exception for a failed call; its ``code`` attribute keeps the gRPC status.

    INVALID_ARGUMENT -> InvalidRequest, RESOURCE_EXHAUSTED -> Overloaded,
    UNAVAILABLE (also: server unreachable) -> ModelUnavailable, and so on;
    statuses with no toolrank error -> RpcFailed.
    """
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = (exc.details() if hasattr(exc, "details") else None) or str(code)
    cls = _ERROR_OF.get(code, RpcFailed)
    trailing = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == ERROR_CLASS_KEY:  # the server's own class: StoreUnavailable, not ModelUnavailable, for UNAVAILABLE
            cls = error_class_named(str(value), code.name) or cls
    err = cls(f"{code.name}: {details}")
    err.code = code  # type: ignore[attr-defined]
    return err
