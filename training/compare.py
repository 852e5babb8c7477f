"""Before/after quality of a fine-tuned model, with ``toolrank eval``, and the shipping decision.

    python -m training.compare --after work-models/minilm-tools DATASET_DIR... \
        [--before DIR] [--card DIR/MODEL_CARD.md] [--json out.json]

Each set is evaluated by ``toolrank eval SET --json`` (the server's own code path), once with
``--model BEFORE`` (default: the embedded default) and once with ``--model AFTER``. A set's kind
(tools, sql, code, text) is read off its corpus. The decision rule (issue 19): the tuned model
may be the embedded default only if the tool sets' mean nDCG@10 rises and no set falls by more
than ``--tolerance`` (0.01).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

KINDS = {"tool": "tools", "sql": "sql", "code": "code", "text": "text"}


def set_kind(dataset: Path) -> str:
    """The kind of a set's candidates (its corpus's first row)."""
    with open(dataset / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                return next((v for k, v in KINDS.items() if k in row), "text")
    return "text"


def run_eval(datasets: Sequence[Path], model: str | None) -> dict[str, dict[str, Any]]:
    """``toolrank eval --json`` over the sets (with ``--model`` when given): set name -> report."""
    cmd = [sys.executable, "-m", "toolrank", "eval", *map(str, datasets), "--json"]
    if model:
        cmd += ["--model", model]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {r["set"]: r for r in reports}


def decide(rows: list[dict[str, Any]], tolerance: float) -> dict[str, Any]:
    """Issue 19's rule, and the tools-only fallback when only non-tool sets fall."""
    tools = [r for r in rows if r["kind"] == "tools"]
    tool_gain = (sum(r["after_ndcg"] - r["before_ndcg"] for r in tools) / len(tools)) if tools else 0.0
    falls = [r["set"] for r in rows if r["after_ndcg"] - r["before_ndcg"] < -tolerance]
    tool_falls = [s for s in falls if any(r["set"] == s and r["kind"] == "tools" for r in rows)]
    if tool_gain > 0 and not falls:
        verdict = "default"
    elif tool_gain > 0 and not tool_falls:
        verdict = "tools-only"
    else:
        verdict = "optional"
    return {"tool_mean_gain": tool_gain, "falls": falls, "verdict": verdict, "tolerance": tolerance}


def table(rows: list[dict[str, Any]], decision: dict[str, Any], before: str, after: str,
          datasets: Sequence[Path]) -> str:
    """The markdown table for the card and the docs."""
    lines = ["| set | kind | queries | nDCG@10 before | nDCG@10 after | Δ | R@1 before | R@1 after | Δ |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['set']} | {r['kind']} | {r['queries']} | {r['before_ndcg']:.3f} | {r['after_ndcg']:.3f} | "
                     f"{r['after_ndcg'] - r['before_ndcg']:+.3f} | {r['before_r1']:.3f} | {r['after_r1']:.3f} | "
                     f"{r['after_r1'] - r['before_r1']:+.3f} |")
    for kind in sorted({r["kind"] for r in rows}):
        group = [r for r in rows if r["kind"] == kind]
        if len(group) > 1:
            mean = {k: sum(r[k] for r in group) / len(group) for k in ("before_ndcg", "after_ndcg", "before_r1", "after_r1")}
            lines.append(f"| **mean {kind}** | {kind} | | {mean['before_ndcg']:.3f} | {mean['after_ndcg']:.3f} | "
                         f"{mean['after_ndcg'] - mean['before_ndcg']:+.3f} | {mean['before_r1']:.3f} | "
                         f"{mean['after_r1']:.3f} | {mean['after_r1'] - mean['before_r1']:+.3f} |")
    sets = " ".join(str(d) for d in datasets)
    verdict = {"default": "ship as the embedded default",
               "tools-only": "ship for tools only (non-tool sets fall)",
               "optional": "ship as an optional model, not the default"}[decision["verdict"]]
    return "\n".join(lines) + (
        f"\n\nDecision rule (tool sets' mean nDCG@10 rises, no set falls by more than {decision['tolerance']}): "
        f"tool mean {decision['tool_mean_gain']:+.3f}, sets over the tolerance: {', '.join(decision['falls']) or 'none'}"
        f" → **{verdict}**.\n\nCommands (default per-kind BM25 fusion, all queries of each set):\n\n```sh\n"
        f"toolrank eval {sets} --json{' --model ' + before if before else ''}   # before\n"
        f"toolrank eval {sets} --json --model {after}   # after\n```\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+", help="set folders (corpus.jsonl + queries.jsonl)")
    p.add_argument("--after", required=True, help="the fine-tuned model directory")
    p.add_argument("--before", default="", help="the model to compare against (default: the embedded default)")
    p.add_argument("--tolerance", type=float, default=0.01)
    p.add_argument("--card", default="", help="MODEL_CARD.md whose evaluation section to replace")
    p.add_argument("--json", default="", help="write rows and decision here")
    args = p.parse_args(argv)
    datasets = [Path(d) for d in args.datasets]
    before = run_eval(datasets, args.before or None)
    after = run_eval(datasets, args.after)
    rows = [{"set": name, "kind": set_kind(d), "queries": after[name]["queries"],
             "before_ndcg": before[name]["ndcg_at_10"], "after_ndcg": after[name]["ndcg_at_10"],
             "before_r1": before[name]["recall_at_1"], "after_r1": after[name]["recall_at_1"]}
            for d in datasets for name in [d.name]]
    decision = decide(rows, args.tolerance)
    text = table(rows, decision, args.before, args.after, datasets)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "decision": decision}, indent=2) + "\n", encoding="utf-8")
    if args.card:
        from training.card import replace_evaluation

        replace_evaluation(Path(args.card), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
