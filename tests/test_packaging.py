"""The repository's promises: Docker context, generated code, the README's commands, the wheel."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_dockerfile_copies_only_what_exists():
    text = (ROOT / "Dockerfile").read_text()
    copies = re.findall(r"^COPY\s+(.+?)\s+\S+\s*$", text, flags=re.M)
    assert copies, "Dockerfile copies nothing"
    for line in copies:
        for src in line.split():
            assert (ROOT / src).exists(), f"Dockerfile copies {src}, which does not exist"
    assert re.search(r'"toolrank",\s*"serve"', text)


def test_generated_proto_code_is_reproducible(tmp_path):
    from grpc_tools import protoc

    protos = [str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto")]
    code = protoc.main(["grpc_tools.protoc", f"-I{ROOT / 'proto'}", f"--python_out={tmp_path}",
                        f"--pyi_out={tmp_path}", f"--grpc_python_out={tmp_path}", *protos])
    assert code == 0
    for generated in (tmp_path / "toolrank" / "v1").glob("*.py*"):
        committed = ROOT / "server" / "toolrank" / "v1" / generated.name
        assert committed.read_text() == generated.read_text(), f"{committed} is stale: run scripts/gen_proto.py"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"## Test it\s+```sh\n(.+?)\n```", readme, flags=re.S)
    assert blocks, "README has no 'Test it' command"
    assert blocks[0].strip() in (ROOT / ".ci" / "run").read_text()


def test_wheel_ships_the_default_model(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(out.stderr[-2000:])
    (wheel,) = tmp_path.glob("toolrank-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("model.onnx", "tokenizer.json", "config.json", "toolrank.json", "MODEL_CARD.md"):
        assert f"toolrank/models/default/{f}" in names
    assert "toolrank/v1/reranker_pb2.py" in names
