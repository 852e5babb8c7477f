"""The code normalizer: per-language content, language resolution, budget, totality."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolrank.normalize.code import detect_language, normalize_code, resolve_language
from toolrank.normalize.code.languages import BY_NAME, RULES
from toolrank.types import CodeInput, Normalized, NormalizeOptions

OPTIONS = NormalizeOptions()

SNIPPETS: dict[str, str] = {
    "python": '''import os
from pathlib import Path as P

@cache
def file_exists(path: str, follow=True) -> bool:
    """Check whether a file exists on disk."""
    return os.path.isfile(path) and check_link(path) and check_link(path)

class FileStore(Base):
    """Stores files."""
    def readAll(self, limit=10):
        # read them all
        return self.backend.fetch_items(limit)
''',
    "javascript": '''import fs from "fs";
/** Read a JSON config file. */
export function readConfig(fileName, opts = {}) {
  const raw = fs.readFileSync(fileName, "utf8");
  return JSON.parse(raw);
}
class UserStore extends Store {
  // find a user by id
  findUser(userId) { return this.db.lookupUser(userId); }
}
const addNumbers = (a, b) => sumAll(a, b);
''',
    "typescript": '''import { Injectable } from "@angular/core";
/** Service that loads users. */
@Injectable()
export class UserService implements Loader {
  private cache: Map<string, User> = new Map();
  /** Fetch one user by id. */
  async getUserById(id: string, force?: boolean): Promise<User> {
    return this.http.fetchJson<User>(`/users/${id}`);
  }
}
export interface User { id: string; name: string }
''',
    "tsx": '''import React from "react";
// A greeting button
export function GreetButton({ name }: { name: string }) {
  const onClick = () => alert(formatGreeting(name));
  return <button onClick={onClick}>Hi {name}</button>;
}
''',
    "java": '''package com.example;
import java.util.List;
/** Parses CSV rows. */
@Service
public class CsvParser extends BaseParser {
    /** Split a line into fields. */
    @Override
    public List<String> splitLine(String line, char sep) throws IOException {
        return Arrays.asList(line.split(String.valueOf(sep)));
    }
}
''',
    "go": '''package main
import (
    "fmt"
    "strings"
)
// ReverseWords reverses the words in a sentence.
func ReverseWords(s string, sep string) (string, error) {
    parts := strings.Split(s, sep)
    fmt.Println(len(parts))
    return strings.Join(parts, sep), nil
}
type Server struct { Addr string }
// Start runs the server.
func (srv *Server) StartServer(port int) error { return listenAndServe(srv.Addr, port) }
''',
    "rust": '''use std::collections::HashMap;
/// Count word frequencies in a text.
#[inline]
pub fn count_words(text: &str) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for w in text.split_whitespace() { *map.entry(w.to_string()).or_insert(0) += 1; }
    map
}
#[derive(Debug)]
struct Point { x: f64, y: f64 }
impl Point {
    /// Distance to the origin.
    fn norm_length(&self) -> f64 { (self.x * self.x + self.y * self.y).sqrt() }
}
''',
    "c": '''#include <stdio.h>
/* Compute the checksum of a buffer. */
static unsigned int compute_checksum(const unsigned char *buf, size_t len) {
    unsigned int sum = 0;
    for (size_t i = 0; i < len; i++) sum += buf[i];
    return hash_finalize(sum);
}
struct list_node { int value; struct list_node *next; };
''',
    "cpp": '''#include <vector>
namespace geo {
// A 2D vector class.
class Vec2 : public Base {
public:
    /// Dot product with another vector.
    double dotProduct(const Vec2& other) const { return x * other.x + y * other.y; }
    double x, y;
};
template <typename T>
T clampValue(T v, T lo, T hi) { return std::max(lo, std::min(v, hi)); }
}
''',
    "csharp": '''using System.Linq;
namespace App {
    /// <summary>Repository of orders.</summary>
    [Serializable]
    public class OrderRepository : IRepository {
        /// <summary>Find orders by customer.</summary>
        public List<Order> FindByCustomer(int customerId, bool includeClosed = false) {
            return db.Orders.Where(o => o.CustomerId == customerId).ToList();
        }
    }
}
''',
    "ruby": '''require "json"
# Parses HTTP headers.
class HeaderParser < BaseParser
  # Parse one header line.
  def parse_line(line, strict = false)
    key, value = line.split(":", 2)
    normalize_key(key.strip)
  end
end
''',
    "php": '''<?php
namespace App\\Http;
use Illuminate\\Support\\Str;
/** Handles user login. */
class LoginController extends Controller {
    /** Validate credentials. */
    public function validateLogin(Request $request, bool $remember = false): bool {
        return Auth::attempt($request->only('email'), $remember) && checkThrottle($request);
    }
}
''',
    "bash": '''#!/bin/bash
# Back up a directory to a tarball.
backup_dir() {
    local src="$1"
    tar -czf "backup.tgz" "$src"
    compress_logs "$src"
}
''',
}

# language -> substrings the normalized text must contain when the source fits
# the budget (the source itself, noise removed): kinds (keywords), names,
# camelCase names' words (last line), parameters and types, docstrings and
# comments, decorators, calls, imports.
EXPECTED: dict[str, list[str]] = {
    "python": [
        "@cache\ndef file_exists(path: str, follow=True) -> bool:", '"""Check whether a file exists on disk."""',
        "class FileStore(Base):", '"""Stores files."""', "def readAll(self, limit=10):", "# read them all",
        "os.path.isfile(path)", "check_link(path)", "self.backend.fetch_items(limit)",
        "import os", "from pathlib import Path as P", "\nfile store, read all",
    ],
    "javascript": [
        "export function readConfig(fileName, opts = {}) {", "/** Read a JSON config file. */",
        "class UserStore extends Store {", "// find a user by id", "findUser(userId) {",
        "const addNumbers = (a, b) =>", "fs.readFileSync(fileName", "JSON.parse(raw)",
        "this.db.lookupUser(userId)", "sumAll(a, b)", 'import fs from "fs";',
        "\nread config, user store, find user, add numbers",
    ],
    "typescript": [
        "@Injectable()\nexport class UserService implements Loader {", "/** Service that loads users. */",
        "async getUserById(id: string, force?: boolean): Promise<User> {", "/** Fetch one user by id. */",
        "export interface User { id: string; name: string }", "this.http.fetchJson<User>(", "@angular/core",
        "\nuser service, get user by id",
    ],
    "tsx": [
        "export function GreetButton({ name }: { name: string }) {", "// A greeting button",
        "const onClick = () => alert(formatGreeting(name));", "\ngreet button, on click",
    ],
    "java": [
        "@Service\npublic class CsvParser extends BaseParser {", "/** Parses CSV rows. */", "@Override",
        "public List<String> splitLine(String line, char sep) throws IOException {",
        "/** Split a line into fields. */", "Arrays.asList(", "String.valueOf(sep)", "import java.util.List;",
        "\ncsv parser, split line",
    ],
    "go": [
        "func ReverseWords(s string, sep string) (string, error) {", "// ReverseWords reverses the words in a sentence.",
        "type Server struct { Addr string }", "func (srv *Server) StartServer(port int) error {",
        "// Start runs the server.", "strings.Split(s, sep)", "fmt.Println(", "listenAndServe(srv.Addr, port)",
        '"strings"', "\nreverse words, start server",
    ],
    "rust": [
        "/// Count word frequencies in a text.\n#[inline]\npub fn count_words(text: &str) -> HashMap<String, usize> {",
        "#[derive(Debug)]\nstruct Point { x: f64, y: f64 }", "impl Point {", "/// Distance to the origin.\n",
        "fn norm_length(&self) -> f64", "text.split_whitespace()", "HashMap::new()", "use std::collections::HashMap;",
    ],
    "c": [
        "/* Compute the checksum of a buffer. */",
        "static unsigned int compute_checksum(const unsigned char *buf, size_t len) {",
        "struct list_node { int value; struct list_node *next; };", "hash_finalize(sum)", "#include <stdio.h>",
    ],
    "cpp": [
        "namespace geo {", "// A 2D vector class.\nclass Vec2 : public Base {", "/// Dot product with another vector.",
        "double dotProduct(const Vec2& other) const", "template <typename T>\nT clampValue(T v, T lo, T hi)",
        "std::max(lo, std::min(v, hi))", "#include <vector>", "\nvec 2, dot product, clamp value",
    ],
    "csharp": [
        "/// <summary>Repository of orders.</summary>\n[Serializable]\npublic class OrderRepository : IRepository {",
        "public List<Order> FindByCustomer(int customerId, bool includeClosed = false) {",
        "/// <summary>Find orders by customer.</summary>", ".Where(o => o.CustomerId == customerId).ToList()",
        "using System.Linq;", "\norder repository, find by customer",
    ],
    "ruby": [
        "# Parses HTTP headers.\nclass HeaderParser < BaseParser", "# Parse one header line.\ndef parse_line(line, strict = false)",
        'line.split(":", 2)', "normalize_key(key.strip)", 'require "json"', "\nheader parser",
    ],
    "php": [
        "/** Handles user login. */\nclass LoginController extends Controller {",
        "public function validateLogin(Request $request, bool $remember = false): bool {", "/** Validate credentials. */",
        "Auth::attempt($request->only('email'), $remember)", "checkThrottle($request)", "use Illuminate\\Support\\Str;",
        "\nlogin controller, validate login",
    ],
    "bash": [
        "# Back up a directory to a tarball.\nbackup_dir() {", 'local src="$1"', 'tar -czf "backup.tgz" "$src"',
        'compress_logs "$src"',
    ],
}

# language -> substrings of the structured summary (sources over the budget):
# definition lines with kind labels and docstrings, names' words, calls, imports.
SUMMARY: dict[str, list[str]] = {
    "python": [
        "@cache def file_exists(path: str, follow=True) -> bool: Check whether a file exists on disk.",
        "class FileStore(Base): Stores files.", "def readAll(self, limit=10)\n", "read them all",
        "names: file exists, file store, read all", "check_link (check link)", "backend.fetch_items (fetch items)",
        "os.path.isfile", "imports: import os; from pathlib import Path as P",
    ],
    "javascript": [
        "export function readConfig(fileName, opts = {}): Read a JSON config file.", "method findUser(userId)",
        "function addNumbers(a, b)", "names: read config, user store, find user, add numbers",
        "fs.readFileSync (read file sync)", "db.lookupUser (lookup user)", "imports:",
    ],
    "java": [
        "public List<String> method splitLine(String line, char sep) throws IOException: Split a line into fields.",
        "names: csv parser, split line", "Arrays.asList (as list)", "imports: import java.util.List;",
    ],
    "go": [
        "func ReverseWords(s string, sep string) (string, error): ReverseWords reverses the words in a sentence.",
        "names: reverse words, start server", "listenAndServe (listen and serve)", "strings.Split",
    ],
    "c": [
        "static unsigned int function compute_checksum(const unsigned char *buf, size_t len): Compute the checksum",
        "names: compute checksum, list node", "hash_finalize (hash finalize)", "imports: #include <stdio.h>",
    ],
    "bash": [
        "function backup_dir(): Back up a directory to a tarball.", "names: backup dir", "compress_logs (compress logs)",
    ],
}


def norm(source: str, language: str = "", path: str = "", max_chars: int = 2048) -> Normalized:
    return normalize_code(CodeInput(source, language, path), NormalizeOptions(max_chars=max_chars))


def summary(language: str, source: str = "") -> Normalized:
    """The structured summary of a snippet made too long for the budget by trailing comments."""
    mark = "#" if language in ("python", "ruby", "bash") else "//"
    filler = "".join(f"\n{mark} filler note number {i} about nothing in particular" for i in range(60))
    result = norm((source or SNIPPETS[language]) + filler, language)
    text = result.text
    assert "filler" not in text.split("\n", 1)[0]
    return result


def test_every_language_has_a_snippet() -> None:
    assert set(SNIPPETS) == set(BY_NAME) == set(EXPECTED)
    assert set(SUMMARY) <= set(SNIPPETS)
    assert len(RULES) >= 13


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_language_keeps_what_the_code_does(language: str) -> None:
    result = norm(SNIPPETS[language], language)
    assert not result.fallback, result.detail
    assert result.detail == language
    for expected in EXPECTED[language]:
        assert expected in result.text, f"{expected!r} missing from:\n{result.text}"


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_source_that_fits_is_the_code_in_order(language: str) -> None:
    """Every kept source line, indentation and blank lines gone, in the source's order."""
    text = norm(SNIPPETS[language], language).text
    lines = text.split("\n")
    source = [" ".join(line.split()) for line in SNIPPETS[language].split("\n") if line.strip()]
    position = 0
    for line in lines:
        if line in source[position:]:
            position = source.index(line, position) + 1
    assert position >= len(source) - 1, text
    for marker in ("names:", "calls:", "imports:"):
        assert marker not in text


@pytest.mark.parametrize("language", sorted(SUMMARY))
def test_summary_keeps_what_the_code_does(language: str) -> None:
    text = summary(language).text
    for expected in SUMMARY[language]:
        assert expected in text, f"{expected!r} missing from:\n{text}"


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_summary_puts_definitions_first(language: str) -> None:
    text = summary(language).text
    first = text.split("\n", 1)[0]
    kinds = ("function", "class", "module", "method", "namespace", "def", "func", "fn", "struct")
    assert any(kind in first.split() or f"{kind} " in first for kind in kinds), first
    if "calls:" in text:
        assert text.index("calls:") > text.index(first)


def test_calls_are_deduplicated_and_self_dropped() -> None:
    text = summary("python").text
    calls = next(line for line in text.split("\n") if line.startswith("calls:"))
    assert calls.count("check_link") == 1
    assert "self." not in calls


def test_split_words_only_where_the_tokenizer_would_not_split() -> None:
    text = norm("def get_user(a):\n    return a\n\ndef getUserById(a):\n    return a\n", "python").text
    assert text.endswith("\nget user by id")
    assert "get user\n" not in text and "get user," not in text


def test_long_strings_are_shortened() -> None:
    blob = "x" * 300
    prose = "word " * 80
    text = norm(f'def f(a):\n    log("{blob}")\n    warn("{prose}")\n    return g(a, "ok now")\n', "python").text
    assert blob not in text and 'log("xxxx' in text
    assert prose.strip() not in text and 'warn("word word word' in text and '..."' in text
    assert 'g(a, "ok now")' in text
    message = "Expected one of: (Y)es/(T)rue/(N)o/(F)alse; see https://example.com/docs/answers"
    assert message in norm(f'def f():\n    raise ValueError("{message}")\n', "python").text
    summary_text = norm(f'def f(a):\n    log("{blob}")\n    return g(a, "ok now")\n', "python", max_chars=60).text
    assert "xxxx" not in summary_text


def test_license_header_is_dropped() -> None:
    source = "// Copyright 2020 Example Corp. Licensed under MIT.\n\nfunction run() { go(); }\n"
    text = norm(source, "javascript").text
    assert "Copyright" not in text
    assert text == "function run() { go(); }"


def test_comments_about_licences_and_tools_are_content() -> None:
    # the word "license" is a notice only in a file's header; a linter's name is a pragma only with its directive
    source = (
        "# Licensed to the project, see LICENSE\nimport json\n\n\n"
        "def read_license(package):\n    # return the license field of the package metadata\n"
        "    # mypy cannot see through this lookup\n    return json.load(package)['license']  # pragma: no cover\n"
    )
    text = norm(source, "python").text
    assert "Licensed to the project" not in text and "pragma" not in text
    assert "# return the license field of the package metadata" in text
    assert "# mypy cannot see through this lookup" in text
    long_body = "\n".join(f"    step_{i} = run_{i}(step_{i - 1})" for i in range(1, 200))
    summary = norm(f"import os\n\n# Return the license field of the package.\ndef read_license(package):\n{long_body}\n",
                   "python", max_chars=400).text
    assert summary.startswith("def read_license(package): Return the license field of the package.")


def test_boilerplate_is_dropped() -> None:
    source = (
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nimport os\nimport os\n\n\n"
        "def run():  # pylint: disable=invalid-name\n    # keep this note\n    return os.getcwd()  # noqa: E501\n"
    )
    text = norm(source, "python").text
    assert text == "import os\ndef run():\n# keep this note\nreturn os.getcwd()"


def test_block_comments_lose_their_margin() -> None:
    source = "/**\n * Add two numbers.\n * @param a first\n */\nfunction add(a, b) { return a + b; }\n"
    assert norm(source, "javascript").text.startswith("/** Add two numbers. @param a first */\nfunction add(a, b)")


def test_budget_is_respected_most_informative_first() -> None:
    body = "\n".join(f"    value_{i} = compute_thing_{i}(value_{i - 1})" for i in range(1, 300))
    source = f'def pipeline(seed):\n    """Run the whole pipeline."""\n    value_0 = seed\n{body}\n'
    for budget in (0, 1, 20, 80, 300, 2048):
        text = norm(source, "python", max_chars=budget).text
        assert len(text) <= budget
    short = norm(source, "python", max_chars=80).text
    assert short.startswith("def pipeline(seed)")
    assert "Run the whole pipeline." in short


BIG_FILE = "\n".join(
    [
        "import json",
        "from collections import OrderedDict",
        "",
        *(
            line
            for index, name in enumerate(("Invoice", "Customer", "Payment", "Ledger"))
            for line in (
                f"class {name}Store(BaseStore):",
                f'    """Keeps {name.lower()} records in memory."""',
                "",
                f"    def load{name}(self, path: str) -> dict:",
                f'        """Load one {name.lower()} from a JSON file."""',
                "        with open(path) as handle:",
                f"            data = json.load(handle)",
                *(f"        data['field_{i}'] = normalize_field_{index}(data.get('field_{i}'), {i})" for i in range(12)),
                "        return OrderedDict(data)",
                "",
                f"    def save_{name.lower()}(self, record, *, indent: int = 2):",
                f"        # write the {name.lower()} back",
                "        return json.dumps(record, indent=indent)",
                "",
            )
        ),
    ]
)


def test_big_file_becomes_a_structured_summary_within_budget() -> None:
    assert len(BIG_FILE) > 4000
    text = norm(BIG_FILE, "python", max_chars=1200).text
    assert len(text) <= 1200
    lines = text.split("\n")
    assert lines[0] == "class InvoiceStore(BaseStore): Keeps invoice records in memory."
    assert lines[1] == "def loadInvoice(self, path: str) -> dict: Load one invoice from a JSON file."
    assert lines[2] == "def save_invoice(self, record, *, indent: int = 2)"
    for name in ("Customer", "Payment", "Ledger"):
        assert f"class {name}Store(BaseStore): Keeps {name.lower()} records in memory." in text
        assert f"def load{name}(self, path: str) -> dict:" in text
        assert f"def save_{name.lower()}(self, record, *, indent: int = 2)" in text
    assert "names: invoice store, load invoice, save invoice, customer store" in text
    assert "json.load, normalize_field_0 (normalize field 0)" in text
    assert "imports: import json; from collections import OrderedDict" in text
    assert text.index("imports:") < text.index("calls:")
    assert len(norm(BIG_FILE, "python", max_chars=300).text) <= 300
    assert norm(BIG_FILE, "python", max_chars=300).text.startswith("class InvoiceStore(BaseStore)")


@pytest.mark.parametrize(
    ("alias", "language"),
    [
        ("py", "python"), ("Python3", "python"), ("js", "javascript"), ("ts", "typescript"),
        ("tsx", "tsx"), ("golang", "go"), ("rs", "rust"), ("c++", "cpp"), ("cs", "csharp"),
        ("csharp", "csharp"), ("C#", "csharp"), ("rb", "ruby"), ("sh", "bash"), ("shell", "bash"),
        ("php", "php"), ("java", "java"), ("c", "c"),
    ],
)
def test_language_aliases(alias: str, language: str) -> None:
    assert resolve_language(CodeInput("x", alias)) == (language, "language")


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("src/app.py", "python"), ("web/App.TSX", "tsx"), ("lib/index.mjs", "javascript"),
        ("a/b.ts", "typescript"), ("Main.java", "java"), ("cmd/main.go", "go"), ("src/lib.rs", "rust"),
        ("x.h", "c"), ("x.hpp", "cpp"), ("Program.cs", "csharp"), ("Rakefile", "ruby"),
        ("index.php", "php"), ("deploy.sh", "bash"), ("C:\\src\\util.cc", "cpp"),
    ],
)
def test_path_extension(path: str, language: str) -> None:
    assert resolve_language(CodeInput("x", "", path)) == (language, "path")


@pytest.mark.parametrize("language", ["python", "go", "rust", "php", "java", "ruby", "bash", "csharp", "c"])
def test_detection(language: str) -> None:
    assert detect_language(SNIPPETS[language]) == language


def test_detection_of_typescript_and_cpp_family() -> None:
    assert detect_language(SNIPPETS["typescript"]) in ("typescript", "tsx")
    assert detect_language(SNIPPETS["cpp"]) in ("cpp", "c")


def test_detected_language_is_reported() -> None:
    result = norm(SNIPPETS["go"])
    assert not result.fallback
    assert result.detail == "go (detected)"
    assert "func ReverseWords(" in result.text


def test_unknown_language_falls_back_to_words() -> None:
    result = norm("PROCEDURE getHTTPResponse_code; BEGIN total := total + 1 END", "cobol-ish")
    assert result.fallback
    assert "get http response code" in result.text
    assert ";" not in result.text


def test_empty_source() -> None:
    assert norm("", "python") == Normalized("", False, "empty")
    assert norm("   \n\t", "go").text == ""


@pytest.mark.parametrize(
    ("language", "source", "expected", "summary_expected"),
    [
        ("python", "def load_config(path):\n    data = json.loads(read_text(path)\n    return data[\n",
         ["def load_config(path):", "json.loads("], ["def load_config(path)", "load config", "json.loads"]),
        ("javascript", "function fetchUser(id) { return http.get('/u/' + id; }\n}}}",
         ["function fetchUser(id)", "fetch user", "http.get("], ["fetchUser", "fetch user", "http.get"]),
        ("java", "public class A { void runTask(int n) { doWork(n) } ",
         ["void runTask(int n)", "run task", "doWork(n)"], ["runTask", "run task", "doWork"]),
        ("go", "func ParseArgs(argv []string) error {\n  flag.Parse(\n}\n",
         ["func ParseArgs(argv []string) error", "parse args", "flag.Parse("], ["ParseArgs", "parse args", "flag.Parse"]),
        ("rust", "fn parse_line(s: &str) -> u32 { s.trim().parse::<u32>( }",
         ["fn parse_line(s: &str) -> u32", "s.trim()"], ["parse_line", "parse line", "trim"]),
    ],
)
def test_syntax_errors_still_yield_recovered_text(
    language: str, source: str, expected: list[str], summary_expected: list[str]
) -> None:
    result = norm(source, language)
    assert not result.fallback
    assert "syntax errors" in result.detail
    for item in expected:
        assert item in result.text, result.text
    short = summary(language, source)
    assert "syntax errors" in short.detail
    for item in summary_expected:
        assert item in short.text, short.text


def test_deterministic_across_calls_and_threads() -> None:
    first = {language: norm(source, language) for language, source in SNIPPETS.items()}
    again = {language: norm(source, language) for language, source in SNIPPETS.items()}
    assert first == again
    results: list[dict[str, Normalized]] = []

    def work() -> None:
        results.append({language: norm(source, language) for language, source in SNIPPETS.items()})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [first] * 4


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_deep_nesting_is_bounded(language: str) -> None:
    for opener, closer in (("(", ")"), ("[", "]"), ("{", "}")):
        source = opener * 100_000 + closer * 100_000  # its time: bench/normalize_worst_case.py
        result = norm(source, language)
        assert isinstance(result.text, str) and len(result.text) <= OPTIONS.max_chars


def test_huge_input_is_bounded() -> None:
    source = "def f(x):\n    return g(x)\n" * 50_000  # its time: bench/normalize_worst_case.py
    result = norm(source, "python")
    assert "truncated" in result.detail or len(result.text) <= OPTIONS.max_chars


def test_binary_garbage() -> None:
    garbage = bytes(range(256)).decode("latin-1") * 20 + "\x00\ud800\udfff"
    for language in [*SNIPPETS, "", "nonsense"]:
        result = norm(garbage, language)
        assert isinstance(result, Normalized)
        assert len(result.text) <= OPTIONS.max_chars


LANGUAGES = st.sampled_from(["", "unknown", *sorted(SNIPPETS)])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.text(max_size=400), language=LANGUAGES, budget=st.integers(-5, 3000))
def test_total_on_random_text(source: str, language: str, budget: int) -> None:
    result = norm(source, language, max_chars=budget)
    assert isinstance(result, Normalized)
    assert len(result.text) <= max(budget, 0)
    assert result == norm(source, language, max_chars=budget)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), language=st.sampled_from(sorted(SNIPPETS)))
def test_total_on_mutated_snippets(data: st.DataObject, language: str) -> None:
    source = SNIPPETS[language]
    for _ in range(data.draw(st.integers(1, 6))):
        start = data.draw(st.integers(0, len(source)))
        end = data.draw(st.integers(start, min(len(source), start + 40)))
        insert = data.draw(st.sampled_from(["", "(", ")", "{", "}", '"', "'''", "/*", "#", "\n", "\x00", "é", "def", "end"]))
        source = source[:start] + insert + source[end:]
    as_language = data.draw(st.sampled_from([language, ""]))
    result = norm(source, as_language)
    assert isinstance(result, Normalized)
    assert len(result.text) <= OPTIONS.max_chars
    assert result == norm(source, as_language)


@settings(max_examples=100, deadline=None)
@given(blob=st.binary(max_size=600), language=LANGUAGES)
def test_total_on_binary(blob: bytes, language: str) -> None:
    result = norm(blob.decode("utf-8", "surrogateescape"), language)
    assert len(result.text) <= OPTIONS.max_chars
