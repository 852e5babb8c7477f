"""One exception hierarchy; ``toolrank.api`` maps each class to a status code once.

There is no normalizer error: a normalizer that cannot read its input falls back to a
generic rendering and says so (``Normalized.fallback``), it never raises.
"""

from __future__ import annotations


class ToolrankError(Exception):
    """Root of every error toolrank raises on purpose."""


class InvalidRequest(ToolrankError):
    """The request is malformed or over a limit; the message names the field."""


class RequestTooLarge(InvalidRequest):
    """The request exceeds a size limit (HTTP 413; gRPC INVALID_ARGUMENT)."""


class UnknownModel(InvalidRequest):
    """The request names a model this server does not serve."""


class Overloaded(ToolrankError):
    """Too much work in flight: refused at once rather than queued without bound."""


class CatalogNotFound(ToolrankError):
    """The request names a catalog that does not exist (gRPC NOT_FOUND, HTTP 404)."""


class CatalogLimitExceeded(Overloaded):
    """A put would pass the server's limit on catalogs or on candidates per catalog (RESOURCE_EXHAUSTED)."""


class ModelNotServed(ToolrankError):
    """The catalog is embedded with a model this server does not serve (gRPC FAILED_PRECONDITION, HTTP 400):
    not retryable here; serve the model on this replica or put the catalog again with a served one."""


class WriteConflict(ToolrankError):
    """Other writers kept changing the catalog while this put retried (gRPC ABORTED, HTTP 409): retry the put.

    Not a limit: :class:`CatalogLimitExceeded` means the put can never succeed as it is.
    """


class StoreUnavailable(ToolrankError):
    """The catalog store (e.g. Redis) cannot be reached: puts fail (gRPC UNAVAILABLE, HTTP 503), loaded catalogs still answer."""


class DeadlineExceeded(ToolrankError):
    """The request ran past the server's per-request limit (``request_timeout_s``); its work was stopped."""


class Unauthenticated(ToolrankError):
    """No bearer token, or not one this server accepts (gRPC UNAUTHENTICATED, HTTP 401)."""


class ConfigError(ToolrankError):
    """The server's configuration cannot be used (unreadable file, half a TLS key pair); it refuses to start."""


class ModelUnavailable(ToolrankError):
    """The model failed to load, is not ready, or failed while running."""


class InferenceError(ToolrankError):
    """The model failed on this request's input alone (the rest of its batch ran fine): gRPC INTERNAL, HTTP 500,
    which clients do not retry on other replicas (UNAVAILABLE would fail the request there too)."""


class ModelLoadError(ModelUnavailable):
    """A model directory is missing files or cannot be opened."""


class InvalidField(InvalidRequest):
    """A field of the wrong type or value in an HTTP body (HTTP 422; gRPC INVALID_ARGUMENT)."""


# The one table from toolrank errors to transport statuses, most specific class first:
# (error class, gRPC status code name, HTTP status). Both transports and the client read it.
STATUS_TABLE: tuple[tuple[type[ToolrankError], str, int], ...] = (
    (RequestTooLarge, "INVALID_ARGUMENT", 413),
    (InvalidField, "INVALID_ARGUMENT", 422),
    (InvalidRequest, "INVALID_ARGUMENT", 400),
    (CatalogNotFound, "NOT_FOUND", 404),
    (Unauthenticated, "UNAUTHENTICATED", 401),
    (Overloaded, "RESOURCE_EXHAUSTED", 429),
    (WriteConflict, "ABORTED", 409),
    (ModelNotServed, "FAILED_PRECONDITION", 400),
    (StoreUnavailable, "UNAVAILABLE", 503),  # before ModelUnavailable: clients map UNAVAILABLE to the last one
    (ModelUnavailable, "UNAVAILABLE", 503),
    (DeadlineExceeded, "DEADLINE_EXCEEDED", 504),
    (ToolrankError, "INTERNAL", 500),
)


# Errors that share a status are told apart by name: gRPC trailing metadata and an HTTP header carry it
# (StoreUnavailable vs ModelUnavailable, both UNAVAILABLE; CatalogLimitExceeded vs Overloaded).
ERROR_CLASS_KEY = "toolrank-error"


def error_class_named(name: str, grpc_code: str) -> type[ToolrankError] | None:
    """The table's class called ``name`` when its status is ``grpc_code`` (a client reading a failed call)."""
    for cls, code, _http in STATUS_TABLE:
        if code == grpc_code:
            for candidate in (cls, *_subclasses(cls)):
                if candidate.__name__ == name:
                    return candidate
    return None


def _subclasses(cls: type[ToolrankError]) -> list[type[ToolrankError]]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def status_of(exc: BaseException) -> tuple[str, int]:
    """(gRPC code name, HTTP status) for an error; anything not a ToolrankError is INTERNAL / 500."""
    for cls, grpc_code, http_status in STATUS_TABLE:
        if isinstance(exc, cls):
            return grpc_code, http_status
    return "INTERNAL", 500
