"""Build a cross-encoder of jina-reranker-v2's exact shape, with random weights, for benchmarks.

    python scripts/make_jina_shaped_model.py [--out work-models/jina-shaped] [--no-int8] [--no-hf]

Why: the real jina-reranker-v2 cannot be downloaded here, but its cost depends only on its
shape: XLM-R, 12 layers, hidden 768, 12 heads, intermediate 3072, vocabulary 250002,
1024 tokens (1026 position embeddings). Random seeded weights give the same FLOPs and
memory traffic, so speed measured on this model is the speed of the real one; its scores
are meaningless.

Writes (the directory is git-ignored; never commit it, rerun this script instead):

    OUT/model.onnx            fp32, torch.onnx.export(dynamo=False, opset 17), inputs
                              input_ids + attention_mask (int64, dynamic batch and sequence),
                              output logits [batch, 1]
    OUT/model_quantized.onnx  int8 (onnxruntime.quantization.quantize_dynamic, QInt8, per channel)
    OUT/tokenizer.json        SYNTHETIC: the default model's WordPiece vocabulary behind
                              XLM-R's special tokens (<s>=0, <pad>=1, </s>=2, <unk>=3), padded
                              with filler tokens to 250002 entries, RobertaProcessing
                              ``<s> A </s> </s> B </s>``; token counts are close to a real
                              subword tokenizer's, the ids are not XLM-R's
    OUT/config.json           model_type xlm-roberta, max_position_embeddings 1026, pad id 1
    OUT/toolrank.json         cross-encoder, sigmoid, max_length 1024, max_query_length 512
    OUT/int8/                 the same directory with the int8 graph as model.onnx (a model
                              dir that ``--model`` can serve as is)
    OUT/hf/                   the same weights and tokenizer in Hugging Face format, loadable
                              by ``sentence_transformers.CrossEncoder`` (baseline (b) of the bench)

Needs torch, transformers, onnx, onnxruntime, tokenizers: dev tools, never the server's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "work-models" / "jina-shaped"
DEFAULT_VOCAB_SOURCE = ROOT / "server" / "toolrank" / "models" / "default" / "tokenizer.json"

SEED = 0
OPSET = 17
VOCAB_SIZE = 250002
MAX_LENGTH = 1024
SHAPE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
MANIFEST = {
    "name": "jina-shaped",
    "kind": "cross-encoder",
    "activation": "sigmoid",
    "max_length": MAX_LENGTH,
    "max_query_length": 512,
}


def build_tokenizer(source: Path):
    """A WordPiece tokenizer with XLM-R's special ids and vocabulary size (synthetic)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    src = json.loads(source.read_text(encoding="utf-8"))
    words = [w for w, _ in sorted(src["model"]["vocab"].items(), key=lambda kv: kv[1])]
    vocab: dict[str, int] = {}
    for w in SPECIALS + [w for w in words if not (w.startswith("[") and w.endswith("]"))]:
        vocab.setdefault(w, len(vocab))
    filler = 0
    while len(vocab) < VOCAB_SIZE - 1:
        vocab.setdefault(f"<extra_{filler}>", len(vocab))
        filler += 1
    vocab["<mask>"] = VOCAB_SIZE - 1
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="<unk>", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(SPECIALS + ["<mask>"])
    return tok


def build_model():
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    torch.manual_seed(SEED)
    cfg = XLMRobertaConfig(vocab_size=VOCAB_SIZE, max_position_embeddings=MAX_LENGTH + 2, type_vocab_size=1,
                           pad_token_id=1, bos_token_id=0, eos_token_id=2, num_labels=1, **SHAPE)
    cfg._attn_implementation = "eager"
    model = XLMRobertaForSequenceClassification(cfg)
    model.config._attn_implementation = "eager"
    return model.eval()


def export_onnx(model, path: Path) -> None:
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):  # noqa: ANN001
            return self.model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).logits

    ids = torch.tensor([[0, 40, 41, 42, 2], [0, 43, 44, 2, 1]], dtype=torch.int64)
    mask = (ids != 1).to(torch.int64)
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(Wrapper().eval(), (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], opset_version=OPSET, do_constant_folding=True, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}})


def quantize(fp32: Path, int8: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True, reduce_range=False)


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--vocab-from", default=str(DEFAULT_VOCAB_SOURCE), help="a WordPiece tokenizer.json")
    ap.add_argument("--no-int8", action="store_true")
    ap.add_argument("--no-hf", action="store_true", help="skip the Hugging Face copy")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if not out.is_absolute():
        out = ROOT / out
    out.mkdir(parents=True, exist_ok=True)

    tok = build_tokenizer(Path(args.vocab_from))
    tok.save(str(out / "tokenizer.json"))
    model = build_model()
    config = model.config.to_dict()
    config["model_type"] = "xlm-roberta"
    write_json(out / "config.json", config)
    write_json(out / "toolrank.json", MANIFEST)
    print(f"exporting fp32 ONNX to {out / 'model.onnx'}", flush=True)
    export_onnx(model, out / "model.onnx")

    if not args.no_int8:
        print("quantizing to int8", flush=True)
        quantize(out / "model.onnx", out / "model_quantized.onnx")
        int8_dir = out / "int8"
        int8_dir.mkdir(exist_ok=True)
        for name in ("tokenizer.json", "config.json"):
            shutil.copy(out / name, int8_dir / name)
        write_json(int8_dir / "toolrank.json", dict(MANIFEST, name="jina-shaped-int8"))
        target = int8_dir / "model.onnx"
        if target.exists() or target.is_symlink():
            target.unlink()
        os.link(out / "model_quantized.onnx", target)

    if not args.no_hf:
        from transformers import PreTrainedTokenizerFast

        hf = out / "hf"
        model.save_pretrained(str(hf))
        PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=MAX_LENGTH, pad_token="<pad>",
                                unk_token="<unk>", bos_token="<s>", eos_token="</s>", cls_token="<s>",
                                sep_token="</s>", mask_token="<mask>").save_pretrained(str(hf))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
