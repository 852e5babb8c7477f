"""Calibrate "nothing fits" (SelectResponse.no_match) per model and kind on the development sets, and report it.

    python bench/no_match.py [--sets DIR ...] [--precision 0.9] [--write]

Per set, the whole corpus is one catalog (code-cosqa-dev: the union of 120 queries' candidates),
scored by stage one as served. Every query is asked twice: against the whole catalog (its tools are
there: no_match would be wrong) and with its relevant ids removed (nothing fits: no_match is right).
The feature is the best candidate's stage-one score. Per kind (the sets pooled by candidate kind), the
threshold is the highest recall of no_match whose precision is at least ``--precision``; a kind where
no threshold reaches it gets none (no_match never fires for it). ``--write`` stores the thresholds in
``server/toolrank/catalogs/no_match.json`` (data, read by :mod:`toolrank.catalogs.no_match`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

from learning import DATA, SETS, prepare, restrict  # noqa: E402 - bench/learning.py, beside this file

from toolrank.catalogs.no_match import DATA_FILE  # noqa: E402
from toolrank.catalogs.service import CatalogService  # noqa: E402
from toolrank.catalogs.store import open_store  # noqa: E402
from toolrank.engine.engine import Engine  # noqa: E402
from toolrank.eval import load_dataset  # noqa: E402
from toolrank.settings import DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME, Settings  # noqa: E402


def pr(pos: np.ndarray, neg: np.ndarray, t: float) -> tuple[float, float]:
    """Precision and recall of ``score < t`` as no_match (neg: nothing fits; pos: something does)."""
    tp = float((neg < t).sum())
    fp = float((pos < t).sum())
    return (tp / (tp + fp) if tp + fp else 1.0), tp / max(1, len(neg))


def choose(pos: np.ndarray, neg: np.ndarray, min_precision: float) -> float | None:
    best: tuple[float, float] | None = None
    for t in np.unique(np.concatenate([pos, neg])):
        p, r = pr(pos, neg, float(t))
        if p >= min_precision and r > 0 and (best is None or r > best[1]):
            best = (float(t), r)
    return best[0] if best else None


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="*", default=[str(DATA / s) for s in SETS])
    ap.add_argument("--store", default="/tmp/toolrank-bench-learning.sqlite3")
    ap.add_argument("--model", help="a bi-encoder directory (default: the embedded all-MiniLM-L6-v2)")
    ap.add_argument("--precision", type=float, default=0.9, help="lowest precision of no_match (default 0.9)")
    ap.add_argument("--write", action="store_true", help=f"store the thresholds in {DATA_FILE.name}")
    args = ap.parse_args()
    # one model for every set (the thresholds are stored per model): the default server's two would split them
    models = ((Path(args.model).name, args.model),) if args.model else ((DEFAULT_MODEL_NAME, str(DEFAULT_MODEL_DIR)),)
    settings = Settings(store=f"sqlite:///{args.store}", catalog_refresh_s=0.0, models=models)
    engine = Engine.from_settings(settings)
    await engine.start()
    service = CatalogService(engine, open_store(settings.store), settings)
    per_set: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
    model = ""
    try:
        for path in args.sets:
            ds = load_dataset(path)
            if ds.name.startswith("code-"):
                ds = restrict(ds, ds.queries[:120])
            prepared = await prepare(service, engine, ds, ds.queries)
            index = service.loaded()[ds.name]
            model = index.record.model
            kind = index.entries[0].kind
            pos, neg = [], []
            for q in ds.queries:
                scores = prepared.stage[q["query"]]
                pos.append(float(scores.max()))
                keep = np.ones(len(scores), bool)
                keep[[prepared.row_of[r] for r in q["relevant"] if r in prepared.row_of]] = False
                neg.append(float(scores[keep].max()))
            per_set[ds.name] = (kind, np.array(pos), np.array(neg))
    finally:
        await service.aclose()
        await engine.stop()
    by_kind: dict[str, list[str]] = defaultdict(list)
    for name, (kind, _, _) in per_set.items():
        by_kind[kind].append(name)
    thresholds: dict[str, dict] = {}
    print(f"model {model}: no_match = best stage-one score below the threshold (precision >= {args.precision})")
    print(f"{'set':<16} {'kind':<5} {'queries':>7} {'threshold':>9} {'precision':>9} {'recall':>7}")
    for kind, names in sorted(by_kind.items()):
        pos = np.concatenate([per_set[n][1] for n in names])
        neg = np.concatenate([per_set[n][2] for n in names])
        t = choose(pos, neg, args.precision)
        if t is not None:
            p, r = pr(pos, neg, t)
            thresholds[kind] = {"threshold": round(t, 4), "precision": round(p, 3), "recall": round(r, 3),
                                "queries": int(len(pos)), "sets": names}
        for n in names:
            if t is None:
                print(f"{n:<16} {kind:<5} {len(per_set[n][1]):>7} {'none':>9} {'-':>9} {'-':>7}")
            else:
                p, r = pr(per_set[n][1], per_set[n][2], t)
                print(f"{n:<16} {kind:<5} {len(per_set[n][1]):>7} {t:>9.4f} {p:>9.3f} {r:>7.3f}")
    if args.write:
        data = json.loads(DATA_FILE.read_text()) if DATA_FILE.exists() else {"models": {}}
        data["models"][model] = {"min_precision": args.precision, "kinds": thresholds,
                                 "command": "python bench/no_match.py --write"
                                            + (f" --model {args.model}" if args.model else "")}
        DATA_FILE.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        print(f"wrote {DATA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
