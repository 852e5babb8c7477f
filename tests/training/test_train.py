"""Two training steps on a tiny random BERT, then the default's export: runs only where torch is installed."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

torch = pytest.importorskip("torch", reason="the training smoke test needs the train extra: pip install -e '.[train]'")
transformers = pytest.importorskip("transformers", reason="the training smoke test needs the train extra")
pytest.importorskip("onnx", reason="the training smoke test needs the train extra")

from test_data import write_train_dir  # noqa: E402

TINY = ROOT / "tests" / "models" / "tiny-bert-bi"


def tiny_base(path: Path) -> Path:
    """A random BertModel with the tiny test tokenizer, saved like the packaged base (no download)."""
    config = transformers.BertConfig.from_pretrained(str(TINY))
    config.hidden_dropout_prob = 0.1  # dropout on, as in a real base: seeds must still make runs repeatable
    torch.manual_seed(0)
    transformers.BertModel(config, add_pooling_layer=False).save_pretrained(str(path))
    shutil.copyfile(TINY / "tokenizer.json", path / "tokenizer.json")
    return path


def run(tmp_path: Path, name: str, *extra: str) -> tuple[dict, Path]:
    from training import train

    args = train.parse_args([*extra, "--data", str(tmp_path / "train"), "--out", str(tmp_path / name),
                             "--work", str(tmp_path / f"{name}-work"), "--base", str(tmp_path / "base"),
                             "--sources", "alpha,beta", "--steps", "2", "--batch", "4", "--seed", "3", "--lr", "1e-3",
                             "--query-max", "32", "--tool-max", "64", "--threads", "1", "--device", "cpu"])
    return train.train(args), tmp_path / name


def test_two_steps_train_export_and_repeat(tmp_path: Path) -> None:
    write_train_dir(tmp_path / "train")
    tiny_base(tmp_path / "base")
    record, out = run(tmp_path, "one")
    again, _ = run(tmp_path, "two", "--merge", "0.5")

    assert {p.name for p in out.iterdir()} >= {"model.onnx", "tokenizer.json", "config.json", "toolrank.json",
                                                 "MODEL_CARD.md"}
    default = json.loads((ROOT / "server" / "toolrank" / "models" / "default" / "toolrank.json").read_text())
    manifest = json.loads((out / "toolrank.json").read_text())
    assert set(manifest) == set(default) and manifest["name"] == "minilm-l6-tools-v1"
    assert record["data"]["pairs"] == 7 and np.isfinite(record["loss"]["last10"])
    assert record["export"]["fp32_vs_torch_min"] > 0.9999
    card = (out / "MODEL_CARD.md").read_text()
    assert "InfoNCE" in card and "2 steps" in card and "| alpha |" in card

    # training moved the weights, and the same seed gives the same weights (and the same int8 graph)
    from safetensors.numpy import load_file

    base = load_file(str(tmp_path / "base" / "model.safetensors"))
    tuned = load_file(str(tmp_path / "one-work" / "hf-tuned" / "model.safetensors"))
    tuned2 = load_file(str(tmp_path / "two-work" / "hf-tuned" / "model.safetensors"))
    key = next(k for k in tuned if k.endswith("encoder.layer.0.attention.self.query.weight"))
    assert not np.allclose(base[key], tuned[key])
    assert all(np.array_equal(tuned[k], tuned2[k]) for k in tuned)
    assert again["loss"] == record["loss"]
    emb = next(k for k in tuned if k.endswith("word_embeddings.weight"))
    assert np.array_equal(base[emb], tuned[emb])  # token embeddings frozen by default

    # --merge 0.5 exports base + 0.5 x (tuned - base); no --merge exports the tuned weights
    merged = load_file(str(tmp_path / "two-work" / "hf" / "model.safetensors"))
    assert np.allclose(merged[key], base[key] + 0.5 * (tuned[key] - base[key]), atol=1e-6)
    exported = load_file(str(tmp_path / "one-work" / "hf" / "model.safetensors"))
    assert np.array_equal(exported[key], tuned[key])

    # the exported int8 graph loads in toolrank and embeds like the fp32 torch model
    from toolrank.models.loader import LoadedModel

    loaded = LoadedModel(out, threads=1)
    assert loaded.spec.kind == "bi-encoder"
