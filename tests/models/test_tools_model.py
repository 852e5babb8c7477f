"""The tool-tuned model shipped beside the default (training/, docs/training.md): loadable by name."""

from __future__ import annotations

import json


def test_the_bundled_tool_model_resolves_by_name() -> None:
    from toolrank.models.known import bundled_model_dir, resolve_model_path
    from toolrank.models.loader import LoadedModel
    from toolrank.settings import DEFAULT_MODEL_DIR

    root = DEFAULT_MODEL_DIR.parent / "minilm-l6-tools-v1"
    assert resolve_model_path("minilm-l6-tools-v1") == str(root)
    assert bundled_model_dir("../minilm-l6-tools-v1") is None and bundled_model_dir("nope") is None
    assert resolve_model_path("no-such-model") == "no-such-model"
    manifest = json.loads((root / "toolrank.json").read_text())
    default = json.loads((DEFAULT_MODEL_DIR / "toolrank.json").read_text())
    assert set(manifest) == set(default) and manifest["name"] == "minilm-l6-tools-v1"
    model = LoadedModel(root, threads=1)
    assert model.spec.kind == "bi-encoder" and model.spec.max_length == 256
