"""The last unseen tool shapes, read by rule: single-key envelopes (any key) and parameter maps under
keys no reader table knows; and the faithfulness guard on parameter names and descriptions.

Property tests generate the key, the tool and its parameters; each checks that the tool is read
by roles (not flattened as key paths), that every parameter name and description word survives,
and that a rendering losing one is caught by the guard (a counted fallback).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from toolrank.normalize.tool import ERROR_PREFIX, normalize_tool, roles, split_tools
from toolrank.normalize.tool.faithful import lost_facts, parameter_facts, words
from toolrank.normalize.tool.model import Budget
from toolrank.types import Normalized, NormalizeOptions, ToolInput

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


def run(doc: Any, max_chars: int = 4096) -> Normalized:
    return normalize_tool(ToolInput(json.dumps(doc, ensure_ascii=False)), NormalizeOptions(max_chars=max_chars))


def schema(params: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": params, "required": required}


KNOWN_KEYS = (set(roles.NAME_KEYS) | set(roles.TITLE_KEYS) | set(roles.DESCRIPTION_KEYS) | set(roles.RETURN_KEYS)
              | set(roles.NOTE_KEYS) | set(roles.NOISE_KEYS) | {k for k, _ in roles.PARAMETER_KEYS}
              | set(roles.REFERENCE_KEYS) | set(roles.SCHEMA_KEYWORDS) | {"function", "tools", "functions", "result"})
# Keys as people write them: camelCase or snake_case words, none a role the reader knows.
KEY = st.lists(WORDS | st.sampled_from(["spec", "def", "tool", "fields", "body", "config", "schema", "args"]),
               min_size=1, max_size=3).map(lambda ws: ws[0] + "".join(w.title() for w in ws[1:])) | IDENT
UNKNOWN_KEY = KEY.filter(lambda k: k.lower() not in KNOWN_KEYS and not roles._is_output_key(k.lower()))

INNER = {  # tool objects an envelope may hold: how its schema is written varies
    "input-schema-json": lambda n, d, p, r: {"name": n, "description": d, "inputSchema": {"json": schema(p, r)}},
    "parameters": lambda n, d, p, r: {"name": n, "description": d, "parameters": schema(p, r)},
    "input_schema": lambda n, d, p, r: {"name": n, "description": d, "input_schema": schema(p, r)},
    "param-map": lambda n, d, p, r: {"name": n, "description": d, "parameters": p, "required": r},
    "typed-function": lambda n, d, p, r: {"type": "function", "name": n, "description": d, "parameters": schema(p, r)},
}


def assert_faithful(out: Normalized, name: str, description: str, params: dict[str, Any]) -> None:
    assert not out.fallback and not out.detail.startswith(ERROR_PREFIX), out.detail
    kept = words(out.text)
    assert not (words(name) | words(description)) - kept, out.text
    for param, spec in params.items():
        assert param in out.text, (param, out.text)
        assert not words(spec["description"]) - kept, (param, spec["description"], out.text)


# --------------------------------------------------------------------------- envelopes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(KEY, st.sampled_from(sorted(INNER)), IDENT, SENTENCE, PARAMS, st.booleans(), st.data())
def test_generated_envelopes_are_unwrapped_and_read_by_roles(key: str, inner: str, name: str, description: str,
                                                              params: dict[str, Any], tagged: bool,
                                                              data: st.DataObject) -> None:
    assume(key != name)
    required = data.draw(st.lists(st.sampled_from(sorted(params)), unique=True) if params else st.just([]))
    doc: dict[str, Any] = {key: INNER[inner](name, description, params, required)}
    if tagged:  # a scalar tag beside the one object: still an envelope
        doc = {"type": key, **doc}
    out = run(doc)
    assert_faithful(out, name, description, params)
    assert f"{key}.name" not in out.text and ".properties." not in out.text and "json." not in out.text, out.text
    if key != "function":
        assert out.detail == f"envelope {key}", out.detail
    for param in required:
        assert f"Required: {param}" in out.text or f"; {param}" in out.text.split("Optional:")[0], out.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(IDENT, SENTENCE), min_size=1, max_size=5, unique_by=lambda t: t[0]), UNKNOWN_KEY, KEY)
def test_generated_envelope_lists_expand_one_candidate_per_tool(tools: list[tuple[str, str]], outer: str,
                                                                 envelope_key: str) -> None:
    assume(envelope_key not in {n for n, _ in tools})
    items = [{envelope_key: {"name": n, "description": d, "inputSchema": {"json": schema({}, [])}}} for n, d in tools]
    doc = {outer: {"tools": items, "toolChoice": {"auto": {}}}}
    out = run(doc, 8192)
    assert not out.fallback, out.detail
    for n, d in tools:
        assert not (words(n) | words(d)) - words(out.text), out.text
    assert [name for name, _ in split_tools(doc)] == [n for n, _ in tools]


def test_bedrock_converse_tool_is_one_line_by_roles() -> None:
    doc = {"toolSpec": {"name": "top_song", "description": "Get the most popular song played on a radio station.",
                        "inputSchema": {"json": {"type": "object", "required": ["sign"], "properties": {
                            "sign": {"type": "string", "description": "The call sign for the radio station."}}}}}}
    out = run(doc)
    assert out.text == ("top_song (top song): Get the most popular song played on a radio station. "
                        "Required: sign string: call sign radio station")
    assert (out.detail, out.fallback) == ("envelope toolSpec", False)


def test_an_envelope_keeps_its_own_strings_as_notes() -> None:
    out = run({"kind": "action", "owner": "payments team", "def": {"name": "refund", "description": "Refund an order."}})
    assert out.text == "refund: Refund an order. Kind: action. Owner: payments team"


def test_an_envelope_around_a_record_that_is_no_tool_stays_generic() -> None:
    out = run({"data": {"city": "Paris", "temperature": 21}})
    assert (out.text, out.detail) == ("data.city: Paris; data.temperature: 21", "generic json")


def test_an_object_with_a_name_of_its_own_is_not_an_envelope() -> None:
    out = run({"name": "outer", "description": "The outer tool.", "spec": {"name": "inner", "description": "Inner."}})
    assert out.text.startswith("outer: The outer tool."), out.text


def test_a_described_single_object_parameter_is_not_taken_for_a_wrapped_schema() -> None:
    # {"filter": {described object schema}} is one parameter; {"json": {undescribed object schema}} a wrapper.
    params = {"filter": {"type": "object", "description": "Which issues",
                         "properties": {"owner": {"type": "string", "description": "Owner login"}}}}
    out = run({"name": "list_issues", "description": "List issues.", "parameters": params})
    assert "Parameters: filter object: issues; filter.owner string, optional: Owner login" in out.text, out.text


# --------------------------------------------------------------------------- unknown-key parameter maps


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(UNKNOWN_KEY, IDENT, SENTENCE, PARAMS.filter(bool), st.sampled_from(["map", "schema", "body"]),
       st.booleans())
def test_generated_parameter_maps_under_unknown_keys_are_read(key: str, name: str, description: str,
                                                              params: dict[str, Any], shape: str,
                                                              described: bool) -> None:
    container: Any = {"map": params, "schema": schema(params, []),
                      "body": {"content": {"application/json": {"schema": schema(params, [])}}}}[shape]
    doc: dict[str, Any] = {"name": name, "description": description, key: container}
    if not described:
        del doc["description"]  # a name and parameters alone still make a tool
    out = run(doc)
    assert_faithful(out, name, description if described else "", params)
    assert f"{key}.{next(iter(params))}" not in out.text and ".properties." not in out.text, out.text


def test_cohere_style_parameter_definitions_are_parameters() -> None:
    doc = {"name": "query_daily_sales_report", "description": "Retrieve sales for a given day.",
           "parameter_definitions": {"day": {"description": "Day to report, as YYYY-MM-DD.", "type": "str",
                                             "required": True}}}
    out = run(doc)
    assert out.text == ("query_daily_sales_report (query daily sales report): Retrieve sales for a given day. "
                        "Required: day string: Day report, YYYY-MM-DD")
    assert not out.fallback


def test_unknown_output_keys_are_returns_not_parameters() -> None:
    doc = {"name": "get_rate", "description": "Exchange rate between two currencies.",
           "query_fields": {"base": {"type": "string", "description": "Currency to convert from"}},
           "response_fields": {"rate": {"type": "number", "description": "Units of quote per base"}}}
    out = run(doc)
    assert out.text == ("get_rate (get rate): Exchange rate between two currencies. Parameters: base string: "
                        "Currency convert from. Returns: rate Units of quote per base")


def test_parameter_lists_grouped_by_requiredness() -> None:
    doc = {"name": "send_email", "description": "Send an email.", "parameters": {
        "required": [{"name": "address", "type": "STRING", "description": "Recipient address"}],
        "optional": [{"name": "body", "type": "STRING", "description": "Message text"}]}}
    out = run(doc)
    assert out.text == ("send_email (send email): Send an email. Required: address string: Recipient address. "
                        "Optional: body string: Message text")


# --------------------------------------------------------------------------- the guard on parameters


def test_guard_counts_a_reader_that_drops_an_unknown_key_parameter_map(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the reader did before unknown keys were read: the guard must catch it, not let it pass silently.
    monkeypatch.setattr(roles, "_unknown_params", lambda *args: [])
    doc = {"name": "search_docs", "description": "Search the documentation.",
           "fields": {"query": {"type": "string", "description": "Words to look up"}}}
    out = run(doc)
    assert out.fallback and "lost parameter query" in out.detail, out.detail
    assert "query" in out.text and "Words to look up" in out.text, out.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(IDENT, SENTENCE, PARAMS.filter(bool), st.data())
def test_a_lost_parameter_is_always_caught(name: str, description: str, params: dict[str, Any],
                                           data: st.DataObject) -> None:
    doc = {"name": name, "description": description, "parameters": schema(params, [])}
    facts = parameter_facts(doc, Budget())
    assert sorted(n for n, _ in facts) == sorted(params)
    full = run(doc).text
    assert lost_facts(facts, full) == []
    dropped = data.draw(st.sampled_from(sorted(params)))
    assume(not any(dropped in other for other in params if other != dropped) and dropped not in name)
    assume(dropped not in description.lower() and all(dropped not in p["description"].lower() for p in params.values()))
    without = full.replace(dropped, "")
    assert dropped in lost_facts(facts, without)


def test_parameter_facts_skip_outputs_references_and_wrappers() -> None:
    doc = {"name": "t", "inputSchema": {"json": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}},
           "$defs": {"A": {"type": "object", "properties": {"inner": {"type": "string"}}}},
           "outputSchema": {"type": "object", "properties": {"out": {"type": "string"}}},
           "response_fields": {"rate": {"type": "number"}}}
    assert parameter_facts(doc, Budget()) == [("a", "")]


def test_long_parameter_descriptions_are_judged_on_what_the_rule_keeps() -> None:
    long = "First sentence about the value. " + "More detail on edge cases that runs on and on. " * 8
    doc = {"name": "t", "description": "A tool with one long parameter description.",
           "parameters": schema({"p": {"type": "string", "description": long}}, ["p"])}
    out = run(doc)
    assert not out.fallback, out.detail


def test_noise_fields_beside_the_one_object_still_make_an_envelope() -> None:
    tool = {"name": "find", "description": "Find things.", "parameters": {"type": "object", "properties": {}}}
    out = run({"tool": tool, "cache_control": {"type": "ephemeral"}, "_meta": {"v": 1}})
    assert (out.text, out.detail) == ("find: Find things.", "envelope tool")
    out = run({"tool": tool, "extra": {"city": "Paris"}})  # two objects that say something: no envelope
    assert out.detail == "generic json"
