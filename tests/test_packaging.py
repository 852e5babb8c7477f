"""The repository's promises: Docker context, generated code, the README's commands, the wheel."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _dockerfile_copies(text: str) -> list[str]:
    """The sources of every COPY from the build context (not ``--from=`` another stage)."""
    sources = []
    for line in re.findall(r"^COPY\s+(.+)$", text, flags=re.M):
        words = [w for w in line.split() if not w.startswith("--")]
        if any(w.startswith("--from") for w in line.split()):
            continue
        sources.extend(words[:-1])
    return sources


def test_dockerfile_copies_only_what_exists():
    text = (ROOT / "Dockerfile").read_text()
    copies = _dockerfile_copies(text)
    assert copies, "Dockerfile copies nothing"
    for src in copies:
        assert (ROOT / src).exists(), f"Dockerfile copies {src}, which does not exist"
    assert re.search(r'"toolrank",\s*"serve"', text)


def test_dockerfile_shape():
    """Health via the gRPC health service, HTTP port from the environment, a numeric non-root user."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")  # join continued lines
    assert re.search(r"^HEALTHCHECK .*CMD toolrank health", text, flags=re.M)
    assert re.search(r"^ENV .*TOOLRANK_HTTP_PORT=", text, flags=re.M) and re.search(r"^EXPOSE .*8080", text, flags=re.M)
    assert "pip install" in text and not re.search(r"^COPY (?!--from)\S*\s+\S*models", text, flags=re.M)
    user = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert user and re.fullmatch(r"[1-9]\d*(:\d+)?", user[-1]), "USER must be numeric and not root"
    assert re.search(r"^ENV .*HOME=", text, flags=re.M)
    # Catalogs on a volume (they survive re-creating the container), the store pointing into it, and the
    # health check reading the address the server bound (not a port fixed at build time)
    (volume,) = re.findall(r'^VOLUME \["([^"]+)"\]', text, flags=re.M)
    store = re.search(r"TOOLRANK_STORE=sqlite:///(\S+)", text)
    assert store and store.group(1).startswith(volume + "/"), "the SQLite store must live on the VOLUME"
    assert text.index(f"chown 10001:10001 {volume}") < text.index("VOLUME"), "chown the volume before declaring it"
    assert re.search(r"^ENV .*TOOLRANK_ADDRESS_FILE=", text, flags=re.M)
    assert "TOOLRANK_PORT" not in text.split("HEALTHCHECK", 1)[1], "HEALTHCHECK must not assume the port"
    ignore = (ROOT / ".dockerignore").read_text().split()
    for must in (".git", ".venv", "tests", "bench", "work-models"):
        assert any(line.strip("/") == must for line in ignore), f".dockerignore lacks {must}"


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
    blocks = re.findall(r"## Test it\s+(?:<!--.*?-->\s+)?```sh\n(.+?)\n```", readme, flags=re.S)
    assert blocks, "README has no 'Test it' command"
    # each command of the README's line on a line of its own: under `set -e` a failure on the left of `&&`
    # would not stop the script (tests/ci/test_ci_script.py)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for command in re.split(r"\s*&&\s*|\n", blocks[0].strip()):
        assert command.strip() in ci_lines, f".ci/run does not run `{command.strip()}` as a step of its own"


def test_wheel_ships_the_default_model(tmp_path):
    # --no-build-isolation: build with this environment's setuptools, no download (tests use no network)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(out.stderr[-2000:])
    (wheel,) = tmp_path.glob("toolrank-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("model.onnx", "tokenizer.json", "config.json", "toolrank.json", "MODEL_CARD.md"):
        assert f"toolrank/models/default/{f}" in names
        assert f"toolrank/models/minilm-l6-tools-v1/{f}" in names  # the tool-tuned model (docs/training.md)
    assert "toolrank/v1/reranker_pb2.py" not in names  # toolrank-client ships it (tests/test_client_dist.py)
    # The licence and NOTICE (the bundled models' licences) travel in the wheel's metadata
    assert {"toolrank-0.1.0.dist-info/licenses/LICENSE", "toolrank-0.1.0.dist-info/licenses/NOTICE"} <= names
    metadata = zipfile.ZipFile(wheel).read("toolrank-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert not [n for n in names if n.startswith("toolrank/bench")], "checkout-only scripts live in bench/"
    assert "toolrank/client/__init__.py" not in names and "toolrank/engine/engine.py" in names  # the client: toolrank-client


def test_notice_names_every_bundled_model():
    """Each model directory shipped in the package has its entry in NOTICE, with the model's name and a licence."""
    notice = (ROOT / "NOTICE").read_text()
    entries = {block.strip().splitlines()[0]: block for block in notice.split("-" * 80)[1:] if block.strip()}
    bundled = [d for d in (ROOT / "server" / "toolrank" / "models").iterdir() if (d / "toolrank.json").is_file()]
    assert bundled, "no bundled model found"
    for model_dir in bundled:
        key = f"toolrank/models/{model_dir.name}"
        assert key in entries, f"NOTICE has no entry for {key}"
        name = json.loads((model_dir / "toolrank.json").read_text())["name"]
        assert name in entries[key] and "Licence:" in entries[key], f"NOTICE's {key} entry lacks the model or licence"


def test_license_is_apache_2():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text


def test_versions_that_change_output_have_upper_bounds():
    """Normalized text depends on sqlglot and the grammars, the HTTP guard on uvicorn: each has a tested range."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["toolrank"]["dependencies"]
    pinned = [d for d in deps if re.match(r"(sqlglot|tree-sitter|uvicorn)\b", d)]
    assert len(pinned) == 15, pinned  # sqlglot, tree-sitter, 12 grammars, uvicorn
    for dep in pinned:
        assert "<" in dep and ">=" in dep, f"{dep}: needs a lower and an upper bound"
