"""Fetch a catalog model from a Hugging Face hub into the local cache, with ``huggingface_hub``.

``hf_hub_download`` moves the bytes: the LFS redirect to the CDN, resuming an interrupted download
(its ``.incomplete`` file under ``<model dir>/.cache/huggingface/``), retries, the token (``HF_TOKEN``,
or a ``huggingface-cli login``), ``HF_ENDPOINT`` and offline mode (``HF_HUB_OFFLINE=1``: only what is
already in the folder, nothing asked of the network). toolrank adds what a served model needs: the
revision pinned by the catalog (or ``--revision``), one folder per catalog name holding one variant,
a sha256 check of every file (the catalog's checksum, else the hub's LFS etag: a mismatch deletes
the file and fails the pull), and last the ``toolrank.json`` manifest that makes the folder a model
directory for ``toolrank serve --model``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Mapping, TextIO

from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

import toolrank
from toolrank.errors import InvalidRequest, ToolrankError
from toolrank.models.known import DEFAULT_ENDPOINT, MANIFEST, CatalogEntry, find_entry, pulled_dir

CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PullError(ToolrankError):
    """A model file could not be fetched (HTTP error, network, offline without the file)."""


class ChecksumMismatch(PullError):
    """A downloaded file is not what the catalog or the hub says it is; it was deleted."""


def _etag_sha256(value: str | None) -> str | None:
    """An ETag that is a sha256 (the hub's LFS files), else None (git blob ids are sha1)."""
    if not value:
        return None
    tag = value.strip().removeprefix("W/").strip('"').lower()
    return tag if _SHA256.match(tag) else None


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def offline() -> bool:
    """``HF_HUB_OFFLINE`` (read now, not at import: a test or a shell may set it late)."""
    return hf_constants._is_true(os.environ.get("HF_HUB_OFFLINE")) or hf_constants.HF_HUB_OFFLINE


def _failure(exc: Exception, what: str) -> PullError:
    """One line for each way the hub can say no."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, GatedRepoError):
        return PullError(f"{what}: HTTP {status or 403} (a gated repository: accept its terms, set HF_TOKEN)")
    if isinstance(exc, (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError)) and not offline():
        return PullError(f"{what}: HTTP {status or 404} (no such repository, revision or file, or it needs HF_TOKEN)")
    if isinstance(exc, (OfflineModeIsEnabled, EntryNotFoundError)) or offline():
        return PullError(f"{what}: not in the local folder and HF_HUB_OFFLINE is set (pull once online)")
    if isinstance(exc, HfHubHTTPError):
        return PullError(f"{what}: HTTP {status}: {' '.join(str(exc).split())[:200]}")
    return PullError(f"{what}: {type(exc).__name__}: {exc}")


def pull(model: str | CatalogEntry, *, variant: str = "", cache_dir: str | os.PathLike[str] | None = None,
         endpoint: str = DEFAULT_ENDPOINT, revision: str = "", repo: str = "",
         progress: TextIO | None = sys.stderr, timeout: float = 60.0, token: str | None = None) -> Path:
    """Download a catalog model (by name or entry) and return its directory, ready to serve.

    ``revision`` and ``repo`` override the catalog's (a pinned commit, an ONNX mirror); ``token``
    overrides ``HF_TOKEN``. With ``HF_HUB_OFFLINE=1`` nothing is fetched: files already in the folder
    are checked and the manifest written, a missing one is an error.
    """
    entry = find_entry(model) if isinstance(model, str) else model
    variant = variant or entry.default_variant
    if variant not in entry.variants:
        raise InvalidRequest(f"{entry.name} has no variant {variant!r} (it has {', '.join(entry.variants)})")
    repo, revision = repo or entry.repo, revision or entry.revision
    target = pulled_dir(entry, cache_dir)
    target.mkdir(parents=True, exist_ok=True)
    files: dict[str, Mapping[str, Any]] = {}
    commit = ""
    no_network = offline()
    for path in (*entry.variants[variant], *entry.files):
        url = hf_hub_url(repo, path, revision=revision, endpoint=endpoint)
        expected = entry.sha256.get(path)
        try:
            if not no_network:
                meta = get_hf_file_metadata(url, token=token, timeout=timeout, endpoint=endpoint,
                                            user_agent=f"toolrank/{toolrank.__version__}")
                commit = commit or meta.commit_hash or ""
                expected = expected or _etag_sha256(meta.etag)
            local = Path(hf_hub_download(repo, path, revision=revision, local_dir=target, endpoint=endpoint,
                                         token=token, etag_timeout=timeout, local_files_only=no_network,
                                         user_agent=f"toolrank/{toolrank.__version__}"))
        except Exception as exc:  # noqa: BLE001 - every hub or network failure becomes one PullError line
            raise _failure(exc, f"{repo}/{path}@{revision}") from None
        digest = _sha256_of(local)
        if expected and digest != expected.lower():
            local.unlink(missing_ok=True)
            raise ChecksumMismatch(f"{path}: checksum mismatch: expected sha256 {expected}, got {digest}; the download "
                                   "was deleted (pull again; if it persists the mirror serves other bytes)")
        files[path] = {"sha256": digest, "size": local.stat().st_size}
        if progress is not None:
            progress.write(f"{path}: {local.stat().st_size / 1e6:.1f} MB, sha256 {digest[:12]}... ok\n")
    _drop_other_variants(entry, variant, target)
    manifest = {**entry.manifest(variant), "commit": commit, "revision": revision, "files": files}
    tmp = target / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, target / MANIFEST)
    return target


def _drop_other_variants(entry: CatalogEntry, variant: str, target: Path) -> None:
    """A pulled folder holds one variant, so the loader cannot pick a stale graph."""
    keep = set(entry.variants[variant])
    for other, paths in entry.variants.items():
        for path in paths:
            if other != variant and path not in keep:
                (target / path).unlink(missing_ok=True)
