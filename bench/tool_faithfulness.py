"""Name+description word survival, tokens raw -> normalized, empties and fallbacks of a tool set.

    python bench/tool_faithfulness.py ../shared/data/tools-bfcl ../shared/data/tools-metatool

Survival: the share of the words (stopwords aside) of each tool's name and description that
appear in its normalized text, over all tools; tokens: the default model's tokenizer, no
special tokens, raw = the tool JSON as sent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from toolrank.candidates import candidate_from_json
from toolrank.normalize import normalize, raw_text
from toolrank.normalize.tool.faithful import words
from toolrank.normalize.tool.roles import DESCRIPTION_KEYS, NAME_KEYS, keymap
from toolrank.types import ToolInput

MODEL = Path(__file__).resolve().parent.parent / "server" / "toolrank" / "models" / "default" / "tokenizer.json"


def name_and_description(tool: object) -> str:
    """The words a tool is known by: every name- and description-role string at its top level."""
    if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
        tool = tool["function"]
    if not isinstance(tool, dict):
        return ""
    keys = keymap(tool)
    return " ".join(tool[keys[k]] for k in (*NAME_KEYS[:5], *DESCRIPTION_KEYS)
                    if k in keys and isinstance(tool[keys[k]], str))


def report(path: Path) -> str:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(MODEL))
    total = kept = tools = empty = fallbacks = 0
    raw_tokens = norm_tokens = 0
    for line in (path / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        cand = candidate_from_json(row, row["id"])
        if not isinstance(cand.content, ToolInput):
            continue
        out = normalize(cand.content)
        tools += 1
        empty += not out.text.strip()
        fallbacks += out.fallback
        wanted = words(name_and_description(row["tool"]))
        total += len(wanted)
        kept += len(wanted & words(out.text))
        raw_tokens += len(tokenizer.encode(raw_text(cand.content), add_special_tokens=False).ids)
        norm_tokens += len(tokenizer.encode(out.text, add_special_tokens=False).ids)
    survival = kept / total if total else 1.0
    return (f"{path.name:28} tools {tools:5}  name+description words kept {survival:6.1%}  empty {empty}  "
            f"fallbacks {fallbacks}  tokens/tool {raw_tokens / max(tools, 1):6.1f} -> {norm_tokens / max(tools, 1):6.1f} "
            f"({raw_tokens / max(norm_tokens, 1):.2f}x)")


def main(argv: list[str]) -> int:
    for arg in argv or ["../shared/data/tools-bfcl", "../shared/data/tools-metatool"]:
        print(report(Path(arg)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
