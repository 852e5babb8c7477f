"""Smoke tests of bench/steps_eval.py and bench/long_requests.py on a tiny set and the tiny bi-encoder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "models" / "tiny-bert-bi"

TOOLS = {
    "weather": "get_weather: current weather and forecast for a city",
    "email": "send_email: send an email message to a recipient",
    "calendar": "find_free_slot: find a free slot in a calendar",
    "invite": "create_event: book a meeting and send the invite",
}
QUERIES = [
    {"id": "q1", "query": "find a free slot on Monday, then book it and send the invite",
     "relevant": ["calendar", "invite"], "category": "multi_step"},
    {"id": "q2", "query": "what is the weather in Paris", "relevant": ["weather"], "category": "direct"},
    {"id": "q3", "query": "email bob the report", "relevant": ["email"], "category": "direct"},
]


@pytest.fixture()
def tiny_set(tmp_path: Path) -> Path:
    root = tmp_path / "tiny_requests"
    root.mkdir()
    (root / "corpus.jsonl").write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in TOOLS.items()))
    (root / "queries.jsonl").write_text("".join(json.dumps({**q, "candidates": list(TOOLS)}) + "\n"
                                                for q in QUERIES))
    return root


def _run(script: str, *args: str) -> list[dict]:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args, "--model", str(TINY), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_steps_eval_reports_each_group_and_mode(tiny_set: Path) -> None:
    rows = _run("steps_eval.py", str(tiny_set), "--weights", "0,0.5")
    modes = {(r["group"], r["mode"]) for r in rows}
    assert {("multi_step", "w=0"), ("multi_step", "w=0.5"), ("multi_step", "naive"),
            ("single_step", "w=0.5")} <= modes
    multi = next(r for r in rows if r["group"] == "multi_step" and r["mode"] == "w=0.5")
    assert multi["queries"] == 1 and multi["split"] == 1
    assert all(0.0 <= r["ndcg_at_10"] <= 1.0 and 0.0 <= r["cover_at_10"] <= 1.0 for r in rows)


def test_long_requests_reports_every_wrapper_and_strategy(tiny_set: Path) -> None:
    rows = _run("long_requests.py", str(tiny_set), "--chars", "3000")
    got = {(r["wrapper"], r["strategy"]) for r in rows}
    for wrapper in ("log_then_ask", "ask_then_log", "turns_then_ask", "ask_in_middle"):
        for strategy in ("head", "tail", "head_tail", "request", "similar", "unwrapped"):
            assert (wrapper, strategy) in got
    request = next(r for r in rows if r["wrapper"] == "log_then_ask" and r["strategy"] == "request")
    assert request["request_kept"] == 1.0  # the request sentence itself survives the cut
