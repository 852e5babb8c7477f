"""A held-out code-search set from the Python standard library, in ../shared/data's format.

    python bench/code_heldout.py [--out bench/out/code-stdlib] [--queries 400] [--corpus 3000]
    toolrank eval bench/out/code-stdlib --both
    python bench/code_heldout.py --out bench/out/code-stdlib-long --min-chars 2500 --max-chars 40000 --queries 200
                                 # functions over the normalizer's budget: the summary against the raw head
    python bench/code_heldout.py --out bench/out/code-npm-js --js-root /usr/lib/node_modules
                                 # JavaScript functions with JSDoc (the comment is the query, not in the text)

Why: the code normalizer was tuned on CoSQA; this checks it on code it was never
fitted to. Each function or method of the running interpreter's standard library
that has a docstring becomes a candidate *without* its docstring (so the answer is
not in the text); the docstring's first sentence is the query. Each query ranks 30
candidates: its function, 14 others hardest by BM25 over the raw source (the query's
words in another function), 15 at random, as ../shared/data/README.md builds its
sets. Deterministic for a given Python version (the figures in the README name it).
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np

from toolrank.engine.lexical import bm25_scores, lexical_tokens

MIN_QUERY_WORDS = 5
CANDIDATES = 30
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]`'\"])\.(\s|$)")


def functions(stdlib: Path, min_chars: int = 0, max_chars: int = 6000) -> list[tuple[str, str, str]]:
    """(id, query, source without its docstring) for every documented function of the standard library."""
    out = []
    for path in sorted(stdlib.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        lines = text.split("\n")
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.end_lineno is None:
                continue
            doc = ast.get_docstring(node)
            first = node.body[0]
            if not doc or not isinstance(first, ast.Expr) or first.end_lineno is None or len(node.body) < 2:
                continue
            query = _first_sentence(doc)
            if len(query.split()) < MIN_QUERY_WORDS:
                continue
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            kept = lines[start : first.lineno - 1] + lines[first.end_lineno : node.end_lineno]
            source = textwrap.dedent("\n".join(kept)).strip("\n") + "\n"
            if not min_chars <= len(source) <= max_chars:
                continue
            out.append((f"{path.stem}.{node.name}.{node.lineno}", query, source))
    return out


JS_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration", "method_definition"})
_JSDOC_MARGIN = re.compile(r"^\s*(/\*\*+|\*+/|\*)\s?", re.MULTILINE)


def js_functions(root: Path, min_chars: int = 0, max_chars: int = 6000) -> list[tuple[str, str, str]]:
    """(id, query, source) for every JavaScript function under ``root`` with a JSDoc comment before it.

    The comment is a sibling node, so the candidate (the function's own text) never holds it.
    """
    from toolrank.normalize.code.walk import parser_for

    parser = parser_for("javascript")
    out = []
    for path in sorted(root.rglob("*.js")):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if len(data) > 300_000:
            continue
        stack = [parser.parse(data).root_node]
        while stack:
            node = stack.pop()
            stack.extend(node.named_children)
            if node.type not in JS_FUNCTIONS or node.end_point[0] - node.start_point[0] < 2:
                continue
            outer = node.parent if node.parent is not None and node.parent.type == "export_statement" else node
            prev = outer.prev_named_sibling
            if prev is None or prev.type != "comment":
                continue
            comment = data[prev.start_byte : prev.end_byte].decode("utf-8", "replace")
            if not comment.startswith("/**"):
                continue
            doc = _JSDOC_MARGIN.sub("", comment).split("\n@")[0].split("\n\n")[0].strip()
            query = _first_sentence(doc)
            source = data[outer.start_byte : outer.end_byte].decode("utf-8", "replace") + "\n"
            if len(query.split()) < MIN_QUERY_WORDS or query.startswith("@") or not min_chars <= len(source) <= max_chars:
                continue
            out.append((f"{path.relative_to(root).as_posix()}:{node.start_point[0] + 1}", query, source))
    return out


def _first_sentence(doc: str) -> str:
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    match = _SENTENCE_END.search(paragraph)
    return paragraph[: match.start() + 1] if match else paragraph


def build(out: Path, n_queries: int, n_corpus: int, seed: int = 13, min_chars: int = 0, max_chars: int = 6000,
          js_root: Path | None = None) -> None:
    rng = random.Random(seed)
    if js_root is not None:
        found = js_functions(js_root, min_chars, max_chars)
        language, origin = "javascript", f"JavaScript under {js_root}"
    else:
        found = functions(Path(sysconfig.get_paths()["stdlib"]), min_chars, max_chars)
        language, origin = "python", f"Python {sys.version.split()[0]} standard library"
    seen: set[str] = set()
    unique = []
    for item in found:  # one function per query text: "Return the ..." duplicates would be ambiguous
        if item[1].lower() not in seen:
            seen.add(item[1].lower())
            unique.append(item)
    rng.shuffle(unique)
    corpus = unique[:n_corpus]
    tokens = [lexical_tokens(src) for _, _, src in corpus]
    queries = []
    for qi in range(min(n_queries, len(corpus))):
        cid, query, _ = corpus[qi]
        scores = bm25_scores(lexical_tokens(query), tokens)
        scores[qi] = -np.inf
        hard = [int(i) for i in np.argsort(-scores, kind="stable")[: (CANDIDATES - 1) // 2]]
        rest = [i for i in range(len(corpus)) if i != qi and i not in hard]
        picked = [qi, *hard, *rng.sample(rest, CANDIDATES - 1 - len(hard))]
        rng.shuffle(picked)
        queries.append({"id": f"q-{cid}", "query": query, "candidates": [corpus[i][0] for i in picked],
                        "relevant": [cid]})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for cid, _, src in corpus:
            f.write(json.dumps({"id": cid, "code": {"language": language, "source": src}}) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(q) + "\n")
    print(f"{out}: {len(corpus)} functions, {len(queries)} queries ({origin})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/out/code-stdlib")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--corpus", type=int, default=3000)
    ap.add_argument("--min-chars", type=int, default=0, help="only functions at least this long (without docstring)")
    ap.add_argument("--max-chars", type=int, default=6000, help="only functions at most this long")
    ap.add_argument("--js-root", help="build from JavaScript functions with JSDoc under this folder instead "
                                      "(e.g. /usr/lib/node_modules: npm and its dependencies)")
    args = ap.parse_args()
    build(Path(args.out), args.queries, args.corpus, min_chars=args.min_chars, max_chars=args.max_chars,
          js_root=Path(args.js_root) if args.js_root else None)


if __name__ == "__main__":
    main()
