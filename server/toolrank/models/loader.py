"""Load a model directory: ONNX graph, tokenizer, config and optional manifest.

A model directory holds ``model.onnx`` (or files under ``onnx/``),
``tokenizer.json``, ``config.json`` and optionally ``toolrank.json``::

    {"name": "...", "kind": "cross-encoder" | "bi-encoder",
     "activation": "sigmoid" | "none", "max_length": 1024, "max_query_length": 512,
     "pooling": "mean" | "cls", "query_instruction": "..."}

Anything the manifest leaves out is inferred: the kind from the graph's outputs
(``logits`` -> cross-encoder, hidden states -> bi-encoder), max lengths from
``config.json``. Input names always come from the graph. ``pooling`` and
``query_instruction`` concern bi-encoders only: how token states become one vector
(mean under the attention mask by default; ``cls`` takes the first token, as bge
does), and a prefix the engine puts before every query (Rerank's query, Select's
query and context turns), never before a candidate.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from toolrank.errors import ModelLoadError
from toolrank.types import BI_ENCODER, CROSS_ENCODER, ModelSpec

__all__ = ["BI_ENCODER", "CROSS_ENCODER", "LoadedModel", "ModelSpec", "PairTemplate", "find_onnx_file"]

POOLINGS = ("mean", "cls")

# Preferred ONNX files under onnx/, best first, per variant.
_ONNX_CANDIDATES = {
    "auto": ["model.onnx", "onnx/model.onnx", "onnx/model_quantized.onnx", "onnx/model_int8.onnx"],
    "fp32": ["model.onnx", "onnx/model.onnx"],
    "int8": ["model_quantized.onnx", "onnx/model_quantized.onnx", "onnx/model_int8.onnx", "onnx/model_qint8_avx2.onnx"],
}


@dataclass(frozen=True, slots=True)
class PairTemplate:
    """Special tokens around one or two sequences, read off the tokenizer's post-processor.

    A pair is ``prefix + query + middle + document + suffix``; a single sequence
    is ``single_prefix + text + single_suffix``. ``middle_first_segment`` counts
    the middle tokens that still belong to the first segment (token type 0).
    """

    prefix: tuple[int, ...]
    middle: tuple[int, ...]
    suffix: tuple[int, ...]
    single_prefix: tuple[int, ...]
    single_suffix: tuple[int, ...]
    middle_first_segment: int
    pad_id: int


def find_onnx_file(model_dir: Path, variant: str = "auto") -> Path:
    """The ONNX graph of a model directory, preferring ``variant``."""
    for rel in _ONNX_CANDIDATES.get(variant, _ONNX_CANDIDATES["auto"]):
        if (model_dir / rel).is_file():
            return model_dir / rel
    others = sorted((model_dir / "onnx").glob("*.onnx")) if (model_dir / "onnx").is_dir() else []
    if others:
        return others[0]
    raise ModelLoadError(f"no ONNX graph in {model_dir} (expected model.onnx or onnx/*.onnx)")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _template_from_tokenizer(tok: Tokenizer, config: dict[str, Any]) -> PairTemplate:
    """Find the special tokens by encoding marker texts with and without them."""
    a = tok.encode("a", add_special_tokens=False).ids
    b = tok.encode("b", add_special_tokens=False).ids
    pair = tok.encode("a", "b", add_special_tokens=True)
    single = tok.encode("a", add_special_tokens=True).ids
    ids, types = pair.ids, pair.type_ids
    i = _find(ids, a, 0)
    j = _find(ids, b, i + len(a))
    if i < 0 or j < 0:
        raise ModelLoadError("cannot read the pair template from tokenizer.json")
    middle = ids[i + len(a) : j]
    middle_types = types[i + len(a) : j]
    s = _find(single, a, 0)
    pad_id = config.get("pad_token_id")
    if not isinstance(pad_id, int):
        pad_id = next((t for t in (tok.token_to_id("[PAD]"), tok.token_to_id("<pad>")) if t is not None), 0)
    return PairTemplate(
        prefix=tuple(ids[:i]),
        middle=tuple(middle),
        suffix=tuple(ids[j + len(b) :]),
        single_prefix=tuple(single[:s]),
        single_suffix=tuple(single[s + len(a) :]),
        middle_first_segment=sum(1 for t in middle_types if t == 0),
        pad_id=int(pad_id),
    )


def model_family(config: dict[str, Any]) -> str:
    """``model_type``, else read off ``architectures`` (jina-reranker-v2's config has no model_type)."""
    if config.get("model_type"):
        return str(config["model_type"])
    arch = " ".join(str(a) for a in config.get("architectures") or []).lower()
    for marker, family in (("xlmroberta", "xlm-roberta"), ("roberta", "roberta"), ("bert", "bert")):
        if marker in arch:
            return family
    return "unknown"


def _find(haystack: list[int], needle: list[int], start: int) -> int:
    for k in range(start, len(haystack) - len(needle) + 1):
        if haystack[k : k + len(needle)] == needle:
            return k
    return -1


def session_options(threads: int) -> ort.SessionOptions:
    """Options for CPU serving: full graph optimization, intra-op threads = cores."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Chosen with bench/tune.py (README, "Performance": session settings): shapes change every
    # batch, so memory patterns never pay off; the arena helps; spinning threads steal cores.
    opts.enable_mem_pattern = False
    opts.enable_cpu_mem_arena = True
    # Idle intra-op threads spin by default, stealing the cores that normalization,
    # tokenization and gRPC need between batches (and other processes' cores): 2.2x slower.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return opts


class LoadedModel:
    """An ONNX session with its tokenizer and template: ids in, outputs out."""

    def __init__(self, model_dir: str | os.PathLike[str], name: str | None = None,
                 threads: int = 0, variant: str = "auto") -> None:
        root = Path(model_dir)
        if not root.is_dir():
            raise ModelLoadError(f"model directory not found: {root}")
        manifest = _read_json(root / "toolrank.json")
        config = _read_json(root / "config.json")
        tok_path = root / "tokenizer.json"
        if not tok_path.is_file():
            raise ModelLoadError(f"no tokenizer.json in {root}")
        try:
            self.tokenizer = Tokenizer.from_file(str(tok_path))
        except Exception as exc:  # tokenizers raises plain Exception
            raise ModelLoadError(f"cannot read {tok_path}: {exc}") from exc
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        onnx_path = find_onnx_file(root, variant)
        threads = threads or os.cpu_count() or 1
        try:
            self.session = ort.InferenceSession(
                str(onnx_path), session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelLoadError(f"cannot load {onnx_path}: {exc}") from exc
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        missing = {"input_ids", "attention_mask"} - set(self.input_names)
        if missing:
            raise ModelLoadError(f"{onnx_path} lacks inputs {sorted(missing)} (has {self.input_names})")
        self.template = _template_from_tokenizer(self.tokenizer, config)
        kind = manifest.get("kind") or (CROSS_ENCODER if "logits" in self.output_names else BI_ENCODER)
        if kind not in (CROSS_ENCODER, BI_ENCODER):
            raise ModelLoadError(f"{root}/toolrank.json: unknown kind {kind!r}")
        max_positions = int(config.get("max_position_embeddings", 512))
        family = model_family(config)
        if family in ("roberta", "xlm-roberta", "camembert"):
            max_positions -= 2  # RoBERTa-style position ids start after the pad id
        max_length = int(manifest.get("max_length") or min(max_positions, 8192))
        max_query = int(manifest.get("max_query_length") or (max_length // 2 if kind == CROSS_ENCODER else max_length))
        default_activation = "sigmoid" if kind == CROSS_ENCODER else "none"
        pooling = str(manifest.get("pooling") or "mean")
        if pooling not in POOLINGS:
            raise ModelLoadError(f"{root}/toolrank.json: pooling {pooling!r} (use {' or '.join(POOLINGS)})")
        instruction = manifest.get("query_instruction") or ""
        if not isinstance(instruction, str):
            raise ModelLoadError(f"{root}/toolrank.json: query_instruction must be a string")
        self.spec = ModelSpec(
            name=name or str(manifest.get("name") or root.name),
            path=str(root),
            kind=kind,
            activation=str(manifest.get("activation") or default_activation),
            max_length=max_length,
            max_query_length=min(max_query, max_length - 8 if kind == CROSS_ENCODER else max_length),
            family=family,
            pooling=pooling,
            query_instruction=instruction if kind == BI_ENCODER else "",
        )
        self.onnx_path = str(onnx_path)
        self._output = self._pick_output()

    def _pick_output(self) -> str:
        preferred = ("logits",) if self.spec.kind == CROSS_ENCODER else (
            "sentence_embedding", "last_hidden_state", "token_embeddings")
        for name in preferred:
            if name in self.output_names:
                return name
        return self.output_names[0]

    @property
    def pooled(self) -> bool:
        """True when the graph already returns one vector per sequence."""
        return self._output == "sentence_embedding"

    def query_text(self, query: str) -> str:
        """The text a bi-encoder embeds for a query: the manifest's instruction, then the query."""
        return self.spec.query_instruction + query if self.spec.query_instruction else query

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids without special tokens; the engine adds them per pair."""
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        """One forward pass: logits [batch, labels] or embeddings [batch, hidden]."""
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = token_type_ids
        out = self.session.run([self._output], feed)[0]
        if self.spec.kind == CROSS_ENCODER:
            return out.reshape(out.shape[0], -1).astype(np.float32)
        if out.ndim == 3 and self.spec.pooling == "cls":  # the first token's state (rows are right-padded)
            out = out[:, 0, :]
        elif out.ndim == 3:  # token states: mean under the attention mask
            mask = attention_mask[:, :, None].astype(np.float32)
            out = (out * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)
