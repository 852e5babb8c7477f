"""The Python client against a real server on loopback: every method, candidate shape and error."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

import toolrank
from toolrank.client import AsyncClient, Client, Code, NormalizedItem, Ranking, Sql, Text, Tool, error_from_rpc
from toolrank.errors import InvalidRequest, ModelUnavailable, Overloaded, ToolrankError
from toolrank.settings import Settings
from toolrank.types import Candidate, TextInput

from conftest import ServerThread

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city",
                                             "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                            "required": ["city"]}}}
EMAIL = {"name": "send_email", "description": "Send an email message to a recipient",
         "input_schema": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}}}
MCP_FILES = {"name": "list_files", "description": "List the files in a directory",
             "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}}}


@pytest.fixture()
def client(default_server: ServerThread):
    with Client(default_server.address, timeout=30) as c:
        yield c


def test_import_toolrank_stays_cheap():
    code = "import sys, toolrank; assert 'grpc' not in sys.modules and 'toolrank.client' not in sys.modules; " \
           "toolrank.Client; assert 'toolrank.client' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert {"Client", "AsyncClient", "Code", "Sql", "Text", "Tool"} <= set(dir(toolrank))
    with pytest.raises(AttributeError):
        toolrank.NoSuchThing  # noqa: B018


def test_rerank_tool_dicts_of_each_format(client):
    ranking = client.rerank("what is the weather in Paris", [EMAIL, WEATHER, MCP_FILES], return_text=True)
    assert isinstance(ranking, Ranking)
    assert ranking[0].index == 1 and "get_weather" in (ranking[0].text or "")
    assert sorted(ranking.indices) == [0, 1, 2] and len(ranking) == 3
    scores = [h.score for h in ranking]
    assert scores == sorted(scores, reverse=True)
    assert ranking.model == "default"
    assert ranking.usage.query_tokens > 0 and ranking.usage.candidate_tokens > 0
    assert ranking.timing.total_ns > 0


def test_rerank_every_candidate_type(client):
    candidates = [
        "A recipe for chocolate cake.",
        Text("The weather in Paris is sunny today.", id="text"),
        Code("def add(a, b):\n    return a + b\n", "python", id="code"),
        Sql("CREATE TABLE users (id INT, name TEXT)", "sqlite", id="sql"),
        Tool(WEATHER, id="tool-dict"),
        Tool('{"name": "send_email", "description": "Send an email"}', id="tool-json"),
        {"id": "wrapped", "code": {"language": "go", "source": "func Add(a, b int) int { return a + b }"}},
        Candidate(TextInput("a raw engine candidate"), id="engine"),
        TextInput("a bare input"),
    ]
    ranking = client.rerank("weather forecast for a city", candidates, top_n=4)
    assert len(ranking) == 4 and ranking.results[0].text is None
    assert set(ranking.ids) <= {"", "text", "code", "sql", "tool-dict", "tool-json", "wrapped", "engine"}
    assert ranking.ids[0] in ("tool-dict", "text")
    kinds = [n.kind for n in client.normalize(candidates)]
    assert kinds == ["text", "text", "code", "sql", "tool", "tool", "code", "text", "text"]


def test_normalize(client):
    items = client.normalize([Tool(WEATHER, id="w"), Code("def f(x):\n    return x\n", path="a.py")])
    assert all(isinstance(i, NormalizedItem) for i in items)
    w, f = items
    assert w.id == "w" and w.kind == "tool" and "get_weather" in w.text and w.tokens < w.raw_tokens
    assert f.kind == "code" and not f.fallback and "python" in f.detail


def test_info_and_health(client, default_server):
    info = client.info()
    assert info.version == toolrank.__version__ and info.default_model == "default"
    models = {m.name: m for m in info.models}
    assert models["default"].kind == "ensemble" and models["default"].is_default
    assert models["all-MiniLM-L6-v2"].kind == models["minilm-l6-tools-v1"].kind == "bi-encoder"
    assert client.health() is True
    assert client.health("toolrank.v1.Reranker") is True


def test_bad_candidates_fail_before_sending(client):
    with pytest.raises(TypeError):
        client.rerank("q", [object()])
    with pytest.raises(TypeError):
        client.rerank("q", "not a list")
    with pytest.raises(InvalidRequest, match=r"candidates\[0\]"):
        client.rerank("q", [{"nothing": "here"}])


def test_invalid_argument_maps_to_invalid_request(client):
    with pytest.raises(InvalidRequest) as info:
        client.rerank("q", ["a"], model="no-such-model")
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "no-such-model" in str(info.value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_maps_to_model_unavailable():
    with Client(f"127.0.0.1:{_closed_port()}", timeout=5) as c:
        with pytest.raises(ModelUnavailable):
            c.info()


def test_overloaded_maps_from_resource_exhausted():
    server = ServerThread(Settings(max_inflight_requests=0)).start()
    try:
        with Client(server.address, timeout=30) as c:
            with pytest.raises(Overloaded):
                c.rerank("q", ["a", "b"])
    finally:
        server.stop()


class _FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "details"


@pytest.mark.parametrize("code, cls", [
    (grpc.StatusCode.INVALID_ARGUMENT, InvalidRequest),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, Overloaded),
    (grpc.StatusCode.UNAVAILABLE, ModelUnavailable),
    (grpc.StatusCode.INTERNAL, toolrank.client.RpcFailed),
])
def test_error_table(code, cls):
    err = error_from_rpc(_FakeRpcError(code))
    assert type(err) is cls and isinstance(err, ToolrankError) and err.code == code
    assert "details" in str(err)


def test_token_is_sent_as_bearer_metadata(default_server):
    seen: list[tuple] = []

    class Spy(grpc.UnaryUnaryClientInterceptor):
        def intercept_unary_unary(self, continuation, details, request):
            seen.append(tuple(details.metadata or ()))
            return continuation(details, request)

    with Client(default_server.address, token="s3cret", timeout=30) as c:
        c._stub = toolrank.client.sync.pb_grpc.RerankerStub(grpc.intercept_channel(c._channel, Spy()))
        c.info()
    assert ("authorization", "Bearer s3cret") in seen[0]


def test_tls_client_needs_tls(default_server, tmp_path):
    """A TLS client against the plaintext test server fails cleanly as unavailable."""
    with Client(default_server.address, tls=True, timeout=5) as c:
        with pytest.raises(ModelUnavailable):
            c.health()


def test_async_client(default_server):
    async def main() -> None:
        async with AsyncClient(default_server.address, timeout=30) as c:
            assert await c.health()
            info = await c.info()
            assert info.default_model == "default"
            rankings = await asyncio.gather(*(
                c.rerank("what is the weather in Paris", [EMAIL, WEATHER, "cake"], top_n=2) for _ in range(3)))
            assert all(r.ids == rankings[0].ids and r[0].index == 1 for r in rankings)
            items = await c.normalize([Sql("CREATE TABLE t (a INT)")])
            assert items[0].kind == "sql"
            with pytest.raises(InvalidRequest):
                await c.rerank("q", ["a"], model="no-such-model")

    asyncio.run(main())


def test_candidates_from_folder(tmp_path: Path, client):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mail.py").write_text("def send_email(to, body):\n    '''Send an email.'''\n")
    (tmp_path / "web.ts").write_text("export function fetchWeather(city: string) { return city; }\n")
    (tmp_path / "schema.sql").write_text("CREATE TABLE users (id INT);\n")
    (tmp_path / "README.md").write_text("# Notes\nSome prose.\n")
    (tmp_path / "blob.py").write_bytes(b"\x00\x01binary")
    (tmp_path / "big.py").write_text("x = 1\n" * 1000)
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "image.png").write_bytes(b"\x89PNG....")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.py").write_text("password = 1\n")

    found = toolrank.candidates_from_folder(tmp_path, max_bytes=1000)
    assert [c.id for c in found] == ["README.md", "pkg/mail.py", "schema.sql", "web.ts"]
    by_id = {c.id: c for c in found}
    assert by_id["pkg/mail.py"] == Code(by_id["pkg/mail.py"].source, "python", "pkg/mail.py", id="pkg/mail.py")
    assert by_id["web.ts"].language == "typescript"
    assert isinstance(by_id["schema.sql"], Sql) and isinstance(by_id["README.md"], Text)
    assert [c.id for c in toolrank.candidates_from_folder(tmp_path, "pkg/*.py")] == ["pkg/mail.py"]

    ranking = client.rerank("send an email", found, top_n=1)
    assert ranking[0].id == "pkg/mail.py"


def test_candidates_from_sql_file(tmp_path: Path, client):
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "-- people who can log in\n"
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);\n"
        "CREATE INDEX users_email ON users (email);\n"
        "CREATE TABLE IF NOT EXISTS shop.orders (id INTEGER, user_id INTEGER REFERENCES users (id),\n"
        "  total NUMERIC(10, 2), created_at TIMESTAMP);\n"
        "INSERT INTO users VALUES (1, 'a@b.c', 'a; b');\n"
        "CREATE VIEW big_orders AS SELECT * FROM shop.orders WHERE total > 100;\n")
    tables = toolrank.candidates_from_sql_file(schema, dialect="sqlite")
    assert [t.id for t in tables] == ["users", "shop.orders", "big_orders"]
    assert tables[0].text.startswith("-- people who can log in\nCREATE TABLE users")
    assert tables[1].text.endswith("created_at TIMESTAMP);") and tables[1].dialect == "sqlite"
    assert tables[2].text.startswith("CREATE VIEW big_orders")

    ranking = client.rerank("total amount of each order", tables, top_n=1)
    assert ranking[0].id in ("shop.orders", "big_orders")


def test_token_against_a_server_that_requires_one():
    if "auth_tokens" not in Settings.__dataclass_fields__:
        pytest.skip("this server has no bearer-token auth")
    from toolrank.errors import Unauthenticated

    server = ServerThread(Settings(auth_tokens="s3cret")).start()
    try:
        with Client(server.address, timeout=30) as anonymous:
            assert anonymous.health()  # health needs no token
            with pytest.raises(Unauthenticated):
                anonymous.info()
        with Client(server.address, token="wrong", timeout=30) as wrong:
            with pytest.raises(Unauthenticated):
                wrong.rerank("q", ["a"])
        with Client(server.address, token="s3cret", timeout=30) as c:
            assert c.rerank("q", ["a", "b"]).model == "default"

        async def with_async() -> None:
            async with AsyncClient(server.address, token="s3cret", timeout=30) as ac:
                assert len(await ac.rerank("q", ["a"])) == 1

        asyncio.run(with_async())
    finally:
        server.stop()
