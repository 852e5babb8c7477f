"""Worst-case inputs through the normalizers: the times the tests used to assert, side by side with a typical input.

Each case is timed (best of ``--repeats``) and set beside the same normalizer on an ordinary input
scaled to the same number of characters, so the ratio says how far the hostile shape is from linear
behaviour on this machine (1x: as fast per character as ordinary input; the old test limits are printed
for reference). Run from the checkout: ``python bench/normalize_worst_case.py [--repeats 3] [--json-out F]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from toolrank.normalize.code import normalize_code  # noqa: E402
from toolrank.normalize.sql import normalize_sql  # noqa: E402
from toolrank.normalize.tool import normalize_tool  # noqa: E402
from toolrank.types import CodeInput, NormalizeOptions, SqlInput, ToolInput  # noqa: E402

OPTIONS = NormalizeOptions()  # the kind normalizers themselves: no size guard in front, as the tests ran them
OPENAI_CHAT = {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
                                                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def _tool(doc: Any, max_chars: int = 2048) -> Callable[[], object]:
    text = json.dumps(doc)
    return lambda: normalize_tool(ToolInput(text), NormalizeOptions(max_chars=max_chars))


def cases() -> list[tuple[str, float, Callable[[], object], Callable[[], object], int]]:
    """(name, old test limit s, hostile call, ordinary call, characters)."""
    joins = "SELECT * FROM t0 " + " ".join(f"JOIN t{i} ON t{i - 1}.id = t{i}.id" for i in range(1, 10_000))
    schema = ";\n".join(f"CREATE TABLE t{i} (c{i} INT PRIMARY KEY)" for i in range(3000))
    ordinary_sql = "SELECT a, b FROM users WHERE id = 1;\n"
    ordinary_py = "def add(a, b):\n    return a + b\n\n"
    out = [
        ("sql: 10,000 joined tables", 1.0, lambda: normalize_sql(SqlInput(joins), OPTIONS), None, len(joins)),
        ("sql: 3,000-table schema dump", 2.0, lambda: normalize_sql(SqlInput(schema), OPTIONS), None, len(schema)),
    ]
    for label, text in (("('\"`[ x 20,000", "('\"`[" * 20_000), ("[ x 100,000", "[" * 100_000),
                        ("'a x 50,000", "'a" * 50_000)):
        out.append((f"sql: quotes {label}", 1.0, (lambda t=text: normalize_sql(SqlInput(t), OPTIONS)), None, len(text)))
    out.append(("tool: 20,000 tools in one list", 20.0, _tool([OPENAI_CHAT] * 20_000), None,
                len(json.dumps([OPENAI_CHAT] * 20_000))))
    nested = "(" * 100_000 + ")" * 100_000
    out.append(("code: python, 100,000 nested parentheses", 10.0,
                lambda: normalize_code(CodeInput(nested, "python"), OPTIONS), None, len(nested)))
    big = "def f(x):\n    return g(x)\n" * 50_000
    out.append(("code: python, 50,000 functions", 10.0, lambda: normalize_code(CodeInput(big, "python"), OPTIONS), None, len(big)))
    scaled = []
    for name, limit, call, _, chars in out:
        ordinary: Callable[[], object]
        if name.startswith("sql"):
            ordinary = _sql((ordinary_sql * (chars // len(ordinary_sql) + 1))[:chars])
        elif name.startswith("tool"):
            ordinary = _tool([OPENAI_CHAT] * max(1, chars // len(json.dumps(OPENAI_CHAT))))
        else:
            ordinary = _python((ordinary_py * (chars // len(ordinary_py) + 1))[:chars])
        scaled.append((name, limit, call, ordinary, chars))
    return scaled


def _sql(text: str) -> Callable[[], object]:
    return lambda: normalize_sql(SqlInput(text), OPTIONS)


def _python(text: str) -> Callable[[], object]:
    return lambda: normalize_code(CodeInput(text, "python"), OPTIONS)


def best(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    rows = []
    print("| case | chars | hostile s | ordinary s (same size) | hostile / ordinary | old test limit s |")
    print("|---|---|---|---|---|---|")
    for name, limit, hostile, ordinary, chars in cases():
        h, o = best(hostile, args.repeats), best(ordinary, args.repeats)
        rows.append({"case": name, "chars": chars, "hostile_s": h, "ordinary_s": o, "ratio": h / o if o else None,
                     "old_limit_s": limit})
        print(f"| {name} | {chars:,} | {h:.3f} | {o:.3f} | {h / o if o else float('nan'):.2f}x | {limit:g} |", flush=True)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
