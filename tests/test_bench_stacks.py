"""bench/stacks.py on tiny models and a tiny set: cache once, fuse offline, the table has every stack
and a stack's figure is the served ensemble's (the fused ranking of the cached scores)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import stacks as bench_stacks  # noqa: E402  (bench/stacks.py: a checkout script)

from conftest import TINY  # noqa: E402

TOOLS = {"weather": "get the weather forecast for a city", "fx": "convert an amount of money between currencies",
         "mail": "send an email to a person", "files": "list the files in a folder"}
QUERIES = [("q1", "what is the weather in paris", "weather"), ("q2", "convert 100 dollars to euros", "fx"),
           ("q3", "email alice the report", "mail")]


def _tiny_set(root: Path) -> Path:
    d = root / "tiny-set"
    d.mkdir()
    (d / "corpus.jsonl").write_text("".join(json.dumps({"id": k, "tool": {"name": k, "description": v}}) + "\n"
                                            for k, v in TOOLS.items()))
    (d / "queries.jsonl").write_text("".join(json.dumps({"id": i, "query": q, "candidates": list(TOOLS),
                                                         "relevant": [r]}) + "\n" for i, q, r in QUERIES))
    return d


def test_cache_then_fuse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, cache = _tiny_set(tmp_path), tmp_path / "cache"
    stacks = tmp_path / "stacks.json"
    stacks.write_text(json.dumps({"stacks": [{"name": "bi + cross + bm25", "members": [
        {"model": "bi", "weight": 1}, {"model": "cross", "weight": 1}, {"model": "bm25", "weight": 0.5}]}]}))
    models = ["--model", f"bi={TINY / 'tiny-bert-bi'}", "--model", f"cross={TINY / 'tiny-bert-cross-peaky'}"]
    assert bench_stacks.main(["cache", *models, "--threads", "1", "--cache", str(cache), str(data)]) == 0
    cached = json.loads((cache / "tiny-set.bi.json").read_text())
    assert len(cached["queries"]) == 3 and cached["kind"] == "bi-encoder"
    capsys.readouterr()
    assert bench_stacks.main(["fuse", "--json", "--stacks", str(stacks), "--cache", str(cache), str(data)]) == 0
    [table] = json.loads(capsys.readouterr().out)
    results = table["results"]
    assert {"bm25", "bi", "cross", "bi + cross + bm25"} <= set(results)  # shipped stacks: their models are absent
    assert all(0.0 <= ndcg <= 1.0 and 0.0 <= r1 <= 1.0 for ndcg, r1 in results.values())
    # BM25 alone finds each tool here (the queries share their words); the table says so
    assert results["bm25"] == [1.0, 1.0]
    # the offline figure is the served ensemble's: toolrank's own eval through the engine agrees
    import asyncio

    from toolrank.engine.engine import Engine
    from toolrank.eval import evaluate, load_dataset
    from toolrank.settings import Settings

    async def served() -> tuple[float, float]:
        settings = Settings(models=(("bi", str(TINY / "tiny-bert-bi")), ("cross", str(TINY / "tiny-bert-cross-peaky"))),
                            ensembles=("s=bi:1,cross:1,bm25:0.5",), threads=1)
        async with Engine.from_settings(settings) as engine:
            report = await evaluate(engine, load_dataset(data), model="s")
        return report.ndcg_at_10, report.recall_at_1

    assert list(asyncio.run(served())) == pytest.approx(results["bi + cross + bm25"], abs=1e-9)
