"""The HTTP transport: a Cohere/Jina-compatible rerank API, health, info and Prometheus metrics.

HTTP/1.1 on asyncio streams, stdlib only, served by the same Engine (and so
the same admission limits) as gRPC. Routes::

    POST /v1/rerank, /v2/rerank (and /rerank)   Cohere v1/v2 and Jina request and response shapes
    GET  /health    200 {"status": "serving"} once the engine is warm, else 503
    GET  /info      served models and version
    GET  /metrics   Prometheus text format 0.0.4

Robustness: keep-alive; bodies need Content-Length (chunked gets 411); the
request head is capped (431), the body at ``limits.max_message_bytes`` (413);
each request must arrive within ``http_read_timeout_s`` (408); responses never
carry a stack trace. Errors are ``{"error": {"type", "message"}}`` with:

    400  the body is not a JSON object, or the request is invalid (empty query,
         unknown model, ...): the message names the field
    422  well-formed JSON whose fields have the wrong type or value
         (``top_n: "3"``, ``documents: {}``, ``max_tokens_per_doc: 0``)
    401  bearer token missing or rejected (when auth is configured; /health is open)
    404/405  unknown route / wrong method
    413  body or a field over a size limit
    429  too much work in flight (retry later)
    503  the model is not ready or the server is shutting down
    504  the request ran past ``request_timeout_s``
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Awaitable, Callable

import toolrank
from toolrank.api.auth import TokenChecker
from toolrank.api.tls import http_ssl_context
from toolrank.candidates import content_from_json
from toolrank.engine.engine import Engine
from toolrank.engine.validate import validate_candidates
from toolrank.errors import (
    DeadlineExceeded,
    InvalidRequest,
    ModelUnavailable,
    StoreUnavailable,
    Overloaded,
    RequestTooLarge,
    ToolrankError,
    Unauthenticated,
)
from toolrank.metrics import Registry
from toolrank.settings import Settings
from toolrank.types import Candidate, CandidateInput, RerankOutcome, RerankQuery, TextInput

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024  # request line + headers
MAX_HEADERS = 100
_READ_LIMIT = 64 * 1024  # StreamReader buffer limit; heads between the two limits are refused explicitly
_STRUCTURED_KEYS = ("text", "code", "sql", "tool")


class FieldError(InvalidRequest):
    """A JSON field of the wrong type or value (HTTP 422)."""


class HttpError(Exception):
    """A refusal decided by the transport itself (bad framing, route, method)."""

    def __init__(self, status: int, message: str, *, close: bool = False, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.close = close
        self.headers = headers or {}


# The one table from toolrank errors to HTTP statuses (subclasses first).
STATUS_OF: tuple[tuple[type[ToolrankError], int], ...] = (
    (RequestTooLarge, 413),
    (FieldError, 422),
    (InvalidRequest, 400),
    (Unauthenticated, 401),
    (Overloaded, 429),
    (ModelUnavailable, 503),
    (StoreUnavailable, 503),
    (DeadlineExceeded, 504),
    (ToolrankError, 500),
)

_ERROR_TYPE = {400: "invalid_request", 401: "unauthenticated", 404: "not_found", 405: "method_not_allowed",
               408: "request_timeout", 411: "length_required", 413: "request_too_large",
               422: "unprocessable_entity", 429: "overloaded", 431: "headers_too_large", 500: "internal",
               503: "unavailable", 504: "deadline_exceeded", 505: "http_version_not_supported"}


def http_status(exc: ToolrankError) -> int:
    for cls, status in STATUS_OF:
        if isinstance(exc, cls):
            return status
    return 500


@dataclass
class Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False

    @classmethod
    def json(cls, status: int, value: Any, headers: dict[str, str] | None = None) -> "Response":
        data = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        return cls(status, data, headers=headers or {})

    @classmethod
    def error(cls, status: int, message: str, headers: dict[str, str] | None = None,
              close: bool = False) -> "Response":
        resp = cls.json(status, {"error": {"type": _ERROR_TYPE.get(status, "error"), "message": message}}, headers)
        resp.close = close
        return resp


# -- the rerank request and response shapes --------------------------------------------------------------------------


def _optional(body: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise FieldError(f"{name}: expected {what}, got {type(value).__name__}")
    return value


def _render_fields(doc: dict[str, Any], names: list[str], where: str) -> str:
    """``field: value`` lines (non-strings as JSON), in the order asked for."""
    lines = []
    for name in names:
        value = doc.get(name)
        if value is None or value == "":
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{name}: {text}")
    if not lines:
        raise FieldError(f"{where}: none of the fields {names} is set")
    return "\n".join(lines)


def document_content(doc: Any, where: str, rank_fields: list[str] | None) -> CandidateInput:
    """A string is text; a tool schema or a code/sql object goes to its normalizer; other objects
    become ``field: value`` lines of ``rank_fields`` (default: ``text``, else every field)."""
    if isinstance(doc, str):
        return TextInput(doc)
    if not isinstance(doc, dict):
        raise FieldError(f"{where}: expected a string or an object, got {type(doc).__name__}")
    try:
        content: CandidateInput | None = content_from_json(doc, where)
    except InvalidRequest as exc:
        if any(k in doc for k in _STRUCTURED_KEYS):
            raise FieldError(str(exc)) from None
        content = None  # a plain object: rendered below
    if content is not None and not (rank_fields and isinstance(content, TextInput)):
        return content
    return TextInput(_render_fields(doc, rank_fields or [str(k) for k in doc], where))


@dataclass(frozen=True)
class RerankCall:
    query: RerankQuery
    documents: list[Any]
    return_documents: bool


def parse_rerank(body: Any, settings: Settings) -> RerankCall:
    """The Cohere/Jina request body as a RerankQuery (FieldError for wrong types, naming the field)."""
    if not isinstance(body, dict):
        raise InvalidRequest(f"body: expected a JSON object, got {type(body).__name__}")
    if "query" not in body:
        raise FieldError("query: required")
    query = _optional(body, "query", str, "a string")
    if query is None:
        raise FieldError("query: required")
    documents = body.get("documents")
    if not isinstance(documents, list):
        raise FieldError("documents: expected a list of strings or objects"
                         + ("" if "documents" in body else " (required)"))
    model = _optional(body, "model", str, "a string") or ""
    top_n = _optional(body, "top_n", int, "an integer")
    if top_n is not None and top_n < 0:
        raise FieldError("top_n: must be >= 0 (0 or absent: all)")
    return_documents = bool(_optional(body, "return_documents", bool, "true or false"))
    rank_fields = _optional(body, "rank_fields", list, "a list of field names")
    if rank_fields is not None and not all(isinstance(f, str) and f for f in rank_fields):
        raise FieldError("rank_fields: expected a list of non-empty strings")
    max_tokens = _optional(body, "max_tokens_per_doc", int, "an integer")
    if max_tokens is not None and max_tokens < 1:
        raise FieldError("max_tokens_per_doc: must be >= 1")
    if len(documents) > settings.limits.max_candidates:
        raise RequestTooLarge(f"documents: {len(documents)} documents, over the limit of "
                              f"{settings.limits.max_candidates}")
    candidates = []
    for i, doc in enumerate(documents):
        where = f"documents[{i}]"
        doc_id = doc.get("id") if isinstance(doc, dict) else None
        candidates.append(Candidate(document_content(doc, where, rank_fields),
                                    doc_id if isinstance(doc_id, str) else ""))
    cands = tuple(candidates)
    validate_candidates(cands, settings.limits, field="documents")
    return RerankCall(
        RerankQuery(query=query, candidates=cands, top_n=top_n or 0, return_text=return_documents, model=model,
                    max_tokens_per_doc=max_tokens or 0),
        documents, return_documents)


def _echo(doc: Any, text: str | None) -> dict[str, Any]:
    """The document as sent, under Cohere's ``{"text": ...}`` (objects keep their fields)."""
    if isinstance(doc, str):
        return {"text": doc}
    echoed = dict(doc)
    if not isinstance(echoed.get("text"), str):
        echoed["text"] = text or ""  # what was ranked
    return echoed


def rerank_response(call: RerankCall, outcome: RerankOutcome, api_version: str) -> dict[str, Any]:
    results = []
    for r in outcome.results:
        item: dict[str, Any] = {"index": r.index, "relevance_score": r.score}
        if call.return_documents:
            item["document"] = _echo(call.documents[r.index], r.text)
        results.append(item)
    tokens = outcome.usage.query_tokens + outcome.usage.candidate_tokens
    return {
        "id": str(uuid.uuid4()),
        "model": outcome.model,
        "results": results,
        "meta": {
            "api_version": {"version": api_version},
            "billed_units": {"search_units": max(1, math.ceil(len(call.documents) / 100))},
            "tokens": {"input_tokens": tokens},
        },
        "usage": {"total_tokens": tokens},
    }


# -- the server -----------------------------------------------------------------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]


class HttpServer:
    """A bound (not yet serving) HTTP server; ``start()``, then ``stop(grace_s)``."""

    def __init__(self, settings: Settings, engine: Engine, checker: TokenChecker) -> None:
        self.settings = settings
        self.engine = engine
        self.checker = checker
        self.metrics = engine.metrics
        self.port = 0
        self.draining = False
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._busy = 0
        self._max_connections = 2 * settings.max_inflight_requests + 64
        rerank_v1: Handler = lambda r: self._rerank(r, "1")  # noqa: E731
        rerank_v2: Handler = lambda r: self._rerank(r, "2")  # noqa: E731
        self.routes: dict[str, dict[str, Handler]] = {
            "/v1/rerank": {"POST": rerank_v1},
            "/rerank": {"POST": rerank_v1},
            "/v2/rerank": {"POST": rerank_v2},
            "/health": {"GET": self._health},
            "/info": {"GET": self._info},
            "/metrics": {"GET": self._metrics},
        }

    async def bind(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.settings.host, self.settings.http_port, limit=_READ_LIMIT,
            ssl=http_ssl_context(self.settings), start_serving=False)
        self.port = self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        assert self._server is not None, "bind() first"
        await self._server.start_serving()

    async def stop(self, grace_s: float = 1.0) -> None:
        """Refuse new connections and requests, let those being answered finish, close the rest."""
        self.draining = True
        if self._server is not None:
            self._server.close()
        deadline = time.monotonic() + grace_s
        while self._busy and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    # -- one connection: requests in turn (keep-alive) -------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if len(self._writers) > self._max_connections:
                await self._send(writer, Response.error(503, "too many connections: retry later", close=True))
                return
            while True:  # while draining, requests still get answers (503 from the engine), then the close
                try:
                    request = await self._read_request(reader, writer)
                except HttpError as exc:
                    await self._send(writer, Response.error(exc.status, str(exc), exc.headers, close=True))
                    self._count(None, exc.status, 0.0)
                    return
                if request is None:
                    return
                self._busy += 1
                try:
                    response = await self._respond(request)
                finally:
                    self._busy -= 1
                response.close = response.close or not request.keep_alive or self.draining
                await self._send(writer, response)
                if response.close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away
        except Exception:  # noqa: BLE001 - one connection's failure must not reach the server
            log.exception("HTTP connection failed")
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
        """The next request, or None when the client closed or stayed idle past the timeout."""
        timeout = self.settings.http_read_timeout_s
        try:
            first = await asyncio.wait_for(reader.readexactly(1), timeout)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            return None  # idle keep-alive connection: close quietly
        try:
            head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        except asyncio.TimeoutError:
            raise HttpError(408, f"the request head did not arrive within {timeout:g} s") from None
        except asyncio.LimitOverrunError:
            raise HttpError(431, f"request head over {MAX_HEAD_BYTES} bytes") from None
        except asyncio.IncompleteReadError:
            return None
        if len(head) > MAX_HEAD_BYTES:
            raise HttpError(431, f"request head over {MAX_HEAD_BYTES} bytes")
        request = _parse_head(head.lstrip(b"\r\n"))
        length = _content_length(request)
        if length > self.settings.limits.max_message_bytes:
            raise HttpError(413, f"body: {length} bytes, over the limit of "
                                 f"{self.settings.limits.max_message_bytes} bytes")
        if length:
            if request.headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            try:
                request.body = await asyncio.wait_for(reader.readexactly(length), timeout)
            except asyncio.TimeoutError:
                raise HttpError(408, f"the body did not arrive within {timeout:g} s") from None
        return request

    async def _send(self, writer: asyncio.StreamWriter, response: Response) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        headers = {
            "Content-Type": response.content_type,
            "Content-Length": str(len(response.body)),
            "Connection": "close" if response.close else "keep-alive",
            **response.headers,
        }
        head = f"HTTP/1.1 {response.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(head.encode("latin-1") + b"\r\n" + response.body)
        await writer.drain()

    # -- routing -----------------------------------------------------------------------------------------------------

    async def _respond(self, request: Request) -> Response:
        started = time.perf_counter()
        route = request.path if request.path in self.routes else None
        try:
            response = await self._dispatch(request, route)
        except ToolrankError as exc:
            response = Response.error(http_status(exc), str(exc))
        except HttpError as exc:
            response = Response.error(exc.status, str(exc), exc.headers, close=exc.close)
        except Exception:  # noqa: BLE001
            log.exception("unexpected error in HTTP %s %s", request.method, request.path)
            response = Response.error(500, "internal error (logged on the server)")
        self._count(route, response.status, time.perf_counter() - started)
        return response

    async def _dispatch(self, request: Request, route: str | None) -> Response:
        if route is None:
            raise HttpError(404, f"no route {request.path} (routes: {', '.join(sorted(self.routes))})")
        methods = self.routes[route]
        handler = methods.get(request.method)
        if handler is None:
            allowed = ", ".join(sorted(methods))
            raise HttpError(405, f"{request.method} {route}: use {allowed}", headers={"Allow": allowed})
        if route != "/health":
            reason = self.checker.refusal(request.headers.get("authorization"))
            if reason is not None:
                raise HttpError(401, reason, headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    def _count(self, route: str | None, status: int, seconds: float) -> None:
        self.metrics.observe_request("http", route or "other", str(status), seconds)

    # -- handlers ----------------------------------------------------------------------------------------------------

    async def _rerank(self, request: Request, api_version: str) -> Response:
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InvalidRequest(f"body: not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
        call = parse_rerank(body, self.settings)
        outcome = await self.engine.rerank(call.query)
        return Response.json(200, rerank_response(call, outcome, api_version))

    async def _health(self, request: Request) -> Response:
        if self.engine.ready and not self.draining:
            return Response.json(200, {"status": "serving"})
        return Response.json(503, {"status": "not_serving"})

    async def _info(self, request: Request) -> Response:
        default = self.engine.default_model
        models = [
            {"name": s.name, "kind": s.kind, "family": s.family, "activation": s.activation,
             "max_length": s.max_length, "max_query_length": s.max_query_length, "is_default": s.name == default}
            for s in self.engine.model_specs()
        ]
        return Response.json(200, {"version": toolrank.__version__, "default_model": default, "models": models})

    async def _metrics(self, request: Request) -> Response:
        return Response(200, self.metrics.render().encode("utf-8"), Registry.CONTENT_TYPE)


def _parse_head(head: bytes) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise HttpError(400, "malformed request line", close=True)
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(505, f"{version[:20]!r}: only HTTP/1.0 and HTTP/1.1 are served", close=True)
    header_lines = [line for line in lines[1:] if line]
    if len(header_lines) > MAX_HEADERS:
        raise HttpError(431, f"{len(header_lines)} headers, over the limit of {MAX_HEADERS}", close=True)
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, "malformed header line", close=True)
        key = name.lower()
        value = value.strip()
        if key == "content-length" and key in headers and headers[key] != value:
            raise HttpError(400, "conflicting Content-Length headers", close=True)
        headers[key] = f"{headers[key]}, {value}" if key in headers and key != "content-length" else value
    return Request(method, target.split("?", 1)[0], version, headers)


def _content_length(request: Request) -> int:
    if "transfer-encoding" in request.headers:
        raise HttpError(411, "Transfer-Encoding (chunked) bodies are not supported: send Content-Length",
                        close=True)
    value = request.headers.get("content-length")
    if value is None:
        if request.method in ("POST", "PUT", "PATCH"):
            raise HttpError(411, "a body needs a Content-Length header", close=True)
        return 0
    if not value.isdigit():
        raise HttpError(400, "Content-Length: not a non-negative integer", close=True)
    return int(value)


async def create_http_server(settings: Settings, engine: Engine) -> HttpServer:
    """Build and bind (not start) the HTTP server on ``settings.host:settings.http_port`` (0 = a free port)."""
    server = HttpServer(settings, engine, TokenChecker.from_settings(settings))
    await server.bind()
    return server
