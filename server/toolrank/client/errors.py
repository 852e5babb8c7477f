"""Server errors as the same :mod:`toolrank.errors` classes the server raised, picked by gRPC status."""

from __future__ import annotations

import grpc

from toolrank.errors import ToolrankError


class RpcFailed(ToolrankError):
    """A call failed with a status no toolrank error stands for (INTERNAL, UNIMPLEMENTED...)."""


def _error_table() -> dict[grpc.StatusCode, type[ToolrankError]]:
    """The server's one table (``toolrank.api.errors.STATUS_OF``) read backwards."""
    from toolrank.api.errors import STATUS_OF

    table: dict[grpc.StatusCode, type[ToolrankError]] = {}
    for cls, code in STATUS_OF:
        if cls is not ToolrankError:
            table.setdefault(code, cls)
    return table


_ERROR_OF: dict[grpc.StatusCode, type[ToolrankError]] = {}


def error_from_rpc(exc: grpc.RpcError) -> ToolrankError:
    """The toolrank exception for a failed call; its ``code`` attribute keeps the gRPC status.

    INVALID_ARGUMENT -> InvalidRequest, RESOURCE_EXHAUSTED -> Overloaded,
    UNAVAILABLE (also: server unreachable) -> ModelUnavailable, and so on;
    statuses with no toolrank error -> RpcFailed.
    """
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = (exc.details() if hasattr(exc, "details") else None) or str(code)
    if not _ERROR_OF:  # read on first use: the table's module is the server's, not needed to import a client
        _ERROR_OF.update(_error_table())
    err = _ERROR_OF.get(code, RpcFailed)(f"{code.name}: {details}")
    err.code = code  # type: ignore[attr-defined]
    return err
