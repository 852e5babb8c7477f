"""Golden fixtures, one per tool format (``scripts/gen_fixtures_tool.py`` writes them), and faithfulness.

Faithfulness, for every fixture and for hypothesis-generated tools in every format: the output
is not empty, no fallback is taken on valid input, and every word of each tool's name and
description, every parameter name and every word of its description survives (stopwords aside).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolrank.normalize.tool import ERROR_PREFIX, normalize_tool
from toolrank.normalize.tool.faithful import words
from toolrank.types import Normalized, NormalizeOptions, ToolInput

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "normalize" / "tool"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))

REQUIRED_FORMATS = {
    "openai_chat", "openai_responses", "anthropic", "mcp_tool", "mcp_tools_list_result", "mcp_jsonrpc_response",
    "gemini", "bfcl", "openapi3_operation", "openapi3_document", "swagger2_document", "json_schema_function",
    "toolbench_api", "toolbench_tool", "api_bank", "toolalpaca", "gorilla_apibench", "langchain", "llamaindex",
    "smolagents", "a2a_agent_card", "openai_plugin_manifest", "api_record_flat", "json_schema_bare",
    "swagger2_operation", "bedrock_converse_tool", "bedrock_converse_tool_config", "bedrock_agent_function_schema",
    "cohere_v1_parameter_definitions", "unknown_key_request_body",
}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def run(doc: Any, max_chars: int = 4096) -> Normalized:
    return normalize_tool(ToolInput(json.dumps(doc, ensure_ascii=False)), NormalizeOptions(max_chars=max_chars))


def test_every_format_has_a_fixture_naming_its_source() -> None:
    names = {p.stem for p in FIXTURE_FILES}
    assert REQUIRED_FORMATS <= names, REQUIRED_FORMATS - names
    for path in FIXTURE_FILES:
        fixture = load(path)
        assert fixture["source"].strip() and fixture["expected"].strip(), path.name


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture(path: Path) -> None:
    fixture = load(path)
    out = run(fixture["input"], fixture["max_chars"])
    assert out.text == fixture["expected"]
    assert (out.detail, out.fallback) == (fixture["detail"], fixture["fallback"])
    assert not out.fallback


def _names_and_descriptions(value: Any) -> list[str]:
    """The name and description texts of every tool-like object in a fixture input (wrappers aside)."""
    found: list[str] = []
    if isinstance(value, list):
        for v in value:
            found.extend(_names_and_descriptions(v))
    elif isinstance(value, dict):
        lower = {k.lower(): k for k in value if isinstance(k, str)}
        for key in ("name", "api_name", "name_for_model", "tool_name", "operationid", "description", "api_description",
                    "tool_description", "description_for_model", "summary"):
            if key in lower and isinstance(value[lower[key]], str):
                found.append(value[lower[key]])
        for key, sub in value.items():
            if key not in ("properties", "parameters", "inputSchema", "input_schema", "outputSchema", "components",
                           "definitions", "$defs", "fn_schema", "args", "inputs", "input_parameters",
                           "output_parameters", "required_parameters", "optional_parameters", "responses",
                           "requestBody", "info", "provider", "template_response", "performance", "api", "auth"):
                found.extend(_names_and_descriptions(sub))
    return found


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_keeps_every_name_and_description_word(path: Path) -> None:
    fixture = load(path)
    out = run(fixture["input"], 8192)
    kept = words(out.text)
    for text in _names_and_descriptions(fixture["input"]):
        missing = words(text) - kept
        assert not missing, (text, missing)


# --------------------------------------------------------------------------- generated tools, every format

WORDS = st.sampled_from(
    "weather city forecast invoice customer refund flight airport hotel booking stock price ticker email send "
    "calendar event meeting translate language image resize upload file folder search query database table "
    "column user account password reset order shipping tracking currency exchange rate recipe ingredient".split()
)
IDENT = st.lists(WORDS, min_size=1, max_size=3).map("_".join)
SENTENCE = st.lists(WORDS | st.sampled_from(["the", "a", "of", "for", "with", "and", "to"]), min_size=2,
                    max_size=14).map(lambda ws: " ".join(ws).capitalize() + ".")
PARAMS = st.dictionaries(IDENT, st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "boolean"]),
                                                       "description": SENTENCE}), max_size=4)


def _schema(params: dict[str, Any], required: list[str], object_type: str = "object") -> dict[str, Any]:
    return {"type": object_type, "properties": params, "required": required}


Wrapper = Callable[[str, str, dict[str, Any], list[str]], Any]

WRAPPERS: dict[str, Wrapper] = {
    "openai-chat": lambda n, d, p, r: {"type": "function", "function": {"name": n, "description": d,
                                                                         "parameters": _schema(p, r)}},
    "openai-responses": lambda n, d, p, r: {"type": "function", "name": n, "description": d, "parameters": _schema(p, r)},
    "anthropic": lambda n, d, p, r: {"name": n, "description": d, "input_schema": _schema(p, r)},
    "mcp": lambda n, d, p, r: {"name": n, "description": d, "inputSchema": _schema(p, r)},
    "mcp-jsonrpc": lambda n, d, p, r: {"jsonrpc": "2.0", "id": 7, "result": {"tools": [
        {"name": n, "description": d, "inputSchema": _schema(p, r)}]}},
    "gemini": lambda n, d, p, r: {"functionDeclarations": [{"name": n, "description": d,
                                                            "parameters": _schema(p, r, "OBJECT")}]},
    "bfcl": lambda n, d, p, r: {"name": n, "description": d, "parameters": _schema(p, r, "dict")},
    "openapi-op": lambda n, d, p, r: {"operationId": n, "summary": d, "parameters": [
        {"name": k, "in": "query", "required": k in r, "description": v["description"], "schema": {"type": v["type"]}}
        for k, v in p.items()], "responses": {"200": {"description": "OK"}}},
    "openapi": lambda n, d, p, r: {"openapi": "3.1.0", "paths": {f"/{n}": {"post": {
        "operationId": n, "description": d, "requestBody": {"content": {"application/json": {"schema": _schema(p, r)}}},
        "responses": {"200": {"description": "OK"}}}}}},
    "toolbench": lambda n, d, p, r: {"tool_name": "Tool", "api_name": n, "api_description": d,
                                     "required_parameters": [{"name": k, **v} for k, v in p.items() if k in r],
                                     "optional_parameters": [{"name": k, **v} for k, v in p.items() if k not in r]},
    "api-record": lambda n, d, p, r: {"api_name": n, "api_description": d, "parameters": p, "required": r,
                                      "responses": {"result": {"type": "object", "description": "The result"}}},
    "api-bank": lambda n, d, p, r: {"name": n, "description": d, "input_parameters": p,
                                    "output_parameters": {"status": {"type": "str", "description": "done"}}},
    "gorilla": lambda n, d, p, r: {"domain": "Multimodal", "framework": "Transformers", "functionality": "Search",
                                   "api_name": n, "api_call": f"{n}()", "api_arguments": list(p), "description": d,
                                   "python_environment_requirements": ["transformers"], "example_code": "x = 1",
                                   "performance": {"dataset": "x", "accuracy": 0.5}},
    "langchain": lambda n, d, p, r: {"name": n, "description": d, "args": p},
    "llamaindex": lambda n, d, p, r: {"name": n, "description": d, "fn_schema": _schema(p, r)},
    "smolagents": lambda n, d, p, r: {"name": n, "description": d, "inputs": p, "output_type": "string"},
    "openai-plugin": lambda n, d, p, r: {"schema_version": "v1", "name_for_model": n, "name_for_human": n,
                                         "description_for_model": d, "api": {"type": "openapi", "url": "http://x/y"}},
    "a2a-skill": lambda n, d, p, r: {"name": "Agent", "description": "An agent.", "url": "http://x",
                                     "skills": [{"id": n, "name": n, "description": d, "tags": list(p)}]},
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(WRAPPERS)), IDENT, SENTENCE, PARAMS, st.data())
def test_generated_tools_keep_name_and_description(fmt: str, name: str, description: str,
                                                   params: dict[str, Any], data: st.DataObject) -> None:
    required = data.draw(st.lists(st.sampled_from(sorted(params)), unique=True) if params else st.just([]))
    doc = WRAPPERS[fmt](name, description, params, required)
    out = run(doc)
    assert out.text.strip(), (fmt, doc)
    assert not out.fallback and not out.detail.startswith(ERROR_PREFIX), (fmt, out.detail)
    missing = (words(name) | words(description)) - words(out.text)
    assert not missing, (fmt, missing, out.text)
    kept = words(out.text)
    for param, spec in params.items():
        assert param in out.text or fmt in ("a2a-skill", "openai-plugin"), (fmt, param, out.text)
        if fmt not in ("a2a-skill", "openai-plugin", "gorilla"):  # formats that carry parameter descriptions
            assert not words(spec["description"]) - kept, (fmt, param, spec["description"], out.text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(sorted(WRAPPERS)), IDENT, SENTENCE), min_size=2, max_size=6))
def test_generated_tool_lists_keep_every_tool(tools: list[tuple[str, str, str]]) -> None:
    doc = [WRAPPERS[fmt](name, description, {}, []) for fmt, name, description in tools]
    out = run(doc, 8192)
    assert not out.fallback, out.detail
    for _, name, description in tools:
        assert not (words(name) | words(description)) - words(out.text)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_is_a_tool_document(path: Path) -> None:
    # What a candidate object sent without a kind means: every format's input is taken for a tool.
    from toolrank.normalize.tool import is_tool_document

    assert is_tool_document(load(path)["input"])
