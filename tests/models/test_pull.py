"""`toolrank models pull` (huggingface_hub underneath, through HF_ENDPOINT) against a fake hub on loopback.

The fake hub answers ``/{repo}/resolve/{revision}/{file}`` like the real one:
LFS files (``*.onnx*``) redirect to a CDN URL, with ``X-Linked-Etag`` (their
sha256), ``X-Linked-Size`` and ``X-Repo-Commit`` on the redirect; other files
come straight back with a git-style sha1 ETag. It honours Range requests, and
can cut a response mid-body or lie about a checksum. It records each request's
method, path, Range and Authorization.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from toolrank import cli
from toolrank.errors import UnknownModel
from toolrank.models.known import CatalogEntry, find_entry, is_pulled, resolve_model_path
from toolrank.models.pull import ChecksumMismatch, PullError, pull

TINY = Path(__file__).resolve().parent / "tiny-bert-cross"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}  # "repo/path" -> bytes
        self.cut: dict[str, int] = {}  # "repo/path" -> bytes sent before the connection drops (once)
        self.lie_sha: dict[str, str] = {}  # "repo/path" -> sha256 the hub claims
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, Range
        self.auth: list[str | None] = []  # the Authorization header of each request
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                hub.requests.append((self.command, self.path, self.headers.get("Range")))
                hub.auth.append(self.headers.get("Authorization"))
                path = self.path.lstrip("/")
                if path.startswith("cdn/"):
                    return self._body(path[4:], head)
                parts = path.split("/")
                if len(parts) < 5 or parts[2] != "resolve":
                    return self.send_error(404)
                key = "/".join(parts[:2] + parts[4:])
                if key not in hub.files:
                    return self.send_error(404)
                if key.split("/")[-1].find(".onnx") >= 0:  # LFS: redirect with the linked metadata
                    data = hub.files[key]
                    self.send_response(302)
                    # another host, like the real CDN (huggingface_hub follows same-host redirects itself)
                    self.send_header("Location", f"{hub.endpoint.replace('127.0.0.1', 'localhost')}/cdn/{key}")
                    self.send_header("X-Linked-Etag", f'"{hub.lie_sha.get(key) or hashlib.sha256(data).hexdigest()}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                    self.send_header("X-Repo-Commit", COMMIT)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._body(key, head, etag=hashlib.sha1(hub.files[key]).hexdigest())

            def _body(self, key: str, head: bool, etag: str | None = None) -> None:
                data = hub.files.get(key)
                if data is None:
                    return self.send_error(404)
                start, status = 0, 200
                rng = self.headers.get("Range")
                if rng:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    status = 206
                body = data[start:]
                self.send_response(status)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", f'"{etag or hashlib.sha256(data).hexdigest()}"')
                self.send_header("X-Repo-Commit", COMMIT)
                self.end_headers()
                if head:
                    return
                cut = hub.cut.pop(key, None)
                self.wfile.write(body if cut is None else body[:cut])
                self.wfile.flush()
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add_repo(self, repo: str, files: dict[str, bytes]) -> None:
        for path, data in files.items():
            self.files[f"{repo}/{path}"] = data


@pytest.fixture()
def hub() -> Iterator[FakeHub]:
    h = FakeHub()
    h.thread.start()
    yield h
    h.server.shutdown()
    h.server.server_close()


def _tiny_files(graph_path: str = "onnx/model.onnx") -> dict[str, bytes]:
    """The tiny cross-encoder's files when present, else throwaway bytes of the same layout."""
    if (TINY / "model.onnx").is_file():
        return {graph_path: (TINY / "model.onnx").read_bytes(), "tokenizer.json": (TINY / "tokenizer.json").read_bytes(),
                "config.json": (TINY / "config.json").read_bytes()}
    return {graph_path: bytes(range(256)) * 600, "tokenizer.json": b"{}", "config.json": b"{}"}


ENTRY = CatalogEntry(name="tiny-test", repo="test-org/tiny-test", license="Apache-2.0", kind="cross-encoder",
                     family="bert", max_length=128, max_query_length=64, activation="sigmoid",
                     variants={"fp32": ("onnx/model.onnx",), "int8": ("onnx/model_quantized.onnx",)},
                     default_variant="fp32")


def test_pull_fetches_verifies_and_writes_a_manifest(hub, tmp_path):
    files = _tiny_files()
    hub.add_repo(ENTRY.repo, files)
    out = io.StringIO()
    path = pull(ENTRY, cache_dir=tmp_path, endpoint=hub.endpoint, progress=out)
    assert path == tmp_path / "tiny-test"
    for name, data in files.items():
        assert (path / name).read_bytes() == data
    assert not list(path.rglob("*.part"))
    manifest = json.loads((path / "toolrank.json").read_text())
    assert manifest["kind"] == "cross-encoder" and manifest["max_length"] == 128 and manifest["commit"] == COMMIT
    assert manifest["files"]["onnx/model.onnx"]["sha256"] == hashlib.sha256(files["onnx/model.onnx"]).hexdigest()
    sha = hashlib.sha256(files["onnx/model.onnx"]).hexdigest()
    assert f"onnx/model.onnx: 0.2 MB, sha256 {sha[:12]}... ok" in out.getvalue()
    gets = [p for m, p, _ in hub.requests if m == "GET"]
    heads = [p for m, p, _ in hub.requests if m == "HEAD"]
    assert "/test-org/tiny-test/resolve/main/onnx/model.onnx" in heads and "/cdn/test-org/tiny-test/onnx/model.onnx" in gets
    assert is_pulled(ENTRY, tmp_path)

    # pulling again downloads nothing
    hub.requests.clear()
    pull(ENTRY, cache_dir=tmp_path, endpoint=hub.endpoint, progress=None)
    assert not [r for r in hub.requests if r[0] == "GET"]


@pytest.mark.skipif(not (TINY / "model.onnx").is_file(), reason="tiny test models not generated")
def test_pulled_directory_loads_as_a_model(hub, tmp_path):
    from toolrank.models.loader import LoadedModel

    hub.add_repo(ENTRY.repo, _tiny_files())
    path = pull(ENTRY, cache_dir=tmp_path, endpoint=hub.endpoint, progress=None)
    model = LoadedModel(path, threads=1)
    assert model.spec.name == "tiny-test" and model.spec.kind == "cross-encoder" and model.spec.max_length == 128
    assert model.onnx_path.endswith("onnx/model.onnx")


def test_an_interrupted_download_is_retried_to_the_whole_file(hub, tmp_path):
    files = _tiny_files()
    hub.add_repo(ENTRY.repo, files)
    size = len(files["onnx/model.onnx"])
    hub.cut[f"{ENTRY.repo}/onnx/model.onnx"] = size // 3  # the first transfer stops a third of the way
    path = pull(ENTRY, cache_dir=tmp_path, endpoint=hub.endpoint, progress=None)
    assert (path / "onnx/model.onnx").read_bytes() == files["onnx/model.onnx"]
    cdn_gets = [p for m, p, _ in hub.requests if m == "GET" and p.startswith("/cdn/")]
    assert cdn_gets.count("/cdn/test-org/tiny-test/onnx/model.onnx") == 2  # cut, then whole
    assert not list(path.rglob("*.incomplete"))


def test_revision_pinning_and_token(hub, tmp_path, monkeypatch):
    """--revision (or the catalog's) is the path the hub sees; HF_TOKEN travels as a bearer token."""
    hub.add_repo(ENTRY.repo, _tiny_files())
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    path = pull(ENTRY, cache_dir=tmp_path, endpoint=hub.endpoint, progress=None, revision=COMMIT)
    resolved = {p for m, p, _ in hub.requests if "/resolve/" in p}
    assert resolved and all(f"/resolve/{COMMIT}/" in p for p in resolved)
    to_hub = {a for (m, p, _), a in zip(hub.requests, hub.auth) if not p.startswith("/cdn/")}
    to_cdn = {a for (m, p, _), a in zip(hub.requests, hub.auth) if p.startswith("/cdn/")}
    assert to_hub == {"Bearer hf_test_token"} and to_cdn == {None}  # the token never leaves for the CDN
    assert json.loads((path / "toolrank.json").read_text())["revision"] == COMMIT


def test_offline_mode_uses_the_folder_and_never_the_network(hub, tmp_path, monkeypatch):
    hub.add_repo(ENTRY.repo, _tiny_files())
    pull(ENTRY, cache_dir=tmp_path, endpoint=hub.endpoint, progress=None)
    hub.requests.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = pull(ENTRY, cache_dir=tmp_path, endpoint=hub.endpoint, progress=None)
    assert is_pulled(ENTRY, tmp_path) and path == tmp_path / "tiny-test"
    assert hub.requests == []
    with pytest.raises(PullError, match="HF_HUB_OFFLINE is set"):
        pull(ENTRY, cache_dir=tmp_path / "empty", endpoint=hub.endpoint, progress=None)
    assert hub.requests == []


def test_checksum_mismatch_is_refused(hub, tmp_path):
    hub.add_repo(ENTRY.repo, _tiny_files())
    hub.lie_sha[f"{ENTRY.repo}/onnx/model.onnx"] = "ab" * 32
    with pytest.raises(ChecksumMismatch, match="checksum mismatch.*expected sha256 abab"):
        pull(ENTRY, cache_dir=tmp_path, endpoint=hub.endpoint, progress=None)
    graph_dir = tmp_path / "tiny-test" / "onnx"
    assert not (graph_dir / "model.onnx").exists() and not (graph_dir / "model.onnx.part").exists()
    assert not is_pulled(ENTRY, tmp_path)


def test_catalog_checksum_wins(hub, tmp_path):
    hub.add_repo(ENTRY.repo, _tiny_files())
    pinned = CatalogEntry(**{**ENTRY.__dict__, "sha256": {"config.json": "00" * 32}})
    with pytest.raises(ChecksumMismatch, match="config.json"):
        pull(pinned, cache_dir=tmp_path, endpoint=hub.endpoint, progress=None)


def test_missing_file_and_unknown_names(hub, tmp_path):
    with pytest.raises(PullError, match="HTTP 404"):
        pull(ENTRY, cache_dir=tmp_path, endpoint=hub.endpoint, progress=None)
    with pytest.raises(UnknownModel, match="unknown model 'no-such-model'.*jina-reranker-v2-base-multilingual"):
        pull("no-such-model", cache_dir=tmp_path, endpoint=hub.endpoint)
    with pytest.raises(Exception, match="no variant 'fp16'"):
        pull(ENTRY, variant="fp16", cache_dir=tmp_path, endpoint=hub.endpoint)


def test_catalog_entries():
    jina = find_entry("jinaai/jina-reranker-v2-base-multilingual")
    assert jina.license == "CC-BY-NC-4.0" and jina.max_length == 1024 and jina.max_query_length == 512
    assert find_entry("all-minilm-l6-v2").embedded
    assert find_entry("bge-reranker-v2-m3").license == "Apache-2.0"
    assert find_entry("ms-marco-MiniLM-L6-v2").kind == "cross-encoder"


def test_cli_pull_list_and_serve_by_name(hub, tmp_path, monkeypatch, capsys):
    entry = find_entry("ms-marco-MiniLM-L6-v2")
    hub.add_repo(entry.repo, _tiny_files(entry.variants["int8"][0]))
    monkeypatch.setenv("TOOLRANK_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("HF_ENDPOINT", raising=False)

    assert cli.main(["models", "pull", "ms-marco-MiniLM-L6-v2", "--endpoint", hub.endpoint]) == 0
    assert "toolrank serve --model ms-marco-MiniLM-L6-v2" in capsys.readouterr().out
    target = tmp_path / "ms-marco-MiniLM-L6-v2"
    assert (target / "onnx/model_qint8_avx2.onnx").is_file()
    assert json.loads((target / "toolrank.json").read_text())["variant"] == "int8"

    assert cli.main(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["ms-marco-MiniLM-L6-v2"]["status"] == "pulled"
    assert rows["all-MiniLM-L6-v2"]["status"] == "embedded"
    assert rows["jina-reranker-v2-base-multilingual"]["status"] == "-"
    assert rows["jina-reranker-v2-base-multilingual"]["license"] == "CC-BY-NC-4.0"
    assert cli.main(["models", "list"]) == 0
    assert "CC-BY-NC-4.0" in capsys.readouterr().out

    settings = cli._settings(cli.build_parser().parse_args(["serve", "--model", "ms-marco-MiniLM-L6-v2"]))
    assert settings.models == (("", str(target)),)
    assert resolve_model_path("jina-reranker-v2-base-multilingual", tmp_path) == "jina-reranker-v2-base-multilingual"

    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)  # the endpoint also comes from HF_ENDPOINT
    assert cli.main(["models", "pull", "jina-reranker-v2-base-multilingual"]) == 1
    assert "HTTP 404" in capsys.readouterr().err
    assert cli.main(["models", "pull", "nope"]) == 1
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert cli.main(["models", "pull", "all-MiniLM-L6-v2"]) == 0
    assert "embedded" in capsys.readouterr().out
