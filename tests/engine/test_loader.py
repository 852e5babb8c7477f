"""Loading model directories: inference of kind, family and lengths; clear errors."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import TINY
from toolrank.errors import ModelLoadError
from toolrank.models.loader import LoadedModel


def test_jina_style_config_without_model_type(tmp_path):
    # jina-reranker-v2's config.json: architectures only, 1026 positions, no manifest.
    shutil.copytree(TINY / "tiny-xlmr-cross", tmp_path / "m")
    (tmp_path / "m" / "toolrank.json").unlink()
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config.pop("model_type", None)
    config["architectures"] = ["XLMRobertaForSequenceClassification"]
    config["max_position_embeddings"] = 1026
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    spec = LoadedModel(tmp_path / "m", threads=1).spec
    assert spec.family == "xlm-roberta"
    assert spec.kind == "cross-encoder" and spec.activation == "sigmoid"
    assert spec.max_length == 1024 and spec.max_query_length == 512


def test_onnx_under_onnx_folder(tmp_path):
    shutil.copytree(TINY / "tiny-bert-cross", tmp_path / "m")
    (tmp_path / "m" / "onnx").mkdir()
    (tmp_path / "m" / "model.onnx").rename(tmp_path / "m" / "onnx" / "model.onnx")
    model = LoadedModel(tmp_path / "m", threads=1)
    assert model.onnx_path.endswith("onnx/model.onnx")
    assert "token_type_ids" in model.input_names


def test_xlmr_graph_has_no_token_type_ids():
    model = LoadedModel(TINY / "tiny-xlmr-cross", threads=1)
    assert model.input_names == ["input_ids", "attention_mask"]
    assert model.template.pad_id == 1


@pytest.mark.parametrize("remove, message", [
    ("model.onnx", "no ONNX graph"),
    ("tokenizer.json", "no tokenizer.json"),
])
def test_missing_files_are_named(tmp_path, remove, message):
    shutil.copytree(TINY / "tiny-bert-cross", tmp_path / "m")
    (tmp_path / "m" / remove).unlink()
    with pytest.raises(ModelLoadError, match=message):
        LoadedModel(tmp_path / "m")


def test_corrupt_graph_is_a_load_error(tmp_path):
    shutil.copytree(TINY / "tiny-bert-cross", tmp_path / "m")
    (tmp_path / "m" / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(ModelLoadError, match="cannot load"):
        LoadedModel(tmp_path / "m")


def test_missing_directory():
    with pytest.raises(ModelLoadError, match="not found"):
        LoadedModel("/nonexistent/model")
