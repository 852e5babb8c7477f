"""A long fuzz run: the suite's property tests (tests/test_fuzz_properties.py) with many more examples.

    python bench/fuzz.py --examples 20000 [--json bench/out/fuzz.json]

Each property runs with fresh random seeds (not the suite's fixed ones); a
failure prints hypothesis's minimal example and the script exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000, help="examples per property")
    parser.add_argument("--only", help="run the properties whose name contains this")
    parser.add_argument("--json", default=str(ROOT / "bench" / "out" / "fuzz.json"))
    args = parser.parse_args()

    os.environ["TOOLRANK_FUZZ_EXAMPLES"] = str(args.examples)  # read when the test module is imported
    sys.path.insert(0, str(ROOT / "tests"))
    module = importlib.import_module("test_fuzz_properties")
    properties = [(name, fn) for name, fn in vars(module).items()
                  if name.startswith("test_") and callable(fn) and (not args.only or args.only in name)]

    results = []
    for name, fn in properties:
        started = time.perf_counter()
        try:
            fn()
            outcome, detail = "passed", ""
        except Exception as exc:  # noqa: BLE001 - report every failure, then go on
            outcome, detail = "failed", "".join(traceback.format_exception_only(type(exc), exc)).strip()
            traceback.print_exc()
        seconds = time.perf_counter() - started
        results.append({"property": name, "examples": args.examples, "outcome": outcome,
                        "seconds": round(seconds, 1), "detail": detail[:2000]})
        print(f"{name:55} {outcome:6} {args.examples} examples in {seconds:6.1f} s", flush=True)

    report = {"tool": "hypothesis", "examples_per_property": args.examples,
              "properties": len(results), "failed": sum(r["outcome"] != "passed" for r in results),
              "results": results}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "results"}))
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
