"""Tool candidates as every entry point accepts them: the grpcurl shape, whole documents, and
``expand_tools`` (one candidate per tool) in the library, the CLI and the Python client."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import toolrank
from conftest import ServerThread
from toolrank.candidates import candidate_from_json, expand_tools
from toolrank.cli import main
from toolrank.errors import InvalidRequest
from toolrank.normalize import normalize
from toolrank.types import ToolInput

WEATHER = {"name": "get_weather", "description": "Get the current weather for a city",
           "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
EMAIL = {"name": "send_email", "description": "Send an email message to a recipient",
         "inputSchema": {"type": "object", "properties": {"to": {"type": "string"}}}}
FILES = {"name": "list_files", "description": "List the files in a directory"}
RESPONSE = {"jsonrpc": "2.0", "id": 3, "result": {"tools": [WEATHER, EMAIL, FILES]}}
OPENAPI = {"openapi": "3.0.0", "components": {"schemas": {"Pet": {"type": "object", "properties": {
    "name": {"type": "string", "description": "Pet name"}}}}},
    "paths": {"/pets": {"parameters": [{"name": "shop", "in": "query", "schema": {"type": "string"}}],
                        "get": {"operationId": "listPets", "summary": "List pets", "responses": {}},
                        "post": {"summary": "Create a pet", "responses": {}, "requestBody": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}}}}}


def test_grpcurl_shape_is_the_tool_itself() -> None:
    schema = json.dumps(WEATHER)
    cand = candidate_from_json({"id": "w", "tool": {"json": schema}})
    assert cand.id == "w" and cand.content == ToolInput(schema)
    assert normalize(cand.content).text.startswith("get_weather (get weather): Get the current weather")


def test_a_whole_response_sent_as_one_candidate_stays_one() -> None:
    cand = candidate_from_json(RESPONSE)
    assert isinstance(cand.content, ToolInput)
    out = normalize(cand.content)
    assert out.detail == "3 tools: mcp+roles" and len(out.text.split("\n")) == 3


@pytest.mark.parametrize("doc", [RESPONSE, RESPONSE["result"], RESPONSE["result"]["tools"],
                                 {"id": "x", "tool": RESPONSE}, {"tool": {"json": json.dumps(RESPONSE)}}])
def test_expand_tools_gives_one_candidate_per_tool(doc: object) -> None:
    values = expand_tools(doc)
    assert [v["id"] for v in values] == ["get_weather", "send_email", "list_files"]
    texts = [normalize(candidate_from_json(v).content).text for v in values]
    assert texts[0].startswith("get_weather") and texts[2] == "list_files (list files): List the files in a directory"


def test_expand_openapi_document_keeps_refs_and_shared_parameters() -> None:
    values = expand_tools(OPENAPI)
    assert [v["id"] for v in values] == ["listPets", "POST /pets"]
    post = normalize(candidate_from_json(values[1]).content).text
    assert post == "POST /pets (post pets): Create a pet. Optional: shop string; name string: Pet name"


def test_expand_keeps_other_candidates_and_unique_ids() -> None:
    values = expand_tools(["plain text", {"text": "t"}, {"sql": "CREATE TABLE a (b INT)"}, WEATHER, WEATHER,
                           {"tool": {"functionDeclarations": [{"description": "no name at all"}, FILES]}},
                           {"tool": {"not": "a tool"}}])
    assert values[:3] == ["plain text", {"text": "t"}, {"sql": "CREATE TABLE a (b INT)"}]
    assert [v["id"] for v in values[3:-1]] == ["get_weather", "get_weather#2", "5#1", "list_files"]
    assert values[-1] == {"tool": {"not": "a tool"}}  # not a tool document: passed on as sent


def test_cli_normalize_expand_tools(tmp_path, capsys) -> None:
    (tmp_path / "r.json").write_text(json.dumps(RESPONSE))
    assert main(["normalize", str(tmp_path / "r.json"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["normalize", str(tmp_path / "r.json"), "--json", "--expand-tools"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["id"] for o in out] == ["get_weather", "send_email", "list_files"]
    assert all(o["kind"] == "tool" and not o["fallback"] for o in out)


def test_cli_rerank_expand_tools(default_server: ServerThread, tmp_path, capsys) -> None:
    request = {"query": "send a message by email", "candidates": [{"id": "all", "tool": {"json": json.dumps(RESPONSE)}}]}
    (tmp_path / "q.json").write_text(json.dumps(request))
    assert main(["rerank", str(tmp_path / "q.json"), "--address", default_server.address, "--json",
                 "--expand-tools"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert len(results) == 3 and results[0]["id"] == "send_email"


def test_client_rerank_with_expand_tools(default_server: ServerThread) -> None:
    with toolrank.Client(default_server.address, timeout=30) as client:
        one = client.rerank("list the files in a folder", [RESPONSE])
        assert len(one) == 1
        ranking = client.rerank("list the files in a folder", toolrank.expand_tools(RESPONSE))
        assert [hit.id for hit in ranking][0] == "list_files" and len(ranking) == 3


def test_deeply_nested_lists_are_not_a_crash() -> None:
    # Regression: is_tool_document() followed nested lists without a bound (RecursionError escaped).
    deep = json.loads("[" * 900 + "]" * 900)
    with pytest.raises(InvalidRequest, match="^c: no content"):
        candidate_from_json({"tools": deep, "x": 1}, "c")
    assert expand_tools({"tools": deep}) == [{"tools": deep}]  # not a tool document: passed on as sent


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.sampled_from(["tools", "name", "description", "paths", "/a", "get", "jsonrpc", "result", "function"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["tools", "name", "description", "parameters", "paths", "openapi", "get",
                                       "jsonrpc", "result", "function", "tool", "json", "id", "skills",
                                       "functionDeclarations", "api_list", "text"]) | st.text(max_size=4),
                      children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_expand_tools_is_total(value: object) -> None:
    out = expand_tools(value)
    assert isinstance(out, list)
    sent = value if isinstance(value, list) else [value]
    for item in out:
        if not any(item is v for v in sent):  # made by the expansion (others pass through as sent)
            assert isinstance(item, dict) and isinstance(item["id"], str) and "tool" in item


@pytest.mark.parametrize("record", [{"id": "d1", "title": "Paris", "description": "Capital of France"},
                                    {"title": "Paris", "body": "Capital of France"}])
def test_plain_records_are_not_taken_for_tools(record: dict) -> None:
    # HTTP documents like these are ranked by their fields (rank_fields), not as tools.
    with pytest.raises(InvalidRequest, match="no content"):
        candidate_from_json(record, "documents[0]")


@pytest.mark.parametrize("doc", [
    {"api_name": "get_weather", "api_description": "Weather", "parameters": {"city": {"type": "string"}}},
    {"domain": "NLP", "api_name": "bert", "api_call": "AutoModel.from_pretrained('bert')", "description": "BERT"},
    {"name_for_model": "todo", "description_for_model": "Manage a TODO list"},
    {"tool_name": "Weather", "api_list": [{"name": "hourly", "description": "Hourly forecast"}]},
    {"title": "GetWeather", "description": "Weather now", "type": "object", "properties": {"city": {"type": "string"}}},
])
def test_tool_documents_of_other_formats_are_tools(doc: dict) -> None:
    assert isinstance(candidate_from_json(doc).content, ToolInput)


def _post(url: str, path: str, body: object) -> tuple[int, dict]:
    from urllib.parse import urlsplit
    import http.client

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_http_expand_tools(default_server: ServerThread) -> None:
    body = {"query": "list the files in a folder", "documents": [RESPONSE, "a cake recipe"], "return_documents": True}
    status, one = _post(default_server.http_url, "/v1/rerank", body)
    assert status == 200 and len(one["results"]) == 2  # the response is one document
    status, out = _post(default_server.http_url, "/v2/rerank", {**body, "expand_tools": True})
    assert status == 200 and len(out["results"]) == 4
    best = out["results"][0]
    assert best["index"] == 2 and best["document"]["id"] == "list_files"  # indexes refer to the expanded list
    status, grpcurl_shape = _post(default_server.http_url, "/v1/rerank", {
        "query": "weather in Paris", "documents": [{"tool": {"json": json.dumps(WEATHER)}}, "a cake recipe"]})
    assert status == 200 and grpcurl_shape["results"][0]["index"] == 0
