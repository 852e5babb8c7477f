"""``toolrank bench --quick`` on a tiny model: the table and the JSON have their shape (no timings checked)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from bench import Shape, format_table, percentile  # noqa: E402  (bench/bench.py: a checkout script)

TINY = Path(__file__).resolve().parent / "models" / "tiny-bert-cross"


def test_percentile_and_flops_by_hand() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    shape = Shape(layers=1, hidden=2, intermediate=4)
    # one sequence of 3 tokens: 3 * 2 * (4*4 + 2*2*4) + 4 * 1 * 2 * 9
    assert shape.flops([3]) == 3 * 2 * 32 + 72


@pytest.mark.skipif(not (TINY / "model.onnx").is_file(), reason="tiny models not generated")
def test_bench_quick_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [sys.executable, "-m", "toolrank.cli", "bench", "--quick", "--model", str(TINY),
            "--workloads", "W1,W2,W3,W4", "--repeats", "2", "--clients", "3", "--json-out", str(out)]
    if importlib.util.find_spec("sentence_transformers") is None:
        args.append("--no-baseline-b")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| model" in proc.stdout and "sgemm peak" in proc.stdout

    result = json.loads(out.read_text())
    assert result["peak_gflops"] > 0
    methods = {(r["workload"], r["method"]) for r in result["rows"]}
    for expected in [
        ("W1", "(a) onnxruntime loop, raw JSON"),
        ("W1", "(a) onnxruntime loop, normalized"),
        ("W1", "toolrank engine, normalized"),
        ("W1", "toolrank e2e gRPC, raw JSON in"),
        ("W1", "toolrank e2e gRPC, repeated request (cache warm)"),
        ("W2", "toolrank engine, normalized"),
        ("W3", "toolrank e2e gRPC, sequential, distinct catalogs, caches off"),
        ("W3", "toolrank e2e gRPC, 3 clients, distinct catalogs, caches off"),
        ("W3", "toolrank e2e gRPC, sequential, shared catalog, caches on"),
        ("W3", "toolrank e2e gRPC, 3 clients, shared catalog, caches on"),
        ("W4", "toolrank engine, normalized"),
    ]:
        assert expected in methods
    for row in result["rows"]:
        assert row["samples_ms"] and row["median_ms"] > 0 and row["p99_ms"] >= row["median_ms"] * 0.999
        assert row["real_tokens"] > 0 and row["flops"] > 0
    engine_w1 = next(r for r in result["rows"] if r["method"] == "toolrank engine, normalized" and r["workload"] == "W1")
    assert engine_w1["ratio_vs_a"] > 0
    w3 = [r for r in result["rows"] if r["workload"] == "W3" and "clients" in r["method"]]
    assert len(w3) == 2
    for row in w3:
        assert row["extra"]["speedup_vs_sequential"] > 0 and len(row["samples_ms"]) >= 3
    # the printed table is the JSON's table
    assert format_table(result).splitlines()[0] == proc.stdout.splitlines()[0]


def test_normalize_speed_reports_every_set_and_kind_with_its_fallbacks(tmp_path):
    """bench/normalize_speed.py on a tiny data dir: one row per (set, kind), fallbacks counted."""
    tools = tmp_path / "tools-bfcl"
    tools.mkdir()
    (tools / "corpus.jsonl").write_text(
        json.dumps({"id": "t", "tool": {"name": "get_weather", "description": "Weather of a city."}}) + "\n")
    (tools / "queries.jsonl").write_text(json.dumps({"id": "q", "query": "weather in Paris",
                                                      "candidates": ["t"], "relevant": ["t"]}) + "\n")
    sql = tmp_path / "sql-x"
    sql.mkdir()
    (sql / "corpus.jsonl").write_text("\n".join(json.dumps({"id": f"s{i}", "sql": {"text": text}}) for i, text in
                                                enumerate(["CREATE TABLE a (id INT)", "CREATE TABLE ((( nonsense"])))
    script = Path(__file__).resolve().parent.parent / "bench" / "normalize_speed.py"
    out = subprocess.run([sys.executable, str(script), "--data", str(tmp_path), "--rounds", "1", "--json"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    rows = {(r["set"], r["kind"]): r for r in map(json.loads, out.splitlines())}
    assert set(rows) == {("tools-bfcl", "tool"), ("tools-bfcl", "text"), ("sql-x", "sql")}
    assert rows[("sql-x", "sql")]["candidates"] == 2 and rows[("sql-x", "sql")]["fallbacks"] == 1
    assert rows[("tools-bfcl", "tool")]["fallbacks"] == 0
    assert all(r["median_us"] > 0 for r in rows.values())


def test_batch_noise_reports_each_cut_and_an_fp32_model_does_not_move(tmp_path):
    """bench/batch_noise.py: one row per (cut, mode); the fp32 tiny model ranks alike under every cut."""
    data = tmp_path / "tools-x"
    data.mkdir()
    tools = [{"id": f"t{i}", "tool": {"name": f"get_{word}", "description": f"Returns the {word} of a city."}}
             for i, word in enumerate(["weather", "population", "mayor", "area", "timezone", "airport"])]
    (data / "corpus.jsonl").write_text("\n".join(json.dumps(t) for t in tools) + "\n")
    queries = [{"id": f"q{i}", "query": f"what is the {w} of Paris", "candidates": [t["id"] for t in tools],
                "relevant": [f"t{i}"]} for i, w in enumerate(["weather", "population", "mayor"])]
    (data / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    script = Path(__file__).resolve().parent.parent / "bench" / "batch_noise.py"
    model = Path(__file__).resolve().parent / "models" / "tiny-bert-bi"
    out = subprocess.run([sys.executable, str(script), str(data), "--model", str(model),
                          "--run-overheads", "1,1000000000", "--json"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["run_overhead"], r["raw"]) for r in rows] == [(1, False), (1, True), (1000000000, False),
                                                             (1000000000, True)]
    by_mode = {raw: {r["ndcg_at_10"] for r in rows if r["raw"] == raw} for raw in (False, True)}
    assert all(len(values) == 1 for values in by_mode.values())  # fp32: the batch cut changes nothing


def test_terse_api_catalog_builds_every_shape_and_scores_bm25_on_raw_json(tmp_path: Path) -> None:
    import terse_api_catalog as terse  # bench/terse_api_catalog.py

    tools = [{"tool_id": "AddAlarm", "source": "s", "tool": {
                 "name": "AddAlarm", "description": "Set an alarm.",
                 "parameters": {"time": {"type": "str", "description": "Alarm time"}}}},
             {"tool_id": "GetWeather", "source": "s", "tool": {
                 "name": "GetWeather", "description": "Weather for a city.",
                 "parameters": [{"name": "city", "in": "query", "required": True, "schema": {"type": "string"}}]}}]
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "s.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tools))
    pairs = [{"q": "wake me with an alarm at 7", "source": "s", "tool_id": "AddAlarm", "qid": "q1"},
             {"q": "what's the weather in a city like Oslo", "source": "s", "tool_id": "GetWeather", "qid": "q2"}]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    for shape in terse.SHAPES:
        folder = terse.build("s", shape, train=tmp_path, out=tmp_path / "out")
        corpus = [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines()]
        assert [row["id"] for row in corpus] == ["AddAlarm", "GetWeather"]
        r5, r10, ndcg, n = terse.bm25_raw(folder)
        assert n == 2 and r5 == r10 == 1.0 and ndcg == 1.0
    record = terse.shaped(tools[1]["tool"], "unknownkey")
    assert record == {"api_name": "GetWeather", "api_description": "Weather for a city.",
                      "request_fields": {"city": {"type": "string", "description": ""}}, "required": ["city"]}
    assert terse.shaped(tools[0]["tool"], "envelope")["apiSpec"]["parameters"]["time"]["type"] == "str"
