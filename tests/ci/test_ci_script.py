""".ci/run fails when any step fails, and the service-needing tests fail (not skip) under CI=true.

The script runs for real, in a copy of its folder layout, with ``python3`` on PATH replaced by a fake that
builds a fake virtual environment whose ``pip``/``python``/``ruff``/``mypy`` log their arguments and fail on
demand: so each step's failure is checked in a second, without installing anything.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_TOOL = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$CI_FAKE_LOG"
case "$(basename "$0") $*" in
  *"$CI_FAKE_FAIL"*) [ -n "$CI_FAKE_FAIL" ] && exit 3 ;;
esac
exit 0
"""

FAKE_PYTHON3 = """#!/usr/bin/env bash
# python3 -m venv DIR: a venv whose activate puts the fake tools first on PATH
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  echo "export PATH=\\"$CI_FAKE_BIN:\\$PATH\\"" > "$3/bin/activate"
  exit 0
fi
exit 9
"""


def write_exe(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run_ci(tmp_path: Path, fail: str) -> tuple[int, list[str]]:
    tree = tmp_path / "tree"
    (tree / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", tree / ".ci" / "run")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("python", "pip", "ruff", "mypy", "mkdocs"):
        write_exe(bin_ / tool, FAKE_TOOL)
    first = tmp_path / "first"
    first.mkdir()
    write_exe(first / "python3", FAKE_PYTHON3)
    log = tmp_path / "log"
    env = {**os.environ, "PATH": f"{first}:{os.environ['PATH']}", "CI_FAKE_BIN": str(bin_),
           "CI_FAKE_LOG": str(log), "CI_FAKE_FAIL": fail}
    done = subprocess.run(["bash", str(tree / ".ci" / "run")], env=env, capture_output=True, timeout=60)
    return done.returncode, log.read_text().splitlines() if log.exists() else []


def test_ci_passes_when_every_step_passes(tmp_path: Path) -> None:
    rc, steps = run_ci(tmp_path, fail="")
    assert rc == 0
    assert any(s.startswith("python -m pytest") for s in steps)
    assert [s.split()[0] for s in steps if s.split()[0] in ("mypy", "mkdocs")] == ["mypy", "mkdocs"]
    assert steps[-1].startswith("python -m pytest tests/training")


@pytest.mark.parametrize("fail", ["pip install -e .[test]", "python -m pytest", "pip install --quiet -e .[test-langchain]",
                                  "python -m pytest tests/api/test_http.py", "ruff check", "mypy",
                                  "pip install --quiet -e .[docs]", "mkdocs build --strict",
                                  "pip install --quiet -e .[train]", "python -m pytest tests/training"])
def test_every_failing_step_fails_ci(tmp_path: Path, fail: str) -> None:
    rc, steps = run_ci(tmp_path, fail=fail)
    assert rc != 0, f"CI passed although `{fail}` failed; steps run: {steps}"
    assert any(fail in s for s in steps), steps


def test_ci_exports_ci_true() -> None:
    text = (ROOT / ".ci" / "run").read_text()
    assert "export CI=true" in text


REDIS_CONSUMER = """
import pytest
from redis_helpers import redis_url_fixture  # noqa: F401

def test_needs_redis(redis_url):
    pass
"""


@pytest.mark.parametrize("ci,outcome", [("true", "1 error"), ("", "1 skipped")])
def test_missing_redis_fails_under_ci_and_skips_locally(tmp_path: Path, ci: str, outcome: str) -> None:
    (tmp_path / "test_consumer.py").write_text(REDIS_CONSUMER)
    no_redis_path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                    if not (Path(p) / "redis-server").exists())
    env = {**os.environ, "CI": ci, "PATH": no_redis_path, "TOOLRANK_TEST_REDIS_URL": "redis://127.0.0.1:1/0",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT / "tests" / "deploy"),
                                          os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           str(tmp_path / "test_consumer.py")], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert outcome in done.stdout, done.stdout + done.stderr
    assert (done.returncode != 0) == bool(ci)
