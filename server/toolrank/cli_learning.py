"""``toolrank catalog feedback|eval``: tell a catalog what was chosen, export it, measure a catalog on one's own queries.

    toolrank catalog feedback NAME "book a flight to Paris" --chosen book_flight [--rejected ID] [--source S]
    toolrank catalog feedback export NAME > queries.jsonl      # the eval format: {"query", "relevant"}
    toolrank catalog eval NAME queries.jsonl                    # Recall@1/5/10, nDCG@10 per stage, learning off/on
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_arguments(csub: Any, client_flags: argparse.ArgumentParser) -> None:
    c = csub.add_parser("feedback", parents=[client_flags],
                        help="record what was chosen for a request (NAME QUERY --chosen ID), or `export NAME`")
    c.add_argument("words", nargs="+", metavar="NAME QUERY | export NAME")
    c.add_argument("--chosen", action="append", metavar="ID", help="an id chosen for the query (repeatable; default: none)")
    c.add_argument("--rejected", action="append", metavar="ID", help="an id judged wrong for it (repeatable; default: none)")
    c.add_argument("--source", default="cli", help="who says so (default %(default)s)")
    c = csub.add_parser("eval", parents=[client_flags],
                        help="Recall@1/5/10 and nDCG@10 of a catalog on a queries file (stage one, stage two, "
                             "learning off and on)")
    c.add_argument("name")
    c.add_argument("queries", metavar="QUERIES.jsonl", help='one {"query": ..., "relevant": [ids]} a line')
    c.add_argument("--json", action="store_true", help="one JSON object per row (default off: a table)")


def run(args: argparse.Namespace, client: Any) -> int:
    """Called by ``cmd_catalog`` with an open :class:`toolrank.Client`."""
    if args.catalog_command == "eval":
        return _eval(args, client)
    words = args.words
    if words[0] == "export" and len(words) == 2:
        for r in client.list_feedback(words[1]):
            print(json.dumps({"query": r.query, "relevant": list(r.chosen_ids), "rejected": list(r.rejected_ids),
                              "source": r.source}, ensure_ascii=False))
        return 0
    if len(words) != 2:
        print("toolrank catalog feedback: expected NAME QUERY (or export NAME)", file=sys.stderr)
        return 2
    out = client.feedback(words[0], words[1], args.chosen or (), args.rejected or (), source=args.source)
    print(f"catalog {out.catalog}: {out.feedback} feedback records" + (f" ({out.dropped} oldest dropped)"
                                                                        if out.dropped else ""))
    return 0


def _read_queries(path: str) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("query"), str) or not row.get("relevant"):
                raise ValueError(f"{path}:{n}: expected {{\"query\": str, \"relevant\": [ids]}}")
            rows.append(row)
    return rows


def _eval(args: argparse.Namespace, client: Any) -> int:
    from toolrank.eval import ndcg_at_10

    queries = _read_queries(args.queries)
    info = client.get_catalog(args.name)
    rows = []
    for stage, stage_one_only in (("stage one", True), ("two-stage", False)):
        for learn in (False, True):
            r1 = r5 = r10 = nd = 0.0
            ran_two = False
            for q in queries:
                picked = client.select(args.name, q["query"], 10, stage_one_only=stage_one_only, learn=learn)
                ran_two |= bool(picked.rerank_model)
                ranked, relevant = picked.ids, set(q["relevant"])
                r1 += float(bool(ranked) and ranked[0] in relevant)
                r5 += len(relevant & set(ranked[:5])) / len(relevant)
                r10 += len(relevant & set(ranked[:10])) / len(relevant)
                nd += ndcg_at_10(ranked, relevant)
            if stage == "two-stage" and not ran_two:
                continue  # no cross-encoder served: stage two is stage one
            n = max(1, len(queries))
            rows.append({"catalog": args.name, "stage": stage, "learning": "on" if learn else "off",
                         "queries": len(queries), "recall_at_1": r1 / n, "recall_at_5": r5 / n,
                         "recall_at_10": r10 / n, "ndcg_at_10": nd / n})
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    print(f"catalog {args.name}: {info.size} candidates, {info.examples} examples, {info.feedback} feedback records, "
          f"{len(queries)} queries")
    print(f"{'stage':<10} {'learning':<8} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'nDCG@10':>8}")
    for r in rows:
        print(f"{r['stage']:<10} {r['learning']:<8} {r['recall_at_1']:>6.3f} {r['recall_at_5']:>6.3f} "
              f"{r['recall_at_10']:>6.3f} {r['ndcg_at_10']:>8.3f}")
    return 0
