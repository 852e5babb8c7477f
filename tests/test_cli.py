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


@pytest.mark.shared_data
def test_rerank_command_over_30_tools(default_server, tmp_path, capsys):
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


@pytest.mark.shared_data
def test_eval_command_json(capsys):
    assert main(["eval", str(DATA / "sql-spider"), "--limit", "5", "--json", "--both"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["raw"] for r in lines] == [False, True]
    for r in lines:
        assert r["set"] == "sql-spider" and r["queries"] == 5
        assert 0.0 <= r["ndcg_at_10"] <= 1.0 and r["tokens_per_candidate"] > 0


# -- edge cases (issue #11, item 7) ------------------------------------------------------------------


def _one_error_line(capsys, prefix: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), lines
    return lines[0]


def test_rerank_of_a_missing_file_is_one_error_line(capsys):
    assert main(["rerank", "nofile.json"]) == 1
    assert "cannot read nofile.json" in _one_error_line(capsys, "toolrank rerank: error:")


def test_normalize_of_bad_json_is_one_error_line(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["normalize", str(tmp_path / "bad.json")]) == 1
    assert "not JSON" in _one_error_line(capsys, "toolrank normalize: error:")


def test_normalize_of_a_missing_path_is_one_error_line(tmp_path, capsys):
    assert main(["normalize", str(tmp_path / "missing")]) == 1  # a folder is read: tests/test_cli_usage.py
    _one_error_line(capsys, f"toolrank normalize: error: {tmp_path / 'missing'}: no such file or folder")


def test_eval_on_a_folder_without_corpus_is_one_error_line(tmp_path, capsys):
    (tmp_path / "queries.jsonl").write_text("")
    assert main(["eval", str(tmp_path)]) == 1
    assert "no corpus.jsonl" in _one_error_line(capsys, "toolrank eval: error:")


def test_rerank_json_prints_every_field_with_numbers(default_server, tmp_path, capsys):
    (tmp_path / "r.json").write_text(json.dumps({"query": "weather in Paris",
                                                 "candidates": ["the weather in Paris", "a cake recipe"]}))
    assert main(["rerank", str(tmp_path / "r.json"), "--address", default_server.address, "--json"]) == 0
    resp = json.loads(capsys.readouterr().out)
    assert sorted(r["index"] for r in resp["results"]) == [0, 1]  # index 0 is printed, not dropped as a default
    assert set(resp["results"][0]) == {"index", "id", "score", "text"}
    assert set(resp["usage"]) == {"query_tokens", "candidate_tokens", "truncated", "windows", "fallbacks", "cache_hits",
                                  "query_truncated", "steps"}
    for section in ("usage", "timing"):
        numbers = {k: v for k, v in resp[section].items() if k != "query_truncated"}  # the one bool
        assert all(type(v) is int for v in numbers.values()), resp[section]  # uint64 as numbers, not strings
    assert resp["usage"]["query_truncated"] is False
    assert resp["usage"]["fallbacks"] == 0 and resp["model"]


def test_info_json_prints_numbers(default_server, capsys):
    assert main(["info", "--address", default_server.address]) == 0
    info = json.loads(capsys.readouterr().out)
    assert type(info["models"][0]["max_length"]) is int
    assert [m["name"] for m in info["models"] if m["is_default"] is True] == ["default"]  # the default stack


def _actions(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((f"{name} {where}", a) for where, a in _actions(sub))
        else:
            yield "", action


def test_every_flag_has_help_text_with_its_default():
    import argparse

    from toolrank.cli import build_parser

    missing = []
    for where, action in _actions(build_parser()):
        if not action.option_strings or action.required or isinstance(action, argparse._HelpAction):
            continue
        if not action.help or "default" not in action.help:
            missing.append(f"{where}{action.option_strings[-1]}")
    assert missing == []


def test_bench_outside_a_checkout_is_one_error_line(monkeypatch, capsys):
    import toolrank.cli

    monkeypatch.setattr(toolrank.cli, "find_bench_script", lambda: None)
    assert main(["bench", "--quick"]) == 1
    assert "source checkout" in _one_error_line(capsys, "toolrank bench: error:")


def test_the_cli_does_not_import_the_bench_script():
    import subprocess
    import sys

    code = "import sys, toolrank.cli; toolrank.cli.build_parser(); print('bench' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_health_command(default_server, capsys):
    assert main(["health", "--address", default_server.address, "--timeout", "10"]) == 0
    assert capsys.readouterr().out.strip() == f"{default_server.address}: SERVING"


def test_health_command_without_a_server_exits_1(capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["health", "--address", f"127.0.0.1:{port}", "--timeout", "2"]) == 1
    assert capsys.readouterr().err.startswith(f"toolrank health: error: 127.0.0.1:{port}: ")


def test_python_dash_m_toolrank_runs_the_cli():
    """``python -m toolrank`` is the console script (MCP client configs often launch modules)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "toolrank", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "serve" in out.stdout and "catalog" in out.stdout and "mcp" in out.stdout


def test_health_reads_the_address_the_server_bound(tmp_path, capsys):
    """serve --address-file writes the port actually bound (here: any free one); health --address-file dials it."""
    import asyncio
    from dataclasses import replace

    from toolrank.api.serve import serve
    from toolrank.settings import Settings

    address_file = tmp_path / "toolrank.address"
    settings = replace(Settings(), port=0, store="memory://", address_file=str(address_file), grace_s=0.5)

    async def scenario() -> tuple[str, int]:
        stop = asyncio.Event()
        server = asyncio.create_task(serve(settings, stop=stop))
        try:
            for _ in range(600):
                if address_file.exists() or server.done():
                    break
                await asyncio.sleep(0.1)
            address = address_file.read_text().strip()
            return address, await asyncio.to_thread(main, ["health", "--address-file", str(address_file)])
        finally:
            stop.set()
            await server

    address, code = asyncio.run(scenario())
    host, port = address.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) not in (0, 50051)
    assert code == 0 and capsys.readouterr().out.strip().endswith(f"{address}: SERVING")
    assert not address_file.exists(), "the address file is removed on exit"
    assert main(["health", "--address-file", str(address_file)]) == 1
    assert capsys.readouterr().err.startswith(f"toolrank health: error: cannot read {address_file}")
