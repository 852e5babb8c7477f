"""The everyday-agent-requests set (bench/agent_requests/) keeps its invariants: sizes, ids, formats, README.

The set is what issue 18's figures are reported on; these checks keep it from rotting: the files are
what build.py writes from its sources, every id resolves, the three formats are the ones toolrank's
own detection names, every tool normalizes with no fallback, and the README's counts are the data's.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from toolrank.eval import load_dataset
from toolrank.normalize.tool import normalize_tool
from toolrank.normalize.tool.detect import find_tools
from toolrank.normalize.tool.model import Budget, Tool
from toolrank.types import NormalizeOptions, ToolInput

SET = Path(__file__).resolve().parent.parent / "bench" / "agent_requests"
CATEGORIES = ("direct", "indirect", "distractor", "ids", "multi_step")
DETECTED = {"mcp": "MCP", "openai-chat": "OpenAI", "anthropic": "Anthropic"}
"""toolrank's format label -> the name the README uses."""


def _build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("agent_requests_build", SET / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (SET / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return _rows("corpus.jsonl")


@pytest.fixture(scope="module")
def queries() -> list[dict]:
    return _rows("queries.jsonl")


@pytest.fixture(scope="module")
def formats(corpus: list[dict]) -> dict[str, str]:
    """Tool id -> the format toolrank detects (README name)."""
    out = {}
    for row in corpus:
        entries = find_tools(row["tool"], Budget())
        assert len(entries) == 1 and isinstance(entries[0][1], Tool), row["id"]
        out[row["id"]] = DETECTED.get(entries[0][0], entries[0][0])
    return out


def test_files_are_what_build_writes() -> None:
    for name, text in _build().render().items():
        assert (SET / name).read_text(encoding="utf-8") == text, f"{name} is stale: run bench/agent_requests/build.py"


def test_sizes(corpus: list[dict], queries: list[dict]) -> None:
    domains = {row["id"].split(".", 1)[0] for row in corpus}
    assert len(corpus) >= 80 and len(domains) >= 8
    assert len(queries) >= 150
    multi = [q for q in queries if q["category"] == "multi_step"]
    assert len(multi) >= 25 and all(len(q["steps"]) >= 2 and len(q["relevant"]) >= 2 for q in multi)
    assert all(len(q["steps"]) == 1 for q in queries if q["category"] != "multi_step")
    assert {q["category"] for q in queries} == set(CATEGORIES)
    assert all(Counter(q["category"] for q in queries)[c] >= 25 for c in CATEGORIES)


def test_ids_resolve_and_are_unique(corpus: list[dict], queries: list[dict]) -> None:
    ids = [row["id"] for row in corpus]
    assert len(set(ids)) == len(ids)
    assert len({q["id"] for q in queries}) == len(queries)
    assert len({q["query"] for q in queries}) == len(queries), "a request is written twice"
    for q in queries:
        assert sorted(q["candidates"]) == sorted(ids), f"{q['id']}: candidates are not the whole tool list"
        assert q["relevant"] and len(set(q["relevant"])) == len(q["relevant"]), q["id"]
        assert set(q["relevant"]) <= set(ids), f"{q['id']}: unknown relevant {set(q['relevant']) - set(ids)}"
        assert q["relevant"] == [tool for step in q["steps"] for tool in step] and all(q["steps"]), q["id"]


def test_three_formats_as_toolrank_detects_them(formats: dict[str, str]) -> None:
    spec = importlib.util.spec_from_file_location("agent_requests_tool_specs", SET / "tool_specs.py")
    assert spec and spec.loader
    specs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(specs)
    written = {f"{d}.{specs.tool_name(t)}": specs.tool_format(t) for d, ts in specs.DOMAINS.items() for t in ts}
    assert {i: f.lower() for i, f in formats.items()} == written
    assert set(formats.values()) == {"MCP", "OpenAI", "Anthropic"}
    by_domain: dict[str, set[str]] = {}
    for tool_id, fmt in formats.items():
        by_domain.setdefault(tool_id.split(".", 1)[0], set()).add(fmt)
    assert sum(len(f) > 1 for f in by_domain.values()) >= 2, "at least two domains mix formats"


def test_every_tool_normalizes_without_fallback(corpus: list[dict]) -> None:
    for row in corpus:
        out = normalize_tool(ToolInput(json.dumps(row["tool"])), NormalizeOptions())
        assert not out.fallback and out.text.strip(), f"{row['id']}: {out.detail}"
        name = row["tool"].get("function", row["tool"])["name"]
        assert out.text.startswith(name), row["id"]


def test_toolrank_eval_loads_it() -> None:
    ds = load_dataset(SET)
    assert ds.name == "agent_requests" and len(ds.queries) >= 150
    assert {c.content.__class__.__name__ for c in ds.corpus.values()} == {"ToolInput"}


def _readme_rows() -> list[list[str]]:
    rows = []
    for line in (SET / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not line.startswith("|--") and not line.startswith("|:"):
            rows.append([cell.strip().strip("`") for cell in line.strip().strip("|").split("|")])
    return rows


def _format_cell(counts: Counter) -> str:
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{f} {n}" for f, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def test_readme_counts_are_the_data(formats: dict[str, str], queries: list[dict]) -> None:
    per_domain: dict[str, Counter] = {}
    for tool_id, fmt in formats.items():
        per_domain.setdefault(tool_id.split(".", 1)[0], Counter())[fmt] += 1
    expected = {d: (_format_cell(c), str(sum(c.values()))) for d, c in per_domain.items()}
    expected["total"] = (_format_cell(Counter(formats.values())), str(len(formats)))
    per_category = Counter(q["category"] for q in queries)
    seen_domains, seen_categories = set(), set()
    for row in _readme_rows():
        if row[0] in expected and len(row) >= 4:  # | domain | service (docs) | format | tools |
            assert (row[2], row[3]) == expected[row[0]], f"README row {row}"
            seen_domains.add(row[0])
        if row[0] in per_category or row[0] == "all":  # | category | queries | ...
            count = len(queries) if row[0] == "all" else per_category[row[0]]
            assert row[1] == str(count), f"README row {row}"
            seen_categories.add(row[0])
    assert seen_domains == set(expected), f"README lacks rows for {set(expected) - seen_domains}"
    assert seen_categories == {*per_category, "all"}, f"README lacks rows for {{*per_category, 'all'}} - seen"
