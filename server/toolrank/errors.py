"""One exception hierarchy; ``toolrank.api`` maps each class to a status code once."""

from __future__ import annotations


class ToolrankError(Exception):
    """Root of every error toolrank raises on purpose."""


class InvalidRequest(ToolrankError):
    """The request is malformed or over a limit; the message names the field."""


class RequestTooLarge(InvalidRequest):
    """The request exceeds a size limit (HTTP 413; gRPC INVALID_ARGUMENT)."""


class UnknownModel(InvalidRequest):
    """The request names a model this server does not serve."""


class NormalizeError(ToolrankError):
    """A normalizer could not read its input (position says where)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class Overloaded(ToolrankError):
    """Too much work in flight: refused at once rather than queued without bound."""


class CatalogNotFound(ToolrankError):
    """The request names a catalog that does not exist (gRPC NOT_FOUND, HTTP 404)."""


class CatalogLimitExceeded(Overloaded):
    """A put would pass the server's limit on catalogs or on candidates per catalog (RESOURCE_EXHAUSTED)."""


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


class ModelLoadError(ModelUnavailable):
    """A model directory is missing files or cannot be opened."""
