"""String detection ("kind: auto"): typed when sure, text otherwise, and prose is never misdetected."""

from __future__ import annotations

import ast
import json
import sysconfig
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolrank.candidates import candidate_from_json
from toolrank.normalize import normalize, raw_text
from toolrank.normalize.detect import detect_kind
from toolrank.types import CodeInput, Normalized, NormalizeOptions, SqlInput, TextInput, ToolInput

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SETS = ("tools-bfcl", "tools-metatool", "sql-spider", "code-cosqa-dev")

TRICKY_PROSE = [
    "Select the best tool from the list.",
    "select users from the table who are active",
    "Create table of contents for the document",
    "create table for the meeting (tomorrow)",
    "update the user settings where needed",
    "delete from my calendar all meetings",
    "With great power comes great responsibility",
    "Import the data from the spreadsheet and def not the old one",
    "Dear John,\nThanks for your letter.\nBest,\nMary",
    "Steps:\n1. open the lid\n2. pour the water\n3. close it",
    "end\nend",
    "import os",
    "x = 1\ny = 2",
    '{"name": "Bob", "age": 3}',
    "[1, 2, 3]",
    "Hello: world\nfoo: bar",
    "The function returns None if the key is missing; otherwise it raises KeyError.",
]


def _queries() -> list[str]:
    out = []
    for name in SETS:
        with open(DATA / name / "queries.jsonl", encoding="utf-8") as f:
            out.extend(json.loads(line)["query"] for line in f if line.strip())
    return out


def _stdlib_docstrings(limit: int = 600) -> list[str]:
    """Docstrings of the Python standard library without doctest examples: real prose, some of it technical."""
    out: list[str] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module)):
                doc = ast.get_docstring(node)
                if doc and ">>>" not in doc and len(doc) > 40:
                    out.append(doc)
        if len(out) >= limit:
            break
    return out


def _corpus(name: str) -> list[str]:
    with open(DATA / name / "corpus.jsonl", encoding="utf-8") as f:
        return [raw_text(candidate_from_json(json.loads(line)).content) for line in f if line.strip()]


def test_prose_is_never_misdetected():
    prose = _queries() + _stdlib_docstrings() + TRICKY_PROSE
    assert len(prose) > 2000
    wrong = [(p[:80], type(detect_kind(p)).__name__) for p in prose if detect_kind(p) is not None]
    assert wrong == []


def test_metatool_descriptions_stay_text():
    descriptions = [json.loads(t).get("description", "") for t in _corpus("tools-metatool")]
    assert [d for d in descriptions if detect_kind(d) is not None] == []


@pytest.mark.parametrize("name, kind, share", [
    ("tools-bfcl", ToolInput, 1.0), ("tools-metatool", ToolInput, 1.0),
    ("sql-spider", SqlInput, 1.0), ("code-cosqa-dev", CodeInput, 0.99)])
def test_every_set_sent_as_strings_is_detected(name, kind, share):
    texts = _corpus(name)
    found = [detect_kind(t) for t in texts]
    assert all(f is None or isinstance(f, kind) for f in found)
    assert sum(isinstance(f, kind) for f in found) >= share * len(texts)


@pytest.mark.parametrize("text, kind, language", [
    ('{"name": "get_weather", "description": "Current weather", "parameters": {"type": "object"}}', ToolInput, ""),
    ('{"type": "function", "function": {"name": "f", "parameters": {}}}', ToolInput, ""),
    ('[{"name": "a", "description": "x"}, {"name": "b", "input_schema": {}}]', ToolInput, ""),
    ('{"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "a", "inputSchema": {}}]}}', ToolInput, ""),
    ('{"openapi": "3.0.0", "info": {"title": "t"}, "paths": {}}', ToolInput, ""),
    ('{"schema_version": "v1", "name_for_model": "todo", "description_for_model": "Manage a TODO list"}',
     ToolInput, ""),  # OpenAI plugin manifest
    ('{"Name": "Nager.Date", "Description": "Public holidays", "Function_Description": {"f": "Get"}}',
     ToolInput, ""),  # ToolAlpaca
    ('{"tool_name": "Weather", "tool_description": "Forecasts", "api_list": [{"name": "hourly"}]}',
     ToolInput, ""),  # ToolBench tool
    ('{"api_name": "t5-small", "functionality": "Translation", "api_call": "pipeline()"}', ToolInput, ""),  # Gorilla
    ('{"name": "search", "description": "Web search", "inputs": {"q": {"type": "string"}}, "output_type": "string"}',
     ToolInput, ""),  # smolagents
    ("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)", SqlInput, ""),
    ("-- people\ncreate table if not exists shop.orders (id int);", SqlInput, ""),
    ("SELECT name FROM singer WHERE age > 30", SqlInput, ""),
    ("select * from users where id = 1;", SqlInput, ""),
    ("def add(a, b):\n    \"\"\"Add two numbers and return the sum of both of them.\"\"\"\n    return a + b\n",
     CodeInput, "python"),
    ("package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n", CodeInput, "go"),
    ("fn main() {\n    let mut x = 1;\n    println!(\"{}\", x);\n}\n", CodeInput, "rust"),
    ("public class A {\n  public static void main(String[] args) {\n    System.out.println(1);\n  }\n}\n",
     CodeInput, "java"),
    ("#!/usr/bin/env python3\nprint('hello')\n", CodeInput, "python"),
    ("async def sysinfo(dev: Device):\n    \"\"\"Return the system information of a device.\"\"\"\n"
     "    return await dev.query()\n", CodeInput, "python"),
    ("def scan(client, query=None, scroll='5m',\n         raise_on_error=True):\n    \"\"\"Scan every hit of a "
     "query in pages and yield them one by one.\"\"\"\n    return helpers.scan(client, query)\n", CodeInput, "python"),
])
def test_typed_strings_are_detected(text, kind, language):
    found = detect_kind(text)
    assert isinstance(found, kind)
    if language:
        assert found.language == language


def test_auto_normalizes_as_the_detected_kind_and_says_so():
    options = NormalizeOptions()
    ddl = "CREATE TABLE dogs (dog_id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owners (owner_id))"
    auto = normalize(TextInput(ddl, detect=True), options)
    typed = normalize(SqlInput(ddl), options)
    assert auto.text == typed.text and not auto.fallback
    assert auto.detail.startswith("auto: sql") and auto.kind == "sql"
    prose = normalize(TextInput("A recipe for   chocolate cake.", detect=True), options)
    assert prose.text == "A recipe for chocolate cake." and prose.detail == "auto: text" and prose.kind == ""
    # without the flag a string is text, whatever it holds
    assert normalize(TextInput(ddl), options).text == ddl


def test_detected_kind_its_normalizer_cannot_read_stays_text():
    broken = "CREATE TABLE t (a INT, (((( b"
    result = normalize(TextInput(broken, detect=True), NormalizeOptions())
    assert isinstance(detect_kind(broken), SqlInput)
    assert result.text == broken and not result.fallback and result.detail == "auto: text (sql unreadable)"


@pytest.mark.parametrize("value", ["", " ", "{", "[" * 5000 + "]" * 5000, "\x00\x01", "SELECT", "{" + "a" * 10000,
                                   "CREATE TABLE", "def f(" * 3000])
def test_detection_never_raises(value):
    """Hostile strings: detection answers (a kind, or None for text) and the detected normalize gives text."""
    detected = detect_kind(value)
    assert detected is None or isinstance(detected, (SqlInput, CodeInput, ToolInput))
    out = normalize(TextInput(value, detect=True), NormalizeOptions())
    assert isinstance(out, Normalized) and isinstance(out.text, str) and out.detail.startswith("auto: ")
    assert len(out.text) <= max(NormalizeOptions().max_chars, len(value))


_CODEISH = st.text(alphabet=st.sampled_from(list("defclasimportSELECTFROMWHERE{}()[];:=,.*'\"\n \t#-/<>?!@$abcxyz0123456789_")),
                   max_size=300)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.text(max_size=300), _CODEISH,
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda inner: st.lists(inner, max_size=4)
                              | st.dictionaries(st.sampled_from(["name", "description", "parameters", "function",
                                                                 "tools", "paths", "openapi", "x"]), inner, max_size=4),
                              max_leaves=12).map(json.dumps)))
def test_auto_is_total_and_deterministic(text):
    found = detect_kind(text)
    assert found is None or isinstance(found, (ToolInput, SqlInput, CodeInput))
    first = normalize(TextInput(text, detect=True), NormalizeOptions())
    assert first == normalize(TextInput(text, detect=True), NormalizeOptions())
    assert first.detail.startswith("auto: ") and not first.fallback
