"""Whole-catalog Select against BM25 on the raw JSON, on terse API records.

Terse API records (``api_name``/``api_description``/``parameters`` and the like) carry few
words; a retriever that normalizes them must not lose to BM25 over the JSON as sent. This
script builds whole-catalog sets in the shared data format from the ``train`` engineer's
training data (``../shared/train``: API-Bank and ToolAlpaca tools, their requests from
``pairs.jsonl``), each in two shapes:

- ``asis``: the source's own records, as the training data holds them;
- ``apirecord``: the same tools rewritten as flat API records
  (``{api_name, api_description, parameters: {p: {type, description}}, required}``);
- ``unknownkey``: those records with the parameter map under a key no reader table knows
  (``request_fields``);
- ``envelope``: those records wrapped in a single-key envelope (``{"apiSpec": record}``).

It prints BM25 over the raw JSON text (same tokenizer and BM25 as the catalogs) for each set,
and writes the sets under ``bench/out/terse-<source>-<shape>/`` for::

    python bench/terse_api_catalog.py
    toolrank eval --catalog bench/out/terse-*        # dense, bm25 (normalized), fused

This is training data, so the figures are a check of normalization and of the Select
pipeline, not a quality claim.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))

from toolrank.engine.bm25 import Bm25Index, Vocabulary, lexical_tokens, term_counts  # noqa: E402

TRAIN = ROOT.parent / "shared" / "train"
OUT = ROOT / "bench" / "out"
SOURCES = ("apibank", "toolalpaca")


def api_record(tool: dict[str, Any]) -> dict[str, Any]:
    """The tool as a flat API record: ``parameters`` a ``{name: {type, description}}`` map."""
    params: dict[str, Any] = {}
    required: list[str] = []
    raw = tool.get("parameters") or tool.get("input_parameters") or {}
    if isinstance(raw, dict):
        items = [(k, v) for k, v in raw.items()]
    else:
        items = [(p.get("name", ""), p) for p in raw if isinstance(p, dict)]
    for name, spec in items:
        if not name or not isinstance(spec, dict):
            continue
        kind = spec.get("type") or (spec.get("schema") or {}).get("type") or ""
        params[name] = {"type": kind, "description": spec.get("description", "")}
        if spec.get("required") is True:
            required.append(name)
    return {"api_name": tool.get("name", ""), "api_description": tool.get("description", ""),
            "parameters": params, "required": required}


def shaped(tool: dict[str, Any], shape: str) -> dict[str, Any]:
    if shape == "asis":
        return tool
    record = api_record(tool)
    if shape == "unknownkey":
        record["request_fields"] = record.pop("parameters")
    elif shape == "envelope":
        record = {"apiSpec": record}
    return record


SHAPES = ("asis", "apirecord", "unknownkey", "envelope")


def build(source: str, shape: str, train: Path = TRAIN, out: Path = OUT) -> Path:
    """Write ``out/terse-<source>-<shape>/`` (corpus.jsonl, queries.jsonl) from ``train``'s files."""
    tools = [json.loads(line) for line in open(train / "tools" / f"{source}.jsonl", encoding="utf-8")]
    relevant: dict[str, set[str]] = defaultdict(set)
    text: dict[str, str] = {}
    for line in open(train / "pairs.jsonl", encoding="utf-8"):
        row = json.loads(line)
        if row["source"] == source:
            relevant[row["qid"]].add(row["tool_id"])
            text[row["qid"]] = row["q"]
    ids = [t["tool_id"] for t in tools]
    folder = out / f"terse-{source}-{shape}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for t in tools:
            tool = shaped(t["tool"], shape)
            f.write(json.dumps({"id": t["tool_id"], "tool": tool}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as f:
        for qid in sorted(relevant):
            f.write(json.dumps({"id": qid, "query": text[qid], "candidates": ids,
                                "relevant": sorted(relevant[qid] & set(ids))}) + "\n")
    return folder


def bm25_raw(folder: Path) -> tuple[float, float, float, int]:
    """Whole-catalog BM25 over each tool's JSON as sent: (R@5, R@10, nDCG@10, queries)."""
    corpus = [json.loads(line) for line in open(folder / "corpus.jsonl", encoding="utf-8")]
    vocab = Vocabulary()
    index = Bm25Index([term_counts(json.dumps(row["tool"]), vocab) for row in corpus])
    ids = [row["id"] for row in corpus]
    r5 = r10 = ndcg = 0.0
    queries = [json.loads(line) for line in open(folder / "queries.jsonl", encoding="utf-8")]
    for q in queries:
        rel = set(q["relevant"])
        scores = index.score([(t, 1.0) for t in vocab.lookup(lexical_tokens(q["query"]))])
        ranked = [ids[i] for i in sorted(range(len(ids)), key=lambda i: -scores[i])[:10]]
        r5 += len(rel & set(ranked[:5])) / len(rel)
        r10 += len(rel & set(ranked)) / len(rel)
        dcg = sum(1 / math.log2(i + 2) for i, c in enumerate(ranked) if c in rel)
        ndcg += dcg / sum(1 / math.log2(i + 2) for i in range(min(10, len(rel))))
    n = max(1, len(queries))
    return r5 / n, r10 / n, ndcg / n, len(queries)


def main() -> None:
    print(f"{'set':<28} {'queries':>7} {'R@5':>6} {'R@10':>6} {'nDCG@10':>8}  (BM25 on raw JSON)")
    for source in SOURCES:
        for shape in SHAPES:
            folder = build(source, shape)
            r5, r10, ndcg, n = bm25_raw(folder)
            print(f"{folder.name:<28} {n:>7} {r5:>6.3f} {r10:>6.3f} {ndcg:>8.3f}")


if __name__ == "__main__":
    main()
