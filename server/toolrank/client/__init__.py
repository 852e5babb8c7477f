"""Python clients for a toolrank server: :class:`Client` (blocking) and :class:`AsyncClient`.

Candidates can be plain strings, tool schemas as dicts (OpenAI, Anthropic, MCP,
...), the JSON shapes of :mod:`toolrank.candidates`, or the small typed
wrappers here: :class:`Text`, :class:`Code`, :class:`Sql`, :class:`Tool`.
Server errors come back as the same exception classes the server raised
(:mod:`toolrank.errors`), picked from the gRPC status code::

    with toolrank.Client("127.0.0.1:50051") as client:
        ranking = client.rerank("send an email", [tool_a, tool_b], top_n=1)
        best = ranking[0]   # Hit(index, id, score, text)

By role: ``inputs`` (what can be sent), ``results`` (what comes back), ``errors``
(status -> exception), ``channel`` (TLS, limits, metadata), ``sync`` and ``aio``
(the two clients), ``files`` (candidates from a folder or a SQL file). None of
them imports onnxruntime, tokenizers or the server's metrics.
"""

from toolrank.client.aio import AsyncClient
from toolrank.client.channel import DEFAULT_ADDRESS, MAX_MESSAGE_BYTES
from toolrank.client.errors import RpcFailed, error_from_rpc
from toolrank.client.files import candidates_from_folder, candidates_from_sql_file
from toolrank.client.inputs import CandidateLike, Code, Sql, Text, Tool, to_candidate
from toolrank.client.results import Hit, ModelInfo, NormalizedItem, Ranking, ServerInfo
from toolrank.client.sync import Client

__all__ = [
    "DEFAULT_ADDRESS", "MAX_MESSAGE_BYTES", "AsyncClient", "CandidateLike", "Client", "Code", "Hit", "ModelInfo",
    "NormalizedItem", "Ranking", "RpcFailed", "ServerInfo", "Sql", "Text", "Tool", "candidates_from_folder",
    "candidates_from_sql_file", "error_from_rpc", "to_candidate",
]
