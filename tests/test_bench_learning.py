"""Smoke tests of the learning benches (bench/learning.py, no_match.py, adaptive_cut.py) on a tiny set and model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "models" / "tiny-bert-bi"
TOOLS = {"weather": "Current weather and forecast for a city", "email": "Send an email message to a recipient",
         "flight": "Book a flight ticket between two airports", "invoice": "Create an invoice for an order"}


def _tiny_set(root: Path) -> Path:
    folder = root / "tools-tiny"
    folder.mkdir()
    with open(folder / "corpus.jsonl", "w") as f:
        for name, description in TOOLS.items():
            f.write(json.dumps({"id": name, "tool": {"name": name, "description": description}}) + "\n")
    with open(folder / "queries.jsonl", "w") as f:
        for name in TOOLS:
            for i in range(4):
                f.write(json.dumps({"id": f"{name}{i}", "query": f"please use {name} now {i}",
                                    "candidates": list(TOOLS), "relevant": [name]}) + "\n")
    return folder


def _run(script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                          timeout=600, env={"PYTHONPATH": str(ROOT / "server"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.skipif(not (TINY / "model.onnx").is_file(), reason="tiny models not generated")
def test_learning_benches_run_and_report(tmp_path: Path) -> None:
    data = _tiny_set(tmp_path)
    common = ["--sets", str(data), "--model", str(TINY), "--store", str(tmp_path / "s.sqlite3")]
    rows = json.loads(_run("learning.py", *common, "--json"))
    assert rows[0]["set"] == "tools-tiny" and rows[0]["feedback"] == 8 and rows[0]["measured"] == 8
    assert {"off_ndcg", "on_ndcg", "noisy_ndcg", "disjoint_on_ndcg", "served_on_ndcg"} <= set(rows[0])
    out = _run("no_match.py", *common)
    assert "tools-tiny" in out and "precision" in out
    out = _run("adaptive_cut.py", *common)
    assert "relative 0.8" in out and "elbow" in out
