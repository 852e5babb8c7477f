"""Safe defaults of the MCP transports: what upstreams inherit, and who may talk to the HTTP endpoint.

* An upstream started over stdio gets the ``mcp`` SDK's default environment (HOME, PATH, USER and
  the like: :func:`mcp.client.stdio.get_default_environment`) plus the variables ``--pass-env``
  names, never the proxy's whole environment, which carries the proxy's own secrets (store URLs,
  tokens, cloud credentials) into every third-party server it starts.
* The streamable-HTTP endpoint takes a bearer token (``--auth-token``, ``TOOLRANK_MCP_TOKEN``):
  without the right ``Authorization: Bearer`` header every request is answered 401, compared in
  constant time by the same checker the gRPC/HTTP API uses. Listening on anything but a loopback
  address without a token is refused before anything starts.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from mcp.client.stdio import get_default_environment

from toolrank.api.auth import TokenChecker

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOKEN_VARIABLE = "TOOLRANK_MCP_TOKEN"


def check_env_names(names: Iterable[str]) -> tuple[str, ...]:
    """``--pass-env`` values as variable names, or ValueError naming the bad one."""
    out: list[str] = []
    for name in names:
        if not ENV_NAME.fullmatch(name):
            raise ValueError(f"--pass-env {name!r}: expected an environment variable's name (letters, digits, _)")
        if name not in out:
            out.append(name)
    return tuple(out)


def upstream_environment(pass_env: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The environment an upstream process starts with: the SDK's safe default, plus the named variables."""
    env = get_default_environment()
    env.update({name: environ[name] for name in pass_env if name in environ})
    return env


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine (``localhost`` or a loopback address; a name is not trusted)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def require_token_off_loopback(host: str, token: str | None) -> None:
    """ValueError (one line) when the HTTP endpoint would be reachable from other machines without a token."""
    if not token and not is_loopback(host):
        raise ValueError(f"refusing to serve streamable HTTP on {host} without a bearer token: anyone who can reach "
                         f"it could call every upstream tool; give --auth-token TOKEN (or {TOKEN_VARIABLE}), "
                         "or bind 127.0.0.1")


class BearerTokenGate:
    """ASGI middleware: HTTP requests without the bearer token get 401 (a websocket is closed); lifespan passes."""

    def __init__(self, app: Any, token: str) -> None:
        if not token:
            raise ValueError("BearerTokenGate needs a non-empty token")
        self.app = app
        self.checker = TokenChecker([token])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        authorization = next((value.decode("latin-1") for key, value in scope.get("headers", ())
                              if key.lower() == b"authorization"), None)
        reason = self.checker.refusal(authorization)
        if reason is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": "invalid_token", "error_description": reason}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b'Bearer error="invalid_token"')]})
        await send({"type": "http.response.body", "body": body})
