"""The code normalizer: per-language content, language resolution, budget, totality."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolrank.normalize.code import detect_language, normalize_code, resolve_language
from toolrank.normalize.code_languages import BY_NAME, RULES
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

# language -> substrings the normalized text must contain: kinds, names, the
# names' words, parameters and types, docstrings/comments, calls, imports.
EXPECTED: dict[str, list[str]] = {
    "python": [
        "@cache", "@cache def file_exists(path: str", "file exists", "path: str", "-> bool",
        "Check whether a file exists on disk.", "class FileStore(Base)", "file store", "Stores files.",
        "def readAll(self, limit=10)", "read all", "limit=10", "os.path.isfile", "check_link (check link)",
        "backend.fetch_items (fetch items)", "imports:", "pathlib", "read them all",
    ],
    "javascript": [
        "export function readConfig(fileName", "read config", "fileName", "Read a JSON config file.",
        "class UserStore extends Store", "user store", "method findUser(userId)", "find user",
        "find a user by id", "function addNumbers(a, b)", "add numbers",
        "fs.readFileSync (read file sync)", "JSON.parse", "db.lookupUser (lookup user)", "sumAll",
    ],
    "typescript": [
        "@Injectable()", "export class UserService implements Loader", "user service", "Service that loads users.",
        "async method getUserById(", "get user by id", "id: string", "force?: boolean", "Promise<User>",
        "Fetch one user by id.", "interface User", "http.fetchJson (fetch json)", "@angular/core",
    ],
    "tsx": [
        "export function GreetButton(", "greet button", "A greeting button", "name: string",
        "function onClick()", "on click", "alert", "formatGreeting (format greeting)",
    ],
    "java": [
        "@Service", "public class CsvParser extends BaseParser", "csv parser", "Parses CSV rows.", "@Override",
        "public List<String> method splitLine(", "split line", "String line", "char sep", "throws IOException",
        "Split a line into fields.", "Arrays.asList (as list)", "String.valueOf (value of)", "java.util.List",
    ],
    "go": [
        "func ReverseWords(", "reverse words", "s string, sep string", "(string, error)",
        "reverses the words in a sentence", "type Server struct", "func (srv *Server) StartServer(", "start server",
        "port int", "Start runs the server.", "strings.Split", "fmt.Println",
        "listenAndServe (listen and serve)", '"strings"',
    ],
    "rust": [
        "#[inline]", "pub fn count_words(", "count words", "text: &str", "HashMap<String, usize>",
        "Count word frequencies in a text.", "#[derive(Debug)] struct Point", "impl Point",
        "fn norm_length(&self) -> f64", "norm length", "Distance to the origin.", "split_whitespace",
        "HashMap::new", "std::collections::HashMap",
    ],
    "c": [
        "static unsigned int function compute_checksum(", "compute checksum", "const unsigned char *buf", "size_t len",
        "Compute the checksum of a buffer.", "struct list_node", "list node",
        "hash_finalize (hash finalize)", "stdio.h",
    ],
    "cpp": [
        "namespace geo", "class Vec2 : public Base", "vec 2", "A 2D vector class.", "double method dotProduct(", "dot product",
        "const Vec2& other", "Dot product with another vector.", "template <typename T>",
        "T function clampValue(T v", "clamp value", "std::max", "std::min",
    ],
    "csharp": [
        "[Serializable]", "public class OrderRepository : IRepository", "order repository", "Repository of orders.",
        "public List<Order> method FindByCustomer(", "find by customer", "int customerId", "bool includeClosed = false",
        "Find orders by customer.", "ToList", "Where", "System.Linq",
    ],
    "ruby": [
        "class HeaderParser < BaseParser", "header parser", "Parses HTTP headers.",
        "def parse_line(line, strict = false)", "parse line", "Parse one header line.",
        "line.split", "normalize_key (normalize key)", "key.strip",
    ],
    "php": [
        "class LoginController extends Controller", "login controller", "Handles user login.",
        "public function validateLogin(", "validate login", "Request $request", "bool $remember = false",
        "Validate credentials.", "Auth.attempt", "checkThrottle (check throttle)", "Illuminate",
    ],
    "bash": [
        "function backup_dir()", "backup dir", "backup_dir(): Back up a directory to a tarball.", "tar",
        "compress_logs (compress logs)",
    ],
}


def norm(source: str, language: str = "", path: str = "", max_chars: int = 2048) -> Normalized:
    return normalize_code(CodeInput(source, language, path), NormalizeOptions(max_chars=max_chars))


def test_every_language_has_a_snippet() -> None:
    assert set(SNIPPETS) == set(BY_NAME) == set(EXPECTED)
    assert len(RULES) >= 13


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_language_keeps_what_the_code_does(language: str) -> None:
    result = norm(SNIPPETS[language], language)
    assert not result.fallback, result.detail
    assert result.detail == language
    for expected in EXPECTED[language]:
        assert expected in result.text, f"{expected!r} missing from:\n{result.text}"


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_definitions_come_first(language: str) -> None:
    text = norm(SNIPPETS[language], language).text
    first = text.split("\n", 1)[0]
    kinds = ("function", "class", "module", "method", "namespace", "def", "func", "fn", "struct")
    assert any(kind in first.split() or f"{kind} " in first for kind in kinds), first
    if "calls:" in text:
        assert text.index("calls:") > text.index(first)


def test_calls_are_deduplicated_and_self_dropped() -> None:
    text = norm(SNIPPETS["python"], "python").text
    calls = next(line for line in text.split("\n") if line.startswith("calls:"))
    assert calls.count("check_link") == 1
    assert "self." not in calls


def test_long_strings_are_dropped() -> None:
    long = "x" * 300
    text = norm(f'def f(a):\n    log("{long}")\n    return g(a, "ok now")\n', "python").text
    assert long not in text
    assert "ok now" in text
    assert "log" in text


def test_license_header_is_dropped() -> None:
    source = "// Copyright 2020 Example Corp. Licensed under MIT.\n\nfunction run() { go(); }\n"
    text = norm(source, "javascript").text
    assert "Copyright" not in text
    assert "function run()" in text


def test_budget_is_respected_most_informative_first() -> None:
    body = "\n".join(f"    value_{i} = compute_thing_{i}(value_{i - 1})" for i in range(1, 300))
    source = f'def pipeline(seed):\n    """Run the whole pipeline."""\n    value_0 = seed\n{body}\n'
    for budget in (0, 1, 20, 80, 300, 2048):
        text = norm(source, "python", max_chars=budget).text
        assert len(text) <= budget
    short = norm(source, "python", max_chars=80).text
    assert short.startswith("def pipeline(seed)")
    assert "Run the whole pipeline." in short


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
    ("language", "source", "expected"),
    [
        ("python", "def load_config(path):\n    data = json.loads(read_text(path)\n    return data[\n", ["load_config", "load config", "json.loads"]),
        ("javascript", "function fetchUser(id) { return http.get('/u/' + id; }\n}}}", ["fetchUser", "fetch user", "http.get"]),
        ("java", "public class A { void runTask(int n) { doWork(n) } ", ["runTask", "run task", "doWork"]),
        ("go", "func ParseArgs(argv []string) error {\n  flag.Parse(\n}\n", ["ParseArgs", "parse args", "flag.Parse"]),
        ("rust", "fn parse_line(s: &str) -> u32 { s.trim().parse::<u32>( }", ["parse_line", "parse line", "trim"]),
    ],
)
def test_syntax_errors_still_yield_recovered_text(language: str, source: str, expected: list[str]) -> None:
    result = norm(source, language)
    assert not result.fallback
    assert "syntax errors" in result.detail
    for item in expected:
        assert item in result.text, result.text


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
        source = opener * 100_000 + closer * 100_000
        start = time.perf_counter()
        result = norm(source, language)
        assert time.perf_counter() - start < 10
        assert isinstance(result.text, str) and len(result.text) <= OPTIONS.max_chars


def test_huge_input_is_bounded() -> None:
    source = "def f(x):\n    return g(x)\n" * 50_000
    start = time.perf_counter()
    result = norm(source, "python")
    assert time.perf_counter() - start < 10
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
