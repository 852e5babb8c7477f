"""Bearer-token auth for the MCP streamable-HTTP transport, and the rule that it is on off loopback.

``toolrank mcp proxy|serve --transport streamable-http`` forwards tool calls to upstreams that may hold
credentials: anyone who reaches the port could use them. So ``--auth-token`` (or ``TOOLRANK_MCP_TOKEN``)
makes every request carry ``Authorization: Bearer <token>`` (401 otherwise), and binding anything but a
loopback address without a token is refused at start with one line saying so.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV = "TOOLRANK_MCP_TOKEN"


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_exposure(host: str, token: str | None) -> None:
    """Refuse (ValueError, one line) to serve on a non-loopback address without a token."""
    if not token and not is_loopback(host):
        raise ValueError(f"refusing to serve streamable HTTP on {host} without a token: anyone who reaches it could "
                         f"call the upstreams' tools; give --auth-token TOKEN (or {TOKEN_ENV}), or bind 127.0.0.1")


class BearerAuth:
    """ASGI middleware: HTTP requests without ``Authorization: Bearer <token>`` get 401 (lifespan passes)."""

    def __init__(self, app: App, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "unauthorized: send Authorization: Bearer <token> (toolrank mcp --auth-token)"
                           }).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b'Bearer realm="toolrank-mcp"')]})
        await send({"type": "http.response.body", "body": body})
