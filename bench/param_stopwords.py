"""Function words in parameter descriptions: dropped (as served) against kept, same sets, same model.

    python bench/param_stopwords.py ../shared/data/tools-bfcl ../shared/data/tools-metatool bench/agent_requests

Runs ``toolrank eval --json`` on the given sets twice in one process: once as served (the
renderer drops :data:`toolrank.normalize.common.STOPWORDS` from parameter descriptions) and
once with that step turned off, then prints nDCG@10, Recall@1 and tokens per candidate side
by side. Extra arguments after ``--`` go to ``toolrank eval`` (e.g. ``-- --threads 1``).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

import toolrank.normalize.tool.render as render
from toolrank.cli import main as toolrank


def run(args: list[str]) -> list[dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        toolrank(["eval", *args, "--json"])
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


def main(argv: list[str]) -> None:
    cut = argv.index("--") if "--" in argv else len(argv)
    sets, extra = argv[:cut], argv[cut + 1:]
    dropped = run(sets + extra)
    served = render.drop_stopwords
    render.drop_stopwords = lambda text, *a: text  # type: ignore[assignment]
    try:
        kept = run(sets + extra)
    finally:
        render.drop_stopwords = served
    print(f"{'set':<18} {'drop nDCG@10':>12} {'R@1':>6} {'tok':>6}   {'keep nDCG@10':>12} {'R@1':>6} {'tok':>6}")
    for d, k in zip(dropped, kept):
        print(f"{d['set']:<18} {d['ndcg_at_10']:>12.4f} {d['recall_at_1']:>6.4f} {d['tokens_per_candidate']:>6.1f}   "
              f"{k['ndcg_at_10']:>12.4f} {k['recall_at_1']:>6.4f} {k['tokens_per_candidate']:>6.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
