"""Bearer-token authentication: every RPC and HTTP route needs a token, except health.

Tokens come from ``--auth-tokens-file`` (one a line, ``#`` comments) and the
``TOOLRANK_AUTH_TOKENS`` variable (comma-separated). With none configured,
nothing is checked. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any, Awaitable, Callable

import grpc
import grpc.aio

from toolrank.errors import ConfigError, Unauthenticated
from toolrank.settings import Settings

HEALTH_METHOD_PREFIX = "/grpc.health.v1.Health/"
MISSING = "missing bearer token: send the header 'authorization: Bearer <token>'"
REJECTED = "invalid bearer token"


class TokenChecker:
    """Holds the accepted tokens; ``check`` says whether an Authorization value carries one."""

    def __init__(self, tokens: list[str] | tuple[str, ...] = ()) -> None:
        self._tokens = tuple(t.encode("utf-8") for t in tokens if t)

    @classmethod
    def from_settings(cls, settings: Settings) -> "TokenChecker":
        tokens = [t.strip() for t in settings.auth_tokens.split(",")]
        if settings.auth_tokens_file:
            try:
                text = Path(settings.auth_tokens_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read the auth tokens file {settings.auth_tokens_file}: {exc}") from None
            file_tokens = [line.strip() for line in text.splitlines()]
            tokens += [t for t in file_tokens if t and not t.startswith("#")]
            if not any(tokens):
                raise ConfigError(f"the auth tokens file {settings.auth_tokens_file} holds no token")
        return cls(tokens)

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def refusal(self, authorization: str | None) -> str | None:
        """None when the request may pass, else why not (never echoing what was sent)."""
        if not self._tokens:
            return None
        if not authorization:
            return MISSING
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return MISSING
        given = token.strip().encode("utf-8", "surrogateescape")
        accepted = False
        for known in self._tokens:  # look at every token: the time does not say which one matched
            accepted |= hmac.compare_digest(known, given)
        return None if accepted else REJECTED

    def require(self, authorization: str | None) -> None:
        """Raise Unauthenticated unless ``authorization`` carries an accepted token."""
        reason = self.refusal(authorization)
        if reason is not None:
            raise Unauthenticated(reason)


def _authorization(details: grpc.HandlerCallDetails) -> str | None:
    for key, value in details.invocation_metadata or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """UNAUTHENTICATED for every call without an accepted token, except the health service."""

    def __init__(self, checker: TokenChecker) -> None:
        self.checker = checker

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(HEALTH_METHOD_PREFIX):
            return handler
        reason = self.checker.refusal(_authorization(handler_call_details))
        if reason is None:
            return handler
        return _denying(handler, reason)


def _denying(handler: grpc.RpcMethodHandler, reason: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape that refuses the call (the request is never deserialized)."""

    async def deny(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, reason)

    serializer = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(deny, response_serializer=serializer)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(deny, response_serializer=serializer)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(deny, response_serializer=serializer)
    return grpc.stream_stream_rpc_method_handler(deny, response_serializer=serializer)
