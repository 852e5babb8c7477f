"""Property tests (hypothesis): every normalizer is total, validation only raises InvalidRequest.

The suite runs a few dozen examples per property; ``bench/fuzz.py`` runs the
same properties with many more (``TOOLRANK_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolrank.candidates import candidate_from_json
from toolrank.engine.validate import validate_candidates, validate_rerank
from toolrank.errors import InvalidRequest
from toolrank.normalize import NORMALIZERS, normalize
from toolrank.normalize.tool import ERROR_PREFIX as TOOL_ERROR
from toolrank.settings import Limits
from toolrank.types import Candidate, CodeInput, Normalized, NormalizeOptions, RerankQuery, SqlInput, TextInput, ToolInput

EXAMPLES = int(os.environ.get("TOOLRANK_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="TOOLRANK_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- strategies ----------------------------------------------------------------------------------------

SCHEMA_KEYS = ["type", "properties", "items", "$ref", "required", "description", "name", "parameters", "function",
               "input_schema", "inputSchema", "anyOf", "oneOf", "allOf", "enum", "default", "$defs", "definitions",
               "additionalProperties", "functionDeclarations", "function_declarations", "paths", "operationId",
               "format", "title", "tools", "get", "post", "requestBody", "schema", "content", "const", "nullable"]
REFS = ["#", "#/$defs/a", "#/definitions/a", "#/properties", "#/$defs/a/properties/b", "http://example.com/x", ""]
TYPES = ["object", "string", "integer", "number", "boolean", "array", "null", "function", "OBJECT", "?"]

leaves = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
          | st.text(max_size=20) | st.sampled_from(REFS + TYPES + SCHEMA_KEYS))
json_values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=8), children, max_size=6),
    max_leaves=40,
)
tool_shaped = st.fixed_dictionaries(
    {"name": st.text(max_size=30), "description": st.text(max_size=60)},
    optional={"parameters": json_values, "input_schema": json_values, "type": st.sampled_from(TYPES),
              "function": json_values, "inputSchema": json_values},
)


def _soup(tokens: list[str]) -> st.SearchStrategy[str]:
    """Text made of a language's tokens, so the parsers get past their first character."""
    return st.lists(st.sampled_from(tokens) | st.text(max_size=4), max_size=80).map("".join)


CODE_TOKENS = ["def ", "class ", "fn ", "func ", "function ", "struct ", "impl ", "interface ", "public ", "static ",
               "(", ")", "{", "}", "[", "]", "<", ">", ":", ";", ",", ".", "=", "=>", "->", "\n", "    ", "\t",
               "return ", "x", "Foo", "self", "1", '"', "'", "`", "/*", "*/", "//", "#", "@", "\\", "$", "<?php "]
SQL_TOKENS = ["SELECT ", "FROM ", "WHERE ", "JOIN ", "ON ", "CREATE TABLE ", "CREATE VIEW ", "INSERT INTO ",
              "VALUES ", "WITH ", "AS ", "GROUP BY ", "ORDER BY ", "PRIMARY KEY", "REFERENCES ", "INT", "TEXT",
              "(", ")", ",", ";", "*", "=", "'", '"', "`", "[", "]", "--", "/*", "*/", "\n", " ", "t", "a", "1"]
LANGUAGES = ["python", "javascript", "typescript", "tsx", "java", "go", "rust", "c", "cpp", "c++", "ruby", "csharp",
             "c#", "php", "bash", "sh", "", "cobol", "PYTHON"]
PATHS = ["", "a.py", "x/y.ts", "main.go", "lib.rs", "A.java", "s.c", "h.hpp", "r.rb", "p.php", "s.sh", "noext", ".py"]
DIALECTS = ["", "sqlite", "postgres", "postgresql", "mysql", "bigquery", "snowflake", "duckdb", "tsql", "oracle",
            "spark", "nonsense", "SQLITE"]

texts = st.text(max_size=400)
tool_inputs = st.builds(ToolInput, texts | json_values.map(json.dumps) | tool_shaped.map(json.dumps)
                        | st.tuples(tool_shaped.map(json.dumps), st.integers(0, 200)).map(lambda p: p[0][: p[1]]))
code_inputs = st.builds(CodeInput, texts | _soup(CODE_TOKENS), st.sampled_from(LANGUAGES), st.sampled_from(PATHS))
sql_inputs = st.builds(SqlInput, texts | _soup(SQL_TOKENS), st.sampled_from(DIALECTS))
text_inputs = st.builds(TextInput, texts)
any_input = tool_inputs | code_inputs | sql_inputs | text_inputs
options = st.builds(NormalizeOptions, max_chars=st.sampled_from([1, 16, 200, 2048]))


def _check_total(item: object, opts: NormalizeOptions) -> None:
    out = NORMALIZERS[type(item)](item, opts)  # the kind's own function, without the safety net
    assert isinstance(out, Normalized) and isinstance(out.text, str) and isinstance(out.fallback, bool)
    assert isinstance(out.detail, str)
    # A normalizer that crashed into its own safety net is a bug, whatever the input.
    assert not out.detail.startswith((TOOL_ERROR, "normalizer error")), out.detail
    if not isinstance(item, TextInput):
        assert len(out.text) <= max(opts.max_chars, 0) or out.fallback, (len(out.text), opts.max_chars)
    assert NORMALIZERS[type(item)](item, opts) == out  # deterministic
    assert isinstance(normalize(item, opts).text, str)


# -- normalizers ---------------------------------------------------------------------------------------


@FUZZ
@given(tool_inputs, options)
def test_tool_normalizer_is_total(item, opts):
    _check_total(item, opts)


@FUZZ
@given(code_inputs, options)
def test_code_normalizer_is_total(item, opts):
    _check_total(item, opts)


@FUZZ
@given(sql_inputs, options)
def test_sql_normalizer_is_total(item, opts):
    _check_total(item, opts)


@FUZZ
@given(text_inputs, options)
def test_text_normalizer_is_total(item, opts):
    _check_total(item, opts)


def test_the_totality_check_fails_when_a_normalizer_crashes(monkeypatch):
    """The property above must not pass on a normalizer that only survives through its safety net."""
    import toolrank.normalize.tool as tool

    def crash(*_args, **_kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(tool, "find_tools", crash)
    item = ToolInput('{"name": "get_weather", "description": "Current weather"}')
    assert tool.normalize_tool(item, NormalizeOptions()).detail == f"{TOOL_ERROR}: RuntimeError"
    try:
        _check_total(item, NormalizeOptions())
    except AssertionError:
        return
    raise AssertionError("a crash into the safety net went unnoticed")


# -- request validation ---------------------------------------------------------------------------------

candidates = st.builds(Candidate, any_input | st.none(), st.text(max_size=5))
limits = st.builds(Limits, max_candidates=st.integers(0, 6), max_candidate_bytes=st.integers(0, 300),
                   max_query_bytes=st.integers(0, 50), max_request_bytes=st.integers(0, 800))
queries = st.builds(RerankQuery, st.text(max_size=60), st.lists(candidates, max_size=8).map(tuple),
                    st.integers(-3, 10), st.booleans(), st.booleans(), st.text(max_size=5))


@FUZZ
@given(queries, limits)
def test_validation_only_raises_invalid_request(query, lim):
    try:
        validate_rerank(query, lim)
    except InvalidRequest as exc:
        assert str(exc).split(":")[0]  # the message starts with the field it is about
        return
    assert query.query.strip() and 0 < len(query.candidates) <= lim.max_candidates and query.top_n >= 0
    validate_candidates(query.candidates, lim)


@FUZZ
@given(json_values | tool_shaped | st.dictionaries(st.sampled_from(["text", "code", "sql", "tool", "id", "metadata",
                                                                     "language", "dialect", "source"]), json_values))
def test_candidates_from_json_only_raise_invalid_request(value):
    try:
        cand = candidate_from_json(value, "candidates[0]")
    except InvalidRequest as exc:
        assert str(exc).startswith("candidates[0]")
        return
    assert isinstance(cand, Candidate) and type(cand.content) in NORMALIZERS
