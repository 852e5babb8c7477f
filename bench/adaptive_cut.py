"""Measure the adaptive cut: how few results keep how much of Recall@10, per rule, on the development sets.

    python bench/adaptive_cut.py [--sets DIR ...]

Per set, the whole corpus is one catalog (code-cosqa-dev: 120 queries' candidates), stage one as
served, top_k = 10. Rules: ``relative F`` keeps scores >= best - F * (best - 10th) (scale-free: what
Select serves, :mod:`toolrank.catalogs.cut`); ``margin M`` keeps scores >= best - M (stage-one units
only); ``elbow`` cuts at the largest gap. Reported: mean results returned and the share of Recall@10
kept (recall within the cut / Recall@10).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

from learning import DATA, SETS, prepare, restrict  # noqa: E402 - bench/learning.py, beside this file

from toolrank.catalogs.cut import adaptive_count  # noqa: E402
from toolrank.catalogs.service import CatalogService  # noqa: E402
from toolrank.catalogs.store import open_store  # noqa: E402
from toolrank.engine.engine import Engine  # noqa: E402
from toolrank.eval import load_dataset  # noqa: E402
from toolrank.settings import Settings  # noqa: E402


def rules() -> dict[str, object]:
    out: dict[str, object] = {f"relative {f}": ("rel", f) for f in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)}
    out.update({f"margin {m}": ("abs", m) for m in (0.01, 0.02, 0.03, 0.05, 0.08)})
    out["elbow"] = ("elbow", 0)
    return out


def count(rule: tuple[str, float], top: np.ndarray) -> int:
    kind, v = rule
    if kind == "rel":
        return adaptive_count(list(top), v)
    if kind == "abs":
        return max(1, int((top >= top[0] - v).sum()))
    gaps = top[:-1] - top[1:]
    return int(np.argmax(gaps)) + 1 if len(gaps) else len(top)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="*", default=[str(DATA / s) for s in SETS])
    ap.add_argument("--store", default="/tmp/toolrank-bench-learning.sqlite3")
    ap.add_argument("--model", help="a bi-encoder directory (default: the embedded all-MiniLM-L6-v2)")
    args = ap.parse_args()
    settings = Settings(store=f"sqlite:///{args.store}", catalog_refresh_s=0.0,
                        **({"models": ((Path(args.model).name, args.model),)} if args.model else {}))
    engine = Engine.from_settings(settings)
    await engine.start()
    service = CatalogService(engine, open_store(settings.store), settings)
    table: dict[str, dict[str, tuple[float, float]]] = {}
    try:
        for path in args.sets:
            ds = load_dataset(path)
            if ds.name.startswith("code-"):
                ds = restrict(ds, ds.queries[:120])
            p = await prepare(service, engine, ds, ds.queries)
            for name, rule in rules().items():
                kept = returned = full = 0.0
                for q in ds.queries:
                    scores = p.stage[q["query"]]
                    order = np.argsort(-scores, kind="stable")[:10]
                    rel = set(q["relevant"])
                    n = count(rule, scores[order])  # type: ignore[arg-type]
                    ranked = [p.ids[i] for i in order]
                    full += len(rel & set(ranked)) / len(rel)
                    kept += len(rel & set(ranked[:n])) / len(rel)
                    returned += n
                table.setdefault(name, {})[ds.name] = (returned / len(ds.queries), kept / max(full, 1e-9))
    finally:
        await service.aclose()
        await engine.stop()
    sets = list(next(iter(table.values())))
    print(f"{'rule':<14} " + " ".join(f"{s[:14]:>22}" for s in sets) + f" {'mean kept':>10} {'mean n':>7}")
    for name, per in table.items():
        cells = " ".join(f"{per[s][0]:>8.2f} res {per[s][1]:>7.1%} R" for s in sets)
        print(f"{name:<14} {cells} {np.mean([v[1] for v in per.values()]):>10.1%} "
              f"{np.mean([v[0] for v in per.values()]):>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
