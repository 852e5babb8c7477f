"""Every RPC of the protos has a method on both clients, and every field of its request is reachable from it.

Each field gets a non-default value, passed to the client method under the field's own name (the
request is captured before it is sent), and must arrive in the request. A field added to a proto fails
here until the clients (and, for Rerank, the CLI's request files) carry it: that is the point.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor

import toolrank
from toolrank.cli import RERANK_FILE_KEYS, UsageError, rerank_request_from_file
from toolrank.v1 import catalogs_pb2, reranker_pb2

SERVICES = [s for module in (reranker_pb2, catalogs_pb2) for s in module.DESCRIPTOR.services_by_name.values()]
RPCS = [(s.name, m) for s in SERVICES for m in s.methods]


class Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def sample(field: FieldDescriptor) -> tuple[Any, Any]:
    """A non-default value for ``field`` as a client takes it, and how it reads back from the message."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return {"team": "travel"}, {"team": "travel"}
    if field.message_type is not None and field.message_type.name == "Candidate":
        return ["a plain text candidate"], 1  # count of candidates
    if field.message_type is not None:
        pytest.fail(f"{field.full_name}: no sample for a {field.message_type.name} field: teach this test")
    repeated = field.is_repeated
    scalar: dict[int, Any] = {FieldDescriptor.TYPE_STRING: "x-value", FieldDescriptor.TYPE_BOOL: True,
                              FieldDescriptor.TYPE_UINT32: 3, FieldDescriptor.TYPE_INT32: 3,
                              FieldDescriptor.TYPE_UINT64: 3, FieldDescriptor.TYPE_FLOAT: 0.25,
                              FieldDescriptor.TYPE_DOUBLE: 0.25}
    value = scalar[field.type]
    return ([value], [value]) if repeated else (value, value)


def read_back(request: Any, field: FieldDescriptor) -> Any:
    value = getattr(request, field.name)
    if field.message_type is not None and field.message_type.name == "Candidate":
        return len(value)
    if field.message_type is not None:  # a map
        return dict(value)
    if field.is_repeated:
        return list(value)
    return pytest.approx(value) if isinstance(value, float) else value


def _capture_sync(client: Any) -> None:
    def call(_method: Any, request: Any, _timeout: Any) -> Any:
        raise Captured(request)
    client._call = call


def _capture_async(client: Any) -> None:
    async def call(_name: Any, request: Any, _timeout: Any) -> Any:
        raise Captured(request)
    client._call = call
    client._catalog_call = call


def _send(kind: str, method: str, kwargs: dict[str, Any]) -> Any:
    """The request the client would send for ``method(**kwargs)``."""
    if kind == "sync":
        client: Any = toolrank.Client("127.0.0.1:1")
        _capture_sync(client)
        try:
            getattr(client, method)(**kwargs)
        except Captured as sent:
            return sent.request
        finally:
            client.close()
    else:
        aclient: Any = toolrank.AsyncClient("127.0.0.1:1")
        _capture_async(aclient)

        async def go() -> Any:
            try:
                await getattr(aclient, method)(**kwargs)
            except Captured as sent:
                return sent.request
        return asyncio.run(go())
    pytest.fail(f"{method} sent nothing")


REQUIRED = {"query": "weather in Paris", "catalog": "tools", "candidates": ["a text"]}


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("rpc", RPCS, ids=[f"{s}.{m.name}" for s, m in RPCS])
def test_every_request_field_reaches_the_wire(kind: str, rpc: tuple[str, Any]) -> None:
    service, method = rpc
    name = snake(method.name)
    client_class = toolrank.Client if kind == "sync" else toolrank.AsyncClient
    assert hasattr(client_class, name), f"{client_class.__name__} has no {name}() for {service}.{method.name}"
    fields = list(method.input_type.fields)
    base = {f.name: REQUIRED[f.name] for f in fields if f.name in REQUIRED}
    for field in fields:
        value, expected = sample(field)
        request = _send(kind, name, {**base, field.name: value})
        assert request.DESCRIPTOR is method.input_type
        assert read_back(request, field) == expected, f"{name}({field.name}=...) did not reach {field.full_name}"


def test_a_new_field_would_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is not vacuous: a keyword the client does not take is a TypeError, not silently dropped."""
    with pytest.raises(TypeError):
        _send("sync", "rerank", {**REQUIRED, "no_such_field": 1})


@pytest.mark.parametrize("field", list(reranker_pb2.RerankRequest.DESCRIPTOR.fields), ids=lambda f: f.name)
def test_rerank_request_files_carry_every_field(field: FieldDescriptor) -> None:
    value, expected = sample(field)
    doc = {"query": "weather in Paris", "candidates": ["a text"], field.name: value}
    assert read_back(rerank_request_from_file(doc, "request.json"), field) == expected
    assert field.name in RERANK_FILE_KEYS


def test_request_file_keys_are_exactly_the_proto_fields() -> None:
    assert set(RERANK_FILE_KEYS) == {f.name for f in reranker_pb2.RerankRequest.DESCRIPTOR.fields}


def test_unknown_keys_in_a_request_file_are_an_error() -> None:
    with pytest.raises(UsageError, match=r"request.json: unknown key 'topn'"):
        rerank_request_from_file({"query": "q", "candidates": [], "topn": 3}, "request.json")
    with pytest.raises(UsageError, match=r"request.json: top_n: expected an integer, got str"):
        rerank_request_from_file({"query": "q", "candidates": [], "top_n": "3"}, "request.json")
