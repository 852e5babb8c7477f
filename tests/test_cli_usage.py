"""The CLI as people use it: help for every command, one `toolrank CMD: error: ...` line, names for id-less
results, `normalize` reading what `catalog put` reads, `--detect`, a warning for an empty put."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from toolrank.cli import build_parser, main


def _subparsers(parser: argparse.ArgumentParser, prefix: str = "toolrank") -> list[tuple[str, str, argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((f"{prefix} {name}", helps.get(name, ""), sub))
                out.extend(_subparsers(sub, f"{prefix} {name}"))
    return out


def test_every_command_has_help() -> None:
    parser = build_parser()
    top = parser.format_help()
    commands = _subparsers(parser)
    assert len(commands) >= 18
    for name, help_text, sub in commands:
        assert len(help_text.split()) >= 3, f"{name} has no help line"
        if name.count(" ") == 1:
            assert name.split()[1] in top and help_text.split(" (")[0][:30] in top, f"toolrank --help lacks {name}"
        if not name.endswith("bench"):  # bench's own flags come from bench/bench.py
            assert sub.format_help().strip(), name


def _one_error_line(err: str, prefix: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(prefix), err
    assert err.startswith(prefix), f"something before the error line: {err!r}"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv, prefix", [
    (["info", "--timeout", "1"], "toolrank info: error: 127.0.0.1:{port}: UNAVAILABLE"),
    (["health", "--timeout", "1"], "toolrank health: error: 127.0.0.1:{port}: UNAVAILABLE"),
    (["catalog", "list", "--timeout", "1"], "toolrank catalog list: error: "),
    (["catalog", "select", "c", "q", "--timeout", "1"], "toolrank catalog select: error: "),
])
def test_client_commands_without_a_server_print_one_prefixed_line(argv: list[str], prefix: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    assert main([*argv, "--address", f"127.0.0.1:{port}"]) == 1
    _one_error_line(capsys.readouterr().err, prefix.format(port=port))


def test_rerank_request_file_errors_are_prefixed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"query": "q", "candidates": ["a"], "top": 1}))
    assert main(["rerank", str(bad)]) == 1
    _one_error_line(capsys.readouterr().err, f"toolrank rerank: error: {bad}: unknown key 'top'")


def test_rerank_names_results_without_ids(default_server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = tmp_path / "r.json"
    request.write_text(json.dumps({"query": "weather in Paris", "candidates": [
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city"}},
        {"name": "send_email", "description": "Send an email"},
        "a chocolate cake recipe"]}))
    assert main(["rerank", str(request), "--address", default_server.address]) == 0
    lines = capsys.readouterr().out.splitlines()
    labels = {line.split("] ", 1)[1] for line in lines if "] " in line}
    assert {"get_weather", "send_email", "(a chocolate cake recipe)"} == labels


def test_normalize_reads_what_catalog_put_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE users (id INT PRIMARY KEY, email TEXT);\n"
                                         "CREATE TABLE orders (id INT, user_id INT REFERENCES users(id));\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "mail.py").write_text("def send_email(to, body):\n    return smtp.send(to, body)\n")
    (tmp_path / "src" / "notes.md").write_text("How to send mail.\n")
    for path, expected in ((tmp_path / "schema.sql", [("users", "sql"), ("orders", "sql")]),
                           (tmp_path / "src", [("mail.py", "code"), ("notes.md", "text")]),
                           (tmp_path / "src" / "mail.py", [("mail.py", "code")])):
        assert main(["normalize", str(path), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert [(o["id"], o["kind"]) for o in out] == expected, path
        assert not any(o["fallback"] for o in out)
    assert main(["normalize", str(tmp_path / "src" / "mail.py")]) == 0
    assert "def send_email(to, body):" in capsys.readouterr().out


def test_normalize_detect_shows_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    for text, detail in (("CREATE TABLE users (id INT, email TEXT);", "auto: sql"),
                         ('{"name": "get_weather", "description": "Weather for a city"}', "auto: tool"),
                         ("what is the weather in Paris", "auto: text")):
        assert main(["normalize", "--detect", text, "--json"]) == 0
        (out,) = json.loads(capsys.readouterr().out)
        assert out["detail"].startswith(detail), (text, out)


def test_empty_catalog_put_warns(default_server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["catalog", "put", "docs-empty-put", str(empty), "--address", default_server.address]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"toolrank catalog put: warning: {empty}: no candidates found"), err
    main(["catalog", "delete", "docs-empty-put", "--address", default_server.address])


def test_busy_http_port_is_named(tmp_path: Path) -> None:
    """A busy HTTP port: one line naming it, and nothing from gRPC's C core before it (fd-level stderr)."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "toolrank", "serve", "--port", "0", "--http-port", str(port),
                               "--store", "memory://", "--model", f"tiny={ROOT / 'tests' / 'models' / 'tiny-bert-bi'}"],
                              capture_output=True, text=True, timeout=120,
                              env={"PYTHONPATH": str(ROOT / "server"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 1
    _one_error_line(done.stderr, f"toolrank serve: error: cannot bind the HTTP port 127.0.0.1:{port}")
