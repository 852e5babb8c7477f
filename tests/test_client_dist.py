"""toolrank-client, the client alone: built from clients/python, installed with --no-deps into a fresh venv that
has only grpcio, protobuf and grpcio-health-checking beside it, and talking to a real server.

The two wheels split the ``toolrank`` package between them (clients/python/client-files.txt): this also
checks that they own disjoint files, that together they are the whole package, and that the server
depends on the client. Builds are offline (``--no-build-isolation --no-index``), from a clean copy of
the sources (a ``build/`` folder left in the checkout would leak stale files into a wheel).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ROOT, ServerThread
from toolrank.settings import Settings

SERVER_ONLY = ("onnxruntime", "tokenizers", "numpy", "tree_sitter", "sqlglot", "fastapi", "uvicorn", "mcp", "redis",
               "cachetools", "pydantic", "prometheus_client")


def _build(source: Path, out: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(out), str(source)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both wheels, built from a clean copy of what they are built from."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "NOTICE"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    shutil.copytree(ROOT / "server", src / "server", ignore=ignore)
    shutil.copytree(ROOT / "clients", src / "clients", ignore=ignore)
    return {"client": _build(src / "clients" / "python", tmp_path_factory.mktemp("client-wheel")),
            "server": _build(src, tmp_path_factory.mktemp("server-wheel"))}


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as z:
        return z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()


def test_the_wheels_split_the_package(wheels: dict[str, Path]) -> None:
    client = {n for n in zipfile.ZipFile(wheels["client"]).namelist() if n.startswith("toolrank/")}
    server = {n for n in zipfile.ZipFile(wheels["server"]).namelist() if n.startswith("toolrank/")}
    assert not client & server, f"both wheels ship {sorted(client & server)[:5]}"
    assert {"toolrank/__init__.py", "toolrank/client/sync.py", "toolrank/v1/reranker_pb2.py"} <= client
    assert {"toolrank/engine/engine.py", "toolrank/normalize/dispatch.py", "toolrank/models/default/model.onnx"} <= server
    source = {p.relative_to(ROOT / "server").as_posix() for p in (ROOT / "server" / "toolrank").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    assert source == client | server, f"in neither wheel: {sorted(source - client - server)[:5]}"
    requires = [line.split(":", 1)[1].strip() for line in _metadata(wheels["client"]).splitlines()
                if line.startswith("Requires-Dist:")]
    assert sorted(r.split(">")[0].split("=")[0].split("<")[0] for r in requires) == \
        ["grpcio", "grpcio-health-checking", "protobuf"]
    assert "Requires-Dist: toolrank-client @ file:" in _metadata(wheels["server"])


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    running = ServerThread(replace(Settings(), store="memory://")).start()
    yield running
    running.stop()


CLIENT_SCRIPT = r"""
import importlib.util, json, sys
import toolrank
from toolrank import Code, Sql

heavy = [m for m in sys.argv[2].split(",") if importlib.util.find_spec(m) is not None]
with toolrank.Client(sys.argv[1]) as client:
    ranking = client.rerank("weather in Paris", [
        {"name": "get_weather", "description": "Current weather for a city"},
        Code("def send_email(to, body): ...", "python", id="mail"),
        Sql("CREATE TABLE forecasts (city TEXT, day DATE)", id="forecasts"),
        "a chocolate cake recipe"], return_text=True)
    tools = toolrank.expand_tools({"tools": [{"name": "read_file", "description": "Read a file"},
                                             {"name": "move_file", "description": "Move a file"}]})
    client.put_catalog("fs", tools)
    picked = client.select("fs", "rename a file", top_k=1)
    import pathlib
    pathlib.Path("src").mkdir()
    pathlib.Path("src", "mail.py").write_text("def send_email(to, body):\n    pass\n")
    folder = [f"{c.id}:{c.language}" for c in toolrank.candidates_from_folder("src")]
    print(json.dumps({"file": toolrank.__file__, "heavy": heavy, "top": ranking[0].index, "folder": folder,
                      "n": len(ranking), "picked": picked.ids, "health": client.health(),
                      "models": [m.name for m in client.info().models]}))
"""


def test_the_client_alone_talks_to_a_server(wheels: dict[str, Path], server: ServerThread, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                           "-q", str(wheels["client"])], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    # grpcio, protobuf and grpcio-health-checking (and grpcio's typing-extensions), taken from this environment
    deps = tmp_path / "deps"
    (deps / "google").mkdir(parents=True)
    for module in ("grpc", "grpc_health", "typing_extensions", "google.protobuf", "google._upb"):
        spec = importlib.util.find_spec(module)
        if spec is None:
            continue
        origin = Path(spec.submodule_search_locations[0] if spec.submodule_search_locations else spec.origin)
        (deps / Path(*module.split("."))).with_name(origin.name).symlink_to(origin)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "deps.pth").write_text(str(deps) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    run = subprocess.run([str(python), "-I", "-c", CLIENT_SCRIPT, server.address, ",".join(SERVER_ONLY)],
                         capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    assert out["file"].startswith(str(site)), "imported toolrank from somewhere else than the fresh venv"
    assert out["heavy"] == [], f"server libraries reachable from the client's venv: {out['heavy']}"
    assert out["top"] == 0 and out["n"] == 4 and out["picked"] == ["move_file"] and out["health"] is True
    assert out["models"] == ["all-MiniLM-L6-v2", "minilm-l6-tools-v1", "default"]  # the default server's stack
    assert out["folder"] == ["mail.py:python"]  # toolrank.readers and the extension table, without tree-sitter
