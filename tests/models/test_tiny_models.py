"""The tiny test models agree with what torch computed when they were generated.

The models and their reference.json come from scripts/make_tiny_models.py. These tests
use only onnxruntime, tokenizers and numpy, like the server, and build attention_mask and
token_type_ids themselves from the reference ids.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
NAMES = ["tiny-bert-cross", "tiny-xlmr-cross", "tiny-bert-bi"]
ATOL = 1e-4


def load(name: str) -> tuple[Path, dict, dict, dict]:
    d = HERE / name
    read = lambda f: json.loads((d / f).read_text(encoding="utf-8"))  # noqa: E731
    return d, read("config.json"), read("toolrank.json"), read("reference.json")


def session(d: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(d / "model.onnx"), opts, providers=["CPUExecutionProvider"])


def feeds(sess: ort.InferenceSession, rows: list[list[int]], pad_id: int, sep_id: int) -> dict[str, np.ndarray]:
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
        first_sep = r.index(sep_id)
        types[i, first_sep + 1 : len(r)] = 1  # the second segment, BERT pairs only
    available = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {i.name: available[i.name] for i in sess.get_inputs()}


def sep_id_of(tok: Tokenizer) -> int:
    sep = tok.token_to_id("[SEP]")
    return sep if sep is not None else tok.token_to_id("</s>")


@pytest.mark.parametrize("name", NAMES)
def test_graph_contract(name: str) -> None:
    d, config, manifest, _ = load(name)
    sess = session(d)
    inputs = [i.name for i in sess.get_inputs()]
    if config["model_type"] == "bert":
        assert inputs == ["input_ids", "attention_mask", "token_type_ids"]
    else:
        assert config["model_type"] == "xlm-roberta"
        assert inputs == ["input_ids", "attention_mask"]
        assert config["pad_token_id"] == 1
    assert all(i.type == "tensor(int64)" for i in sess.get_inputs())
    output = "logits" if manifest["kind"] == "cross-encoder" else "last_hidden_state"
    assert [o.name for o in sess.get_outputs()] == [output]
    assert manifest["max_length"] == 128
    assert manifest["activation"] == ("sigmoid" if manifest["kind"] == "cross-encoder" else "none")


@pytest.mark.parametrize("name", NAMES)
def test_tokenizer_reproduces_reference_ids(name: str) -> None:
    d, _, manifest, ref = load(name)
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    for case in ref["cases"]:
        if manifest["kind"] == "cross-encoder":
            got = [e.ids for e in tok.encode_batch([(case["query"], doc) for doc in case["documents"]])]
            assert tok.encode(case["query"], add_special_tokens=False).ids == case["query_ids"]
            assert [tok.encode(doc, add_special_tokens=False).ids for doc in case["documents"]] == case["document_ids"]
        else:
            got = [e.ids for e in tok.encode_batch(case["texts"])]
        assert got == case["input_ids"]


@pytest.mark.parametrize("name", NAMES)
def test_onnx_matches_torch_reference(name: str) -> None:
    d, config, manifest, ref = load(name)
    sess = session(d)
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    pad_id, sep_id = config["pad_token_id"], sep_id_of(tok)
    checked = 0
    for case in ref["cases"]:
        if case.get("long"):
            assert all(len(r) > manifest["max_length"] for r in case["input_ids"])
            continue
        out = sess.run(None, feeds(sess, case["input_ids"], pad_id, sep_id))[0]
        if manifest["kind"] == "cross-encoder":
            np.testing.assert_allclose(out, np.array(case["logits"]), atol=ATOL, rtol=0)
        else:
            mask = np.zeros(out.shape[:2], dtype=np.float32)
            for i, r in enumerate(case["input_ids"]):
                mask[i, : len(r)] = 1
            pooled = (out * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            emb = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
            np.testing.assert_allclose(emb, np.array(case["embeddings"]), atol=ATOL, rtol=0)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("name", NAMES)
def test_references_cover_padding_and_a_long_document(name: str) -> None:
    _, _, _, ref = load(name)
    lengths = [sorted({len(r) for r in c["input_ids"]}) for c in ref["cases"] if not c.get("long")]
    assert any(len(ls) > 1 for ls in lengths), "no batch with different lengths"
    assert any(c.get("long") for c in ref["cases"]), "no document longer than the window"


def test_tiny_models_stay_small() -> None:
    total = sum(p.stat().st_size for name in NAMES for p in (HERE / name).iterdir() if p.is_file())
    assert total < 2 * 1024 * 1024
