"""Write ``corpus.jsonl`` and ``queries.jsonl`` of the everyday-agent-requests set from ``tool_specs.py`` and
``request_texts.py``, in ../shared/data's format (``toolrank eval bench/agent_requests`` reads them).

Every query ranks the whole tool list (shuffled with a seed of its own, so the order is fixed and
carries no hint); ``category`` and ``steps`` (each step's tools: one step for a single-step request,
one tool per step, or several that serve a step equally) are extra fields the loader ignores. Run it after editing either
source: ``python bench/agent_requests/build.py``; the test checks the files are up to date.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from request_texts import REQUESTS  # noqa: E402
from tool_specs import DOMAINS, tool_name  # noqa: E402


def corpus_rows() -> list[dict]:
    return [{"id": f"{domain}.{tool_name(tool)}", "tool": tool} for domain, tools in DOMAINS.items() for tool in tools]


def steps_of(category: str, relevant: tuple) -> list[list[str]]:
    """Each step's tools: a multi-step entry lists steps (a tool or a tuple of equal tools), others one step."""
    if category != "multi_step":
        return [list(relevant)]
    return [[step] if isinstance(step, str) else list(step) for step in relevant]


def query_rows(ids: list[str]) -> list[dict]:
    rows = []
    for n, (category, text, relevant) in enumerate(REQUESTS, 1):
        qid = f"ar-{n:03d}"
        candidates = list(ids)
        random.Random(qid).shuffle(candidates)
        steps = steps_of(category, relevant)
        rows.append({"id": qid, "query": text, "candidates": candidates,
                     "relevant": [tool for step in steps for tool in step], "category": category, "steps": steps})
    return rows


def render() -> dict[str, str]:
    """File name -> its full text."""
    corpus = corpus_rows()
    queries = query_rows([row["id"] for row in corpus])
    return {name: "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            for name, rows in (("corpus.jsonl", corpus), ("queries.jsonl", queries))}


def main() -> None:
    for name, text in render().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / name} ({text.count(chr(10))} lines)")


if __name__ == "__main__":
    main()
