"""Python clients for a toolrank server: :class:`Client` (blocking) and :class:`AsyncClient`.

Candidates can be plain strings, tool schemas as dicts (OpenAI, Anthropic, MCP,
...), the JSON shapes of :mod:`toolrank.candidates`, or the small typed
wrappers here: :class:`Text`, :class:`Code`, :class:`Sql`, :class:`Tool`.
Server errors come back as the same exception classes the server raised
(:mod:`toolrank.errors`), picked from the gRPC status code::

    with toolrank.Client("127.0.0.1:50051") as client:
        ranking = client.rerank("send an email", [tool_a, tool_b], top_n=1)
        best = ranking[0]   # Hit(index, id, score, text)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence, Union

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from toolrank.api.convert import candidate_to_pb
from toolrank.balancing import channel_options as balanced_channel
from toolrank.candidates import candidate_from_json
from toolrank.client_catalogs import AsyncCatalogMethods, CatalogMethods
from toolrank.errors import ToolrankError
from toolrank.types import Candidate, CodeInput, SqlInput, TextInput, ToolInput, Scored, Timing, Usage
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

DEFAULT_ADDRESS = "127.0.0.1:50051"
MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # the server's default receive limit

Hit = Scored
"""One ranked candidate: ``index`` into the request, ``id``, ``score``, ``text`` (when asked)."""


# --- candidate wrappers ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """A plain passage of text."""

    text: str
    id: str = field(default="", kw_only=True)
    metadata: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def to_candidate(self) -> Candidate:
        return Candidate(TextInput(self.text), self.id, dict(self.metadata))


@dataclass(frozen=True, slots=True)
class Code:
    """A code snippet; ``language`` or the ``path`` extension says which language."""

    source: str
    language: str = ""
    path: str = ""
    id: str = field(default="", kw_only=True)
    metadata: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def to_candidate(self) -> Candidate:
        return Candidate(CodeInput(self.source, self.language, self.path), self.id, dict(self.metadata))


@dataclass(frozen=True, slots=True)
class Sql:
    """SQL text (a table's DDL, a view, a query) in ``dialect`` (empty: detected)."""

    text: str
    dialect: str = ""
    id: str = field(default="", kw_only=True)
    metadata: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def to_candidate(self) -> Candidate:
        return Candidate(SqlInput(self.text, self.dialect), self.id, dict(self.metadata))


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool schema, as a dict or JSON text, in any format the server detects."""

    schema: Union[Mapping[str, Any], str]
    id: str = field(default="", kw_only=True)
    metadata: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def to_candidate(self) -> Candidate:
        text = self.schema if isinstance(self.schema, str) else json.dumps(self.schema, ensure_ascii=False)
        return Candidate(ToolInput(text), self.id, dict(self.metadata))


CandidateLike = Union[str, Mapping[str, Any], Text, Code, Sql, Tool, Candidate,
                      TextInput, CodeInput, SqlInput, ToolInput]

_WRAPPERS = (Text, Code, Sql, Tool)
_INPUTS = (TextInput, CodeInput, SqlInput, ToolInput)


def to_candidate(item: CandidateLike, where: str = "candidate") -> Candidate:
    """Any accepted candidate shape as the :class:`toolrank.types.Candidate` dataclass."""
    if isinstance(item, Candidate):
        return item
    if isinstance(item, _WRAPPERS):
        return item.to_candidate()
    if isinstance(item, _INPUTS):
        return Candidate(item)
    if isinstance(item, (str, Mapping)):
        return candidate_from_json(dict(item) if isinstance(item, Mapping) else item, where)
    raise TypeError(f"{where}: cannot send a {type(item).__name__} as a candidate "
                    "(use a str, a tool dict, Text, Code, Sql or Tool)")


def _candidates_pb(candidates: Iterable[CandidateLike]) -> list[pb.Candidate]:
    if isinstance(candidates, (str, bytes, Mapping)) or not isinstance(candidates, Iterable):
        raise TypeError("candidates: expected a list of candidates")
    return [candidate_to_pb(to_candidate(c, f"candidates[{i}]")) for i, c in enumerate(candidates)]


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ranking:
    """A rerank answer: hits best first, plus token usage, per-stage timing and the model.

    Iterating, indexing and ``len()`` go through ``results``.
    """

    results: tuple[Hit, ...]
    usage: Usage
    timing: Timing
    model: str

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, i: int) -> Hit:
        return self.results[i]

    @property
    def indices(self) -> list[int]:
        return [h.index for h in self.results]

    @property
    def ids(self) -> list[str]:
        return [h.id for h in self.results]


@dataclass(frozen=True, slots=True)
class NormalizedItem:
    """What the model sees for one candidate, and its token counts."""

    index: int
    id: str
    kind: str
    text: str
    fallback: bool
    detail: str
    tokens: int
    raw_tokens: int


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    kind: str
    max_length: int
    max_query_length: int
    family: str
    path: str
    is_default: bool


@dataclass(frozen=True, slots=True)
class ServerInfo:
    version: str
    models: tuple[ModelInfo, ...]
    default_model: str


def _ranking(resp: pb.RerankResponse) -> Ranking:
    u, t = resp.usage, resp.timing
    return Ranking(
        results=tuple(Hit(r.index, r.id, r.score, r.text or None) for r in resp.results),
        usage=Usage(u.query_tokens, u.candidate_tokens, u.truncated, u.windows, u.fallbacks, u.cache_hits),
        timing=Timing(t.normalize_ns, t.tokenize_ns, t.queue_ns, t.inference_ns, t.total_ns),
        model=resp.model,
    )


def _normalized(resp: pb.NormalizeResponse) -> list[NormalizedItem]:
    return [NormalizedItem(c.index, c.id, c.kind, c.text, c.fallback, c.detail, c.tokens, c.raw_tokens)
            for c in resp.candidates]


def _info(resp: pb.InfoResponse) -> ServerInfo:
    models = tuple(ModelInfo(m.name, m.kind, m.max_length, m.max_query_length, m.family, m.path, m.is_default)
                   for m in resp.models)
    return ServerInfo(resp.version, models, resp.default_model)


def _rerank_request(query: str, candidates: Iterable[CandidateLike], top_n: int, model: str,
                    return_text: bool, raw_scores: bool) -> pb.RerankRequest:
    if not isinstance(query, str):
        raise TypeError("query: expected a string")
    return pb.RerankRequest(query=query, candidates=_candidates_pb(candidates), top_n=max(0, top_n),
                            return_text=return_text, raw_scores=raw_scores, model=model)


# --- errors -----------------------------------------------------------------------------


class RpcFailed(ToolrankError):
    """A call failed with a status no toolrank error stands for (INTERNAL, UNIMPLEMENTED...)."""


def _error_table() -> dict[grpc.StatusCode, type[ToolrankError]]:
    """The server's one table (``toolrank.api.errors.STATUS_OF``) read backwards."""
    from toolrank.api.errors import STATUS_OF

    table: dict[grpc.StatusCode, type[ToolrankError]] = {}
    for cls, code in reversed(STATUS_OF):  # most general class per code (InvalidRequest, not RequestTooLarge)
        if cls is not ToolrankError:
            table.setdefault(code, cls)
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
    err = _ERROR_OF.get(code, RpcFailed)(f"{code.name}: {details}")
    err.code = code  # type: ignore[attr-defined]
    return err


# --- channels -------------------------------------------------------------------------------


def _credentials(root_certificates: bytes | str | os.PathLike[str] | None,
                 tls: bool) -> grpc.ChannelCredentials | None:
    """TLS credentials when asked for: ``root_certificates`` is PEM bytes or a file path."""
    if root_certificates is None:
        return grpc.ssl_channel_credentials() if tls else None
    if not isinstance(root_certificates, bytes):
        root_certificates = Path(root_certificates).read_bytes()
    return grpc.ssl_channel_credentials(root_certificates=root_certificates)


def _channel_options(options: Sequence[tuple[str, Any]] | None) -> list[tuple[str, Any]]:
    return [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES), *(options or ())]


class _Base:
    def __init__(self, address: str, token: str | None, root_certificates: Any, tls: bool,
                 timeout: float | None, options: Sequence[tuple[str, Any]] | None) -> None:
        self.address = address
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self._credentials = _credentials(root_certificates, tls)
        # Several replicas (dns:///name or a comma-separated list): round_robin, UNAVAILABLE retried.
        self._target, balancing = balanced_channel(address)
        if any(key == "grpc.service_config" for key, _ in options or ()):
            balancing = [o for o in balancing if o[0] != "grpc.service_config"]
        self._options = _channel_options([*balancing, *(options or ())])

    def _timeout(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout


class Client(CatalogMethods, _Base):
    """A blocking client over one gRPC channel; safe to share between threads.

    ``token`` is sent as ``authorization: Bearer <token>`` on every call;
    ``root_certificates`` (PEM bytes or a path) or ``tls=True`` (system roots)
    make the channel TLS. ``timeout`` is the default deadline in seconds.
    """

    def __init__(self, address: str = DEFAULT_ADDRESS, *, token: str | None = None,
                 root_certificates: bytes | str | os.PathLike[str] | None = None, tls: bool = False,
                 timeout: float | None = None, options: Sequence[tuple[str, Any]] | None = None) -> None:
        super().__init__(address, token, root_certificates, tls, timeout, options)
        if self._credentials is None:
            self._channel = grpc.insecure_channel(self._target, options=self._options)
        else:
            self._channel = grpc.secure_channel(self._target, self._credentials, options=self._options)
        self._stub = pb_grpc.RerankerStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def _call(self, method: Any, request: Any, timeout: float | None) -> Any:
        try:
            return method(request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc

    def rerank(self, query: str, candidates: Iterable[CandidateLike], top_n: int = 0, model: str = "",
               return_text: bool = False, timeout: float | None = None, *, raw_scores: bool = False) -> Ranking:
        """Rank ``candidates`` against ``query``; ``top_n`` 0 keeps them all."""
        request = _rerank_request(query, candidates, top_n, model, return_text, raw_scores)
        return _ranking(self._call(self._stub.Rerank, request, timeout))

    def normalize(self, candidates: Iterable[CandidateLike], model: str = "",
                  timeout: float | None = None) -> list[NormalizedItem]:
        """What the model would see for each candidate, with token counts."""
        request = pb.NormalizeRequest(candidates=_candidates_pb(candidates), model=model)
        return _normalized(self._call(self._stub.Normalize, request, timeout))

    def info(self, timeout: float | None = None) -> ServerInfo:
        """The server's version and served models."""
        return _info(self._call(self._stub.Info, pb.InfoRequest(), timeout))

    def health(self, service: str = "", timeout: float | None = None) -> bool:
        """True when the server (or ``service``) reports SERVING."""
        resp = self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return resp.status == health_pb2.HealthCheckResponse.SERVING

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(AsyncCatalogMethods, _Base):
    """The asyncio twin of :class:`Client` (grpc.aio); the channel opens on first use
    so that it belongs to the running event loop."""

    def __init__(self, address: str = DEFAULT_ADDRESS, *, token: str | None = None,
                 root_certificates: bytes | str | os.PathLike[str] | None = None, tls: bool = False,
                 timeout: float | None = None, options: Sequence[tuple[str, Any]] | None = None) -> None:
        super().__init__(address, token, root_certificates, tls, timeout, options)
        self._channel: grpc.aio.Channel | None = None

    def _open(self) -> grpc.aio.Channel:
        if self._channel is None:
            if self._credentials is None:
                self._channel = grpc.aio.insecure_channel(self._target, options=self._options)
            else:
                self._channel = grpc.aio.secure_channel(self._target, self._credentials, options=self._options)
        return self._channel

    async def _call(self, name: str, request: Any, timeout: float | None) -> Any:
        channel = self._open()
        method = getattr(health_pb2_grpc.HealthStub(channel) if name == "Check" else pb_grpc.RerankerStub(channel),
                         name)
        try:
            return await method(request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc

    async def rerank(self, query: str, candidates: Iterable[CandidateLike], top_n: int = 0, model: str = "",
                     return_text: bool = False, timeout: float | None = None, *,
                     raw_scores: bool = False) -> Ranking:
        """Rank ``candidates`` against ``query``; ``top_n`` 0 keeps them all."""
        request = _rerank_request(query, candidates, top_n, model, return_text, raw_scores)
        return _ranking(await self._call("Rerank", request, timeout))

    async def normalize(self, candidates: Iterable[CandidateLike], model: str = "",
                        timeout: float | None = None) -> list[NormalizedItem]:
        request = pb.NormalizeRequest(candidates=_candidates_pb(candidates), model=model)
        return _normalized(await self._call("Normalize", request, timeout))

    async def info(self, timeout: float | None = None) -> ServerInfo:
        return _info(await self._call("Info", pb.InfoRequest(), timeout))

    async def health(self, service: str = "", timeout: float | None = None) -> bool:
        resp = await self._call("Check", health_pb2.HealthCheckRequest(service=service), timeout)
        return resp.status == health_pb2.HealthCheckResponse.SERVING

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# --- candidates from files ----------------------------------------------------------------

DEFAULT_MAX_FILE_BYTES = 256 * 1024  # the server's default per-candidate limit
_TEXT_SUFFIXES = frozenset({"md", "rst", "txt", "adoc"})
_SNIFF_BYTES = 8192


def _read_text_file(path: Path, max_bytes: int) -> str | None:
    """The file's text, or None for big, binary or non-UTF-8 files."""
    try:
        if path.stat().st_size > max_bytes:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def candidates_from_folder(path: str | os.PathLike[str], pattern: str = "**/*",
                           max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[Union[Code, Sql, Text]]:
    """One candidate per source file under ``path`` matching ``pattern``, sorted by path.

    Known code extensions become :class:`Code` with the language set, ``.sql``
    files :class:`Sql`, other text files (``.md``, ``.txt``...) :class:`Text`.
    Hidden files and folders, binaries, non-UTF-8 and files over ``max_bytes``
    are skipped. Each candidate's ``id`` and ``path`` are the path relative to
    ``path``.
    """
    from toolrank.normalize.code_languages import EXTENSIONS

    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    out: list[Union[Code, Sql, Text]] = []
    for file in sorted(root.glob(pattern)):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not file.is_file():
            continue
        ext = file.suffix[1:].lower()
        if ext not in EXTENSIONS and ext not in _TEXT_SUFFIXES and ext != "sql":
            continue
        text = _read_text_file(file, max_bytes)
        if text is None or not text.strip():
            continue
        name = rel.as_posix()
        if ext == "sql":
            out.append(Sql(text, id=name, metadata={"path": name}))
        elif ext in EXTENSIONS:
            out.append(Code(text, EXTENSIONS[ext], name, id=name))
        else:
            out.append(Text(text, id=name, metadata={"path": name}))
    return out


def candidates_from_sql_file(path: str | os.PathLike[str], dialect: str = "") -> list[Sql]:
    """One :class:`Sql` candidate per CREATE TABLE / CREATE VIEW in a schema file.

    Each keeps the statement's text (with the comments before it) followed by the
    ``CREATE INDEX``, ``COMMENT ON`` and ``ALTER TABLE`` statements naming that table,
    as the SQL normalizer folds them; its ``id`` is the table or view name. Other
    statements (inserts...) are skipped.
    """
    from toolrank.normalize.sql import schema_tables

    text = Path(path).read_text(encoding="utf-8")
    return [Sql(statement, dialect, id=name) for name, statement in schema_tables(text, dialect)]
