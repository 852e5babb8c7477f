"""The ``toolrank`` command as a person uses it."""

from __future__ import annotations

import json

import pytest

from conftest import DATA
from toolrank.cli import main


def _bfcl_request(path):
    corpus = {}
    for line in (DATA / "tools-bfcl" / "corpus.jsonl").read_text().splitlines():
        row = json.loads(line)
        corpus[row["id"]] = row
    q = json.loads((DATA / "tools-bfcl" / "queries.jsonl").read_text().splitlines()[0])
    path.write_text(json.dumps({"query": q["query"], "candidates": [corpus[i] for i in q["candidates"]]}))
    return q


def test_rerank_command_over_30_tools(default_server, tmp_path, capsys):
    if not (DATA / "tools-bfcl").is_dir():
        pytest.skip("shared data not available")
    q = _bfcl_request(tmp_path / "req.json")
    assert main(["rerank", str(tmp_path / "req.json"), "--address", default_server.address, "--json"]) == 0
    resp = json.loads(capsys.readouterr().out)
    assert len(resp["results"]) == 30
    assert resp["results"][0]["id"] in q["relevant"]


def test_rerank_command_reports_errors(default_server, tmp_path, capsys):
    (tmp_path / "bad.json").write_text(json.dumps({"query": "", "candidates": ["a"]}))
    assert main(["rerank", str(tmp_path / "bad.json"), "--address", default_server.address]) == 1
    assert "INVALID_ARGUMENT: query: empty" in capsys.readouterr().err


def test_normalize_command(tmp_path, capsys):
    tool = {"type": "function", "function": {"name": "getWeather", "description": "Weather now",
                                             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
    (tmp_path / "c.json").write_text(json.dumps([tool, {"sql": "CREATE TABLE t (a INT)"}, "plain  text"]))
    assert main(["normalize", str(tmp_path / "c.json"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["kind"] for o in out] == ["tool", "sql", "text"]
    assert "getWeather" in out[0]["text"] and out[2]["text"] == "plain text"


def test_eval_command_json(capsys):
    if not (DATA / "sql-spider").is_dir():
        pytest.skip("shared data not available")
    assert main(["eval", str(DATA / "sql-spider"), "--limit", "5", "--json", "--both"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["raw"] for r in lines] == [False, True]
    for r in lines:
        assert r["set"] == "sql-spider" and r["queries"] == 5
        assert 0.0 <= r["ndcg_at_10"] <= 1.0 and r["tokens_per_candidate"] > 0
