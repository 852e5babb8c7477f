"""Tool-schema normalizer: every supported format, the fallbacks, and totality (hypothesis)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolrank.normalize.tool import ERROR_PREFIX, normalize_tool
from toolrank.types import Normalized, NormalizeOptions, ToolInput

OPTIONS = NormalizeOptions()

WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
    },
    "required": ["location"],
}

OPENAI_CHAT = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Get the current weather.", "parameters": WEATHER_PARAMS},
}
OPENAI_RESPONSES = {
    "type": "function",
    "name": "getWeather",
    "description": "Get the current weather.",
    "parameters": WEATHER_PARAMS,
    "strict": True,
}
ANTHROPIC = {"name": "get_weather", "description": "Get the current weather.", "input_schema": WEATHER_PARAMS}
MCP = {
    "name": "github.createIssue",
    "title": "Open a GitHub issue",
    "description": "Create an issue in a repository.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "repo": {"type": "string", "description": "owner/name"},
            "labels": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["repo"],
    },
    "annotations": {"readOnlyHint": False, "destructiveHint": True},
}
GEMINI = {
    "functionDeclarations": [
        {
            "name": "find_movies",
            "description": "Find movies playing in theaters.",
            "parameters": {
                "type": "OBJECT",
                "properties": {"genre": {"type": "STRING", "enum": ["comedy", "drama"]}},
                "required": ["genre"],
            },
        },
        {"name": "find_theaters", "description": "Find theaters near a location."},
    ]
}
BFCL = {
    "name": "triangle_properties.get",
    "description": "Retrieve the dimensions of a triangle.",
    "parameters": {
        "type": "dict",
        "properties": {
            "side1": {"type": "integer", "description": "The length of first side."},
            "get_area": {
                "type": "boolean",
                "description": "Whether to compute the area. Default is true.",
                "default": True,
                "optional": True,
            },
        },
        "required": ["side1"],
    },
}
NESTED = {
    "name": "search_orders",
    "description": "Search orders.",
    "parameters": {
        "type": "object",
        "$defs": {
            "Address": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City of the address"}},
                "required": ["city"],
            },
            "Node": {
                "type": "object",
                "properties": {"label": {"type": "string"}, "child": {"$ref": "#/$defs/Node"}},
            },
        },
        "properties": {
            "filter": {
                "type": "object",
                "properties": {"owner": {"type": "object", "properties": {"address": {"$ref": "#/$defs/Address"}}}},
            },
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]},
            },
            "tree": {"$ref": "#/$defs/Node"},
            "when": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        },
        "required": ["items"],
    },
}
OPENAPI_OP = {
    "operationId": "listPets",
    "summary": "List all pets",
    "parameters": [
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "default": 20}},
    ],
    "responses": {"200": {"description": "ok"}},
}
OPENAPI_DOC = {
    "openapi": "3.0.0",
    "info": {"title": "Petstore", "version": "1"},
    "paths": {
        "/pets/{petId}": {
            "parameters": [{"$ref": "#/components/parameters/PetId"}],
            "get": {"operationId": "showPetById", "summary": "Info for a specific pet", "responses": {}},
            "put": {
                "summary": "Update a pet",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                },
                "responses": {},
            },
        }
    },
    "components": {
        "parameters": {"PetId": {"name": "petId", "in": "path", "required": True, "schema": {"type": "string"}}},
        "schemas": {
            "Pet": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "description": "Pet name"},
                    "owner": {"$ref": "#/components/schemas/Owner"},
                },
            },
            "Owner": {"type": "object", "properties": {"email": {"type": "string"}, "pets": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}}},
        },
    },
}

SAMPLES: list[Any] = [OPENAI_CHAT, OPENAI_RESPONSES, ANTHROPIC, MCP, GEMINI, BFCL, NESTED, OPENAPI_OP, OPENAPI_DOC]


def norm(value: Any, max_chars: int = 4096) -> Normalized:
    raw = value if isinstance(value, str) else json.dumps(value)
    return normalize_tool(ToolInput(raw), NormalizeOptions(max_chars=max_chars))


def assert_contains(text: str, *parts: str) -> None:
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("doc", "detail"),
    [(OPENAI_CHAT, "openai-chat"), (OPENAI_RESPONSES, "openai-responses"), (ANTHROPIC, "anthropic")],
)
def test_weather_in_each_dialect(doc: Any, detail: str) -> None:
    out = norm(doc)
    assert (out.fallback, out.detail) == (False, detail)
    assert_contains(out.text, "get weather", "Get the current weather.", "location string", "City name")
    assert_contains(out.text, "Required:", "Optional:", "unit string", "one of celsius|fahrenheit", "default celsius")
    assert out.text.index("location") < out.text.index("unit")


def test_openai_chat_exact_line() -> None:
    assert norm(OPENAI_CHAT).text == (
        "get_weather (get weather): Get the current weather. Required: location string: City name. "
        "Optional: unit string, one of celsius|fahrenheit, default celsius"
    )


def test_name_as_written_and_in_words() -> None:
    assert norm(OPENAI_RESPONSES).text.startswith("getWeather (get weather):")
    assert norm(MCP).text.startswith("github.createIssue (github create issue)")


def test_mcp_title_and_annotations() -> None:
    out = norm(MCP)
    assert out.detail == "mcp"
    assert_contains(out.text, "Open a GitHub issue", "destructive", "repo string: owner/name", "labels array of string")
    assert "read-only" not in out.text


def test_gemini_declarations_and_wrappers() -> None:
    for doc in (GEMINI, {"function_declarations": GEMINI["functionDeclarations"]}, [GEMINI], {"tools": [GEMINI]}):
        out = norm(doc)
        assert out.detail == "2 tools: gemini", doc
        lines = out.text.split("\n")
        assert len(lines) == 2
        assert_contains(lines[0], "find_movies (find movies)", "genre string, one of comedy|drama", "Required:")
        assert_contains(lines[1], "find_theaters (find theaters): Find theaters near a location.")


def test_bfcl_dict_dialect() -> None:
    out = norm(BFCL)
    assert out.detail == "bfcl"
    assert_contains(out.text, "triangle_properties.get (triangle properties get)", "Optional:")
    assert_contains(out.text, "side1 integer: length first side", "get_area boolean, default true: Whether compute area")
    assert "Default is" not in out.text  # the sentence only restated the rendered default
    assert "object" not in out.text  # "dict" is the dialect's object, not a parameter


def test_bare_json_schema_function() -> None:
    out = norm({"name": "ping", "description": "Check liveness.", "parameters": {"type": "object", "properties": {}}})
    assert (out.text, out.detail) == ("ping: Check liveness.", "json-schema")


def test_nested_paths_refs_and_cycle() -> None:
    out = norm(NESTED)
    text = out.text
    assert_contains(text, "filter object", "filter.owner object", "filter.owner.address.city string", "City address")
    assert_contains(text, "items array of object", "items[].sku string", "tree.label string", "tree.child Node")
    assert_contains(text, "when string date-time")
    assert text.index("items") < text.index("filter")  # required first
    assert text.count("tree.child") == 1  # the cycle is cut


def test_self_referencing_ref_terminates() -> None:
    doc = {
        "name": "loop",
        "parameters": {
            "definitions": {"A": {"$ref": "#/definitions/B"}, "B": {"$ref": "#/definitions/A"}},
            "properties": {"x": {"$ref": "#/definitions/A"}, "y": {"$ref": "#/nowhere"}, "z": {"$ref": "other.json#/X"}},
        },
    }
    out = norm(doc)
    assert out.text == "loop. Optional: x A; y nowhere; z X"


def test_openapi_operation() -> None:
    out = norm(OPENAPI_OP)
    assert out.detail == "openapi-op"
    assert_contains(out.text, "listPets (list pets): List all pets", "Optional: limit integer, default 20")


def test_openapi_document_renders_each_operation() -> None:
    out = norm(OPENAPI_DOC)
    assert out.detail == "2 tools: openapi"
    get, put = out.text.split("\n")
    assert_contains(get, "showPetById (show pet by id) [GET /pets/{petId}]", "Info for a specific pet", "petId string")
    assert_contains(put, "PUT /pets/{petId}", "Update a pet", "petId string", "name string: Pet name")
    assert_contains(put, "owner.email string", "owner.pets array of Pet")


def test_swagger2_body_and_inline_types() -> None:
    doc = {
        "swagger": "2.0",
        "paths": {
            "/users": {
                "post": {
                    "operationId": "create_user",
                    "parameters": [
                        {"name": "dry_run", "in": "query", "type": "boolean", "default": False},
                        {"name": "body", "in": "body", "schema": {"$ref": "#/definitions/User"}},
                    ],
                }
            }
        },
        "definitions": {"User": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}},
    }
    out = norm(doc)
    assert_contains(out.text, "create_user (create user) [POST /users]", "email string", "dry_run boolean, default false")


def test_array_of_mixed_formats() -> None:
    out = norm([OPENAI_CHAT, ANTHROPIC, MCP, 3, {"x": 1}])
    assert out.detail == "3 tools: anthropic+mcp+openai-chat"
    assert len(out.text.split("\n")) == 5


@pytest.mark.parametrize("responses", [{"200": {"description": "ok"}}, {"result": {"type": "string"}}])
@pytest.mark.parametrize("parameters", [
    {"city": {"type": "string", "description": "City name"}},
    [{"name": "city", "type": "string", "description": "City name"}],
])
def test_flat_api_record_is_not_an_openapi_operation(parameters: Any, responses: Any) -> None:
    doc = {"api_name": "get_weather", "api_description": "Current weather for a city.", "parameters": parameters,
           "required": ["city"], "responses": responses}
    out = norm(doc)
    assert (out.detail, out.fallback) == ("api-record", False)
    assert out.text.startswith("get_weather (get weather): Current weather for a city. Required: city string: City name")


def test_guard_falls_back_to_the_role_reader_when_a_format_drops_content() -> None:
    # The chat-format reader reads the inner function only; here the words are on the outside.
    doc = {"type": "function", "function": {"name": "lookup", "parameters": {}},
           "description": "Find shipping status and tracking events of a customer order by its number"}
    out = norm(doc)
    assert out.fallback and out.detail.startswith("openai-chat: kept ") and out.detail.endswith("role reader")
    assert_contains(out.text, "Find shipping status and tracking events of a customer order by its number")


def test_guard_judges_each_tool_of_a_list() -> None:
    outside = {"type": "function", "function": {"name": "lookup", "parameters": {}},
               "description": "Find shipping status and tracking events of a customer order by its number"}
    out = norm([OPENAI_CHAT, outside])
    assert out.fallback and out.detail == "2 tools: openai-chat: kept 10% of content words, role reader"
    first, second = out.text.split("\n")
    assert first == norm(OPENAI_CHAT).text and second.startswith("Find shipping status")


def test_an_empty_rendering_of_a_document_with_text_becomes_generic() -> None:
    out = norm({"functionDeclarations": [{}], "note": "weather lookups for travel planning"})
    assert out.fallback and out.detail == "gemini: empty rendering, generic json"
    assert "weather lookups for travel planning" in out.text


def test_mcp_jsonrpc_response_lists_every_tool() -> None:
    out = norm({"jsonrpc": "2.0", "id": 1, "result": {"tools": [MCP, ANTHROPIC]}})
    assert out.detail == "2 tools: anthropic+mcp" and len(out.text.split("\n")) == 2


# --------------------------------------------------------------------------- compact parameter descriptions


def _one_param(description: str, **schema: Any) -> str:
    props = {"user_name": {"type": "string", "description": description, **schema}}
    return norm({"name": "f", "parameters": {"type": "object", "properties": props}}).text


def test_parameter_descriptions_drop_stopwords_but_keep_negations() -> None:
    text = _one_param("The name of the user that is NOT an admin, or no one; IT staff can't be used.")
    assert text == "f. Optional: user_name string: name user NOT admin, or no one; IT staff can't used"
    assert _one_param("The") == "f. Optional: user_name string: The"  # only stopwords: kept as written
    assert norm(OPENAI_CHAT).text.endswith("Get the current weather. Required: location string: City name. "
                                           "Optional: unit string, one of celsius|fahrenheit, default celsius")


def test_descriptions_restating_the_default_or_the_name_are_dropped() -> None:
    restated = ("Default is 10.", "The default value is 10 if not specified", "(default: 10)", "Defaults to '10'.")
    for description in restated:
        assert _one_param(f"Page size. {description}", default=10).endswith("user_name string, default 10: Page size")
    assert _one_param("Page size. Default is 20.", default=10).endswith("default 10: Page size. Default 20")
    assert _one_param("Page size (default 20)", default=10).endswith("default 10: Page size (default 20)")
    assert _one_param("Page size. Default is 20.").endswith("user_name string: Page size. Default 20")
    assert _one_param("The user name.") == "f. Optional: user_name string"
    assert _one_param("Default: x", default="x") == "f. Optional: user_name string, default x"


def test_long_parameter_descriptions_keep_their_first_sentences() -> None:
    text = _one_param("Plain first sentence here. " + "Another long sentence follows here. " * 20)
    description = text.split("user_name string: ", 1)[1]
    assert description.startswith("Plain first sentence here. Another long sentence follows here.")
    assert len(description) <= 200 and not description.endswith(".")
    one = _one_param("word " * 100).split("user_name string: ", 1)[1]
    assert 150 < len(one) <= 200


# --------------------------------------------------------------------------- fallbacks


def test_generic_json_is_key_value_not_raw_json() -> None:
    out = norm({"a": {"b": [1, 2]}, "c": [{"d": None}], "e": "hi"})
    assert (out.text, out.fallback, out.detail) == ("a.b: 1, 2; c[].d: null; e: hi", False, "generic json")
    for scalar, text in ((42, "42"), ("plain", "plain"), (None, "null"), ([], "")):
        assert norm(json.dumps(scalar)).text == text


def test_invalid_json_falls_back_to_raw_text() -> None:
    out = norm('{"name": "f",\n   "description": ')
    assert out.fallback
    assert out.detail.startswith("invalid json")
    assert out.text == '{"name": "f", "description":'
    assert norm("").fallback


def test_deep_nesting_is_total() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    out = norm(deep, max_chars=100)
    assert out.fallback and out.detail == "invalid json: nested too deeply" and len(out.text) <= 100
    deep_obj = '{"a":' * 100_000 + "1" + "}" * 100_000
    assert norm(deep_obj).fallback
    # Deep but parsable: inside a schema, and in the generic rendering.
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    node = schema
    for i in range(400):
        child: dict[str, Any] = {"type": "object", "properties": {}}
        node["properties"][f"p{i}"] = child
        node = child
    out = norm({"name": "deep", "parameters": schema})
    assert not out.fallback and "p0.p1.p2" in out.text
    assert not norm(json.loads('{"a":' * 500 + "1" + "}" * 500)).fallback


def test_huge_inputs_are_bounded() -> None:
    many = [OPENAI_CHAT] * 20_000  # its time: bench/normalize_worst_case.py
    out = norm(many, max_chars=2048)
    assert len(out.text) <= 2048 and out.text.startswith("get_weather")
    props = {f"p{i}": {"type": "string", "description": "x" * 10} for i in range(100_000)}
    out = norm({"name": "wide", "parameters": {"type": "object", "properties": props}}, max_chars=500)
    assert len(out.text) <= 500
    out = norm({"k": list(range(300_000))}, max_chars=300)
    assert len(out.text) <= 300


def test_weird_values_where_objects_are_expected() -> None:
    weird: list[Any] = [
        {"type": "function", "function": {"name": "f", "parameters": [1, "x", None]}},
        {"name": "f", "description": 5, "parameters": {"properties": {"a": 1, "b": [], "c": {"type": 7}}}},
        {"name": "f", "parameters": {"properties": [], "required": "a"}},
        {"name": "f", "parameters": {"properties": {"a": {"enum": "x", "items": 3, "anyOf": 4}}, "required": [1, None]}},
        {"name": "f", "parameters": {"$ref": 3}},
        {"openapi": "3", "paths": {"/a": 3, "/b": {"get": 5, "post": {"requestBody": {"content": 1}}}}},
        {"openapi": "3", "paths": []},
        {"functionDeclarations": [1, None, {"name": 3}]},
        {"tools": [[], {}, "x"]},
        {"name": "", "description": ""},
        {"name": "f", "parameters": {"properties": {"a": {"default": {"x": [1, {"y": 2}] * 10}}}}},
    ]
    for doc in weird:
        out = norm(doc)
        assert isinstance(out.text, str) and "{'" not in out.text


def test_lone_surrogates_become_valid_utf8() -> None:
    out = norm('{"name": "f\\ud800", "description": "x"}')
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in out.text), out.text  # no surrogate left
    assert out.text.encode("utf-8").decode("utf-8") == out.text  # round-trips as UTF-8
    assert out.text == "f? (f): x" and not out.fallback  # the name and description kept, the surrogate replaced


def test_max_chars_keeps_the_most_informative_first() -> None:
    out = norm(NESTED, max_chars=60)
    assert len(out.text) <= 60
    assert out.text.startswith("search_orders (search orders): Search orders.")
    assert norm(NESTED, max_chars=0).text == ""


def test_deterministic() -> None:
    for doc in SAMPLES:
        raw = json.dumps(doc)
        first = normalize_tool(ToolInput(raw), OPTIONS)
        assert all(normalize_tool(ToolInput(raw), OPTIONS) == first for _ in range(3))


# --------------------------------------------------------------------------- totality (hypothesis)

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
KEYS = st.sampled_from(
    ["name", "description", "parameters", "properties", "type", "items", "$ref", "required", "enum", "default",
     "function", "input_schema", "inputSchema", "paths", "openapi", "allOf", "anyOf", "operationId",
     "requestBody", "content", "schema", "functionDeclarations", "tools", "annotations", "title"]
) | st.text(max_size=6)
JSON = st.recursive(
    SCALARS | st.sampled_from(["#/definitions/A", "#/$defs/A", "#/components/schemas/A", "#", "#/"]),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)


def check_total(value: Any, max_chars: int = 512) -> None:
    raw = json.dumps(value)
    out = normalize_tool(ToolInput(raw), NormalizeOptions(max_chars=max_chars))
    assert isinstance(out, Normalized) and isinstance(out.text, str)
    assert not out.detail.startswith(ERROR_PREFIX), out.detail  # valid JSON never needs the safety net
    assert len(out.text) <= max_chars
    out.text.encode("utf-8")
    assert normalize_tool(ToolInput(raw), NormalizeOptions(max_chars=max_chars)) == out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON, st.integers(min_value=0, max_value=600))
def test_total_on_random_json(value: Any, max_chars: int) -> None:
    check_total(value, max_chars)


def _mutate(doc: Any, choices: list[tuple[int, int, Any]]) -> Any:
    """Replace, delete or re-type nodes picked by index along a walk of the document."""
    doc = copy.deepcopy(doc)
    for pick, action, replacement in choices:
        nodes: list[tuple[Any, Any]] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k in node:
                    nodes.append((node, k))
                    walk(node[k])
            elif isinstance(node, list):
                for i in range(len(node)):
                    nodes.append((node, i))
                    walk(node[i])

        walk(doc)
        if not nodes:
            return replacement
        parent, key = nodes[pick % len(nodes)]
        if action == 0:
            parent[key] = replacement
        elif action == 1 and isinstance(parent, dict):
            del parent[key]
        elif action == 2:
            parent[key] = [parent[key], parent[key]]
        else:
            parent[key] = {"$ref": "#/$defs/A", "description": replacement}
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3), JSON), min_size=1, max_size=4),
    st.integers(min_value=0, max_value=600),
)
def test_total_on_mutated_schemas(doc: Any, choices: list[tuple[int, int, Any]], max_chars: int) -> None:
    check_total(_mutate(doc, choices), max_chars)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_total_on_arbitrary_text(text: str) -> None:
    out = normalize_tool(ToolInput(text), OPTIONS)
    assert isinstance(out.text, str)
    out.text.encode("utf-8")


def test_deeply_nested_returns_do_not_reach_the_safety_net() -> None:
    # Regression: one_line() followed nested lists without a bound (RecursionError at depth 500).
    text = '{"name": "f", "description": "x", "returns": ' + "[" * 900 + "]" * 900 + "}"
    out = normalize_tool(ToolInput(text), OPTIONS)
    assert (out.text, out.fallback, out.detail) == ("f: x", False, "roles")
