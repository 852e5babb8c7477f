"""Fetch a catalog model from a Hugging Face hub into the local cache (stdlib only).

Files come from ``{endpoint}/{repo}/resolve/{revision}/{file}``. Each one
downloads into ``<file>.part``; an interrupted download resumes from there
with an HTTP Range request (a few times in one pull, and again on the next
pull). A finished file must have the size the hub announced and, where a
checksum is known (the catalog, or the hub's ``X-Linked-Etag``, which is the
sha256 of an LFS file), that sha256; otherwise the part is deleted and the pull
fails. Last, ``toolrank.json`` is written, which makes the folder a model
directory for ``toolrank serve --model``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, TextIO
from urllib.parse import quote

import toolrank
from toolrank.errors import InvalidRequest, ToolrankError
from toolrank.models.catalog import DEFAULT_ENDPOINT, MANIFEST, CatalogEntry, find_entry, pulled_dir

CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PullError(ToolrankError):
    """A model file could not be fetched (HTTP error, network, interrupted too often)."""


class ChecksumMismatch(PullError):
    """A downloaded file is not what the catalog or the hub says it is; it was deleted."""


class _Interrupted(Exception):
    """The transfer stopped early; the .part file keeps what arrived."""


@dataclass(frozen=True)
class RemoteFile:
    """What the hub says about a file before sending it."""

    size: int | None = None
    sha256: str | None = None
    commit: str | None = None


def _etag_sha256(value: str | None) -> str | None:
    """An ETag that is a sha256 (the hub's LFS files), else None (git blob ids are sha1)."""
    if not value:
        return None
    tag = value.strip().removeprefix("W/").strip('"').lower()
    return tag if _SHA256.match(tag) else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _headers() -> dict[str, str]:
    return {"User-Agent": f"toolrank/{toolrank.__version__}", "Accept-Encoding": "identity"}


def head(url: str, timeout: float = 30.0) -> RemoteFile:
    """The hub's metadata for a file, read off the first response (the LFS redirect carries it)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=_headers(), method="HEAD")
    redirected = False
    try:
        with opener.open(request, timeout=timeout) as resp:
            headers = resp.headers
    except urllib.error.HTTPError as exc:
        if exc.code in (301, 302, 303, 307, 308):
            headers, redirected = exc.headers, True
        elif exc.code in (401, 403, 404):
            raise PullError(f"{url}: HTTP {exc.code} (no such file or revision, or a gated repository)") from None
        else:
            return RemoteFile()  # some mirrors refuse HEAD: go on without metadata
    except (urllib.error.URLError, OSError) as exc:
        raise PullError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    # On a redirect, Content-Length is the redirect's own body: only X-Linked-Size counts.
    size = headers.get("X-Linked-Size") or (None if redirected else headers.get("Content-Length"))
    sha = _etag_sha256(headers.get("X-Linked-Etag")) or _etag_sha256(headers.get("ETag"))
    return RemoteFile(int(size) if size and size.isdigit() else None, sha, headers.get("X-Repo-Commit"))


class _Progress:
    """One line on ``stream`` per file, redrawn at most five times a second."""

    def __init__(self, stream: TextIO | None, label: str, total: int | None) -> None:
        self.stream, self.label, self.total = stream, label, total
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, done: int, start: int, final: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.2:
            return
        self.last = now
        rate = (done - start) / max(now - self.started, 1e-3) / 1e6
        if self.total:
            pct = 100 * done / self.total
            width = 24
            bar = "#" * int(width * done / self.total)
            line = f"{self.label} [{bar:<{width}}] {pct:5.1f}% {done / 1e6:.1f}/{self.total / 1e6:.1f} MB"
        else:
            line = f"{self.label} {done / 1e6:.1f} MB"
        self.stream.write(f"\r{line} {rate:.1f} MB/s" + ("\n" if final else ""))
        self.stream.flush()


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _range_start_total(content_range: str | None) -> tuple[int | None, int | None]:
    """``bytes 10-99/100`` -> (10, 100); ``bytes */100`` -> (None, 100)."""
    m = re.match(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", content_range or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return start, total


def _finish(part: Path, dest: Path, expected_sha256: str | None, label: str) -> str:
    digest = _sha256_of(part)
    if expected_sha256 and digest != expected_sha256.lower():
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(f"{label}: checksum mismatch: expected sha256 {expected_sha256}, got {digest}; "
                               "the download was deleted (pull again; if it persists the mirror serves other bytes)")
    os.replace(part, dest)
    return digest


def _download_once(url: str, dest: Path, part: Path, size: int | None, sha256: str | None,
                   progress: TextIO | None, timeout: float, label: str) -> str:
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    headers = _headers()
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing after offset: the part may be whole already
            _, total = _range_start_total(exc.headers.get("Content-Range"))
            if offset == (total if total is not None else size):
                return _finish(part, dest, sha256, label)
            part.unlink()
            raise _Interrupted("range refused; starting over") from None
        raise PullError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise _Interrupted(str(getattr(exc, "reason", exc))) from None
    with resp:
        if resp.status == 206:
            start, total = _range_start_total(resp.headers.get("Content-Range"))
            if start != offset:
                part.unlink()
                raise _Interrupted(f"server resumed at {start}, not {offset}; starting over")
            mode = "ab"
        else:
            offset, mode, total = 0, "wb", None
        length = resp.headers.get("Content-Length")
        if total is None and length and length.isdigit():
            total = offset + int(length)
        if size is not None and total is not None and total != size:
            raise PullError(f"{label}: the hub announced {size} bytes but sends {total}")
        total = total if total is not None else size
        bar = _Progress(progress, label, total)
        done = offset
        try:
            with open(part, mode) as f:
                while chunk := resp.read(CHUNK):
                    f.write(chunk)
                    done += len(chunk)
                    bar.update(done, offset)
        except (http.client.HTTPException, OSError) as exc:
            raise _Interrupted(f"{type(exc).__name__}: {exc}") from None
    if total is not None and done != total:
        raise _Interrupted(f"connection closed after {done} of {total} bytes")
    bar.update(done, offset, final=True)
    return _finish(part, dest, sha256, label)


def download_file(url: str, dest: Path, *, size: int | None = None, sha256: str | None = None,
                  progress: TextIO | None = None, timeout: float = 60.0, retries: int = 3,
                  label: str = "") -> str:
    """Fetch ``url`` into ``dest`` via ``dest.part``, resuming after interruptions; the file's sha256."""
    label = label or dest.name
    part = dest.with_name(dest.name + ".part")
    if dest.is_file() and (size is None or dest.stat().st_size == size):
        digest = _sha256_of(dest)
        if sha256 is None or digest == sha256.lower():
            return digest  # already here
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries + 1):
        try:
            return _download_once(url, dest, part, size, sha256, progress, timeout, label)
        except _Interrupted as exc:
            if progress is not None:
                progress.write(f"\n{label}: interrupted ({exc}); resuming\n" if attempt < retries else "\n")
            if attempt == retries:
                raise PullError(f"{label}: download interrupted {retries + 1} times ({exc}); "
                                f"run the pull again to resume from {part}") from None
            time.sleep(min(0.5 * 2 ** attempt, 5.0))
    raise AssertionError("unreachable")


def file_url(endpoint: str, repo: str, revision: str, path: str) -> str:
    return f"{endpoint.rstrip('/')}/{repo}/resolve/{quote(revision, safe='')}/{quote(path)}"


def pull(model: str | CatalogEntry, *, variant: str = "", cache_dir: str | os.PathLike[str] | None = None,
         endpoint: str = DEFAULT_ENDPOINT, revision: str = "", repo: str = "",
         progress: TextIO | None = sys.stderr, timeout: float = 60.0, retries: int = 3) -> Path:
    """Download a catalog model (by name or entry) and return its directory, ready to serve.

    ``revision`` and ``repo`` override the catalog's (a pinned commit, an ONNX mirror).
    """
    entry = find_entry(model) if isinstance(model, str) else model
    variant = variant or entry.default_variant
    if variant not in entry.variants:
        raise InvalidRequest(f"{entry.name} has no variant {variant!r} (it has {', '.join(entry.variants)})")
    repo, revision = repo or entry.repo, revision or entry.revision
    target = pulled_dir(entry, cache_dir)
    target.mkdir(parents=True, exist_ok=True)
    files: dict[str, Mapping[str, Any]] = {}
    commit = None
    for path in (*entry.variants[variant], *entry.files):
        url = file_url(endpoint, repo, revision, path)
        remote = head(url, timeout)
        digest = download_file(url, target / path, size=remote.size,
                               sha256=entry.sha256.get(path) or remote.sha256,
                               progress=progress, timeout=timeout, retries=retries, label=path)
        files[path] = {"sha256": digest, "size": (target / path).stat().st_size}
        commit = commit or remote.commit
    _drop_other_variants(entry, variant, target)
    manifest = {**entry.manifest(variant), "commit": commit or "", "files": files}
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
