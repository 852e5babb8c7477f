"""``toolrank eval --catalog`` on a tiny set: the whole corpus in one catalog, three modes, exact figures for BM25."""

from __future__ import annotations

import json
import math

from catalog_helpers import TINY_BI, data_home  # noqa: F401 (autouse fixture)
from toolrank.cli import main


def test_eval_catalog_reports_every_mode(tmp_path, capsys):
    corpus = [{"id": "apple", "text": "apple orchard harvest"}, {"id": "bike", "text": "bicycle chain repair"}]
    corpus += [{"id": f"d{i}", "text": f"filler words number {i}"} for i in range(12)]
    queries = [{"id": "q1", "query": "apple harvest", "candidates": [], "relevant": ["apple"]},
               {"id": "q2", "query": "repair my bicycle", "candidates": [], "relevant": ["bike", "d11"]}]
    folder = tmp_path / "tiny-set"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in corpus))
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    assert main(["eval", str(folder), "--catalog", "--json", "--model", f"{TINY_BI[0]}={TINY_BI[1]}"]) == 0
    rows = {r["mode"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(rows) == {"dense", "bm25", "fused"}
    assert all(r["catalog_size"] == 14 and r["queries"] == 2 for r in rows.values())
    bm25 = rows["bm25"]
    # q1: "apple" first (R@5 1, nDCG 1). q2: "bike" first; "d11" shares no word, and ties (score 0) go
    # to the lower rows, so it is not in the top 10: R@5 = R@10 = 1/2, nDCG = 1 / (1 + 1/log2(3))
    assert bm25["recall_at_5"] == 0.75 and bm25["recall_at_10"] == 0.75
    assert abs(bm25["ndcg_at_10"] - (1 + 1 / (1 + 1 / math.log2(3))) / 2) < 1e-9
