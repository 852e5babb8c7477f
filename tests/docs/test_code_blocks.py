"""Every code block in README.md and docs/ runs (or parses) as written, against a real server.

``sh`` blocks run in bash (``set -euo pipefail``), ``python`` blocks run in one namespace per page,
``json`` blocks parse; the blocks of one page share a temporary folder, in order, so a block can use a
file an earlier one wrote. The server's real address replaces ``127.0.0.1:50051`` (and HTTP's
``localhost:8080``); the CLI finds it in ``TOOLRANK_ADDRESS``. A block that cannot run here says so on
the line above its fence: ``<!-- docs-test: skip (why) -->``. Any other language must be marked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ROOT, ServerThread
from toolrank.settings import Settings

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"^<!--\s*docs-test:\s*skip\s*\((?P<why>[^)]+)\)\s*-->\s*$")
SHELL = {"sh", "bash", "console", "shell"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip: str  # the reason given, "" when the block runs

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page (top-level ``` fences), with their skip markers."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            lang = lines[i][3:].strip().split(" ")[0].lower()
            start = i
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            above = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
            marker = SKIP.match(above.strip())
            out.append(Block(page, start + 1, lang, "\n".join(body) + "\n", marker.group("why") if marker else ""))
        i += 1
    return out


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    running = ServerThread(replace(Settings(), store="memory://"), http=True).start()
    yield running
    running.stop()


def _localized(code: str, server: ServerThread) -> str:
    http = server.http_url.removeprefix("http://")
    return (code.replace("127.0.0.1:50051", server.address)
            .replace("localhost:8080", http).replace("127.0.0.1:8080", http))


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_block_runs(page: Path, server: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "TOOLRANK_ADDRESS": server.address,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), os.environ.get("PYTHONPATH", "")])}
    namespace: dict[str, object] = {"__name__": "__docs__"}
    monkeypatch.chdir(tmp_path)
    for block in blocks_of(page):
        if block.skip:
            continue
        code = _localized(block.code, server)
        if block.lang in SHELL:
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, f"{block.where}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        elif block.lang == "python":
            exec(compile(code, block.where, "exec"), namespace)  # noqa: S102 - the docs' own code
        elif block.lang == "json":
            try:
                json.loads(code)
            except json.JSONDecodeError as exc:
                pytest.fail(f"{block.where}: not JSON: {exc}")
        else:
            pytest.fail(f"{block.where}: a ```{block.lang} block neither runs nor says why "
                        "(mark it: <!-- docs-test: skip (why) -->)")


def test_skips_say_why() -> None:
    """A marker needs a reason of a few words: 'skip ()' or 'skip (x)' hides a block without saying why."""
    for page in PAGES:
        for block in blocks_of(page):
            assert not block.skip or len(block.skip.split()) >= 3, f"{block.where}: skip reason too short"


def test_readme_keeps_its_two_commands() -> None:
    """Install-and-serve and the test command (tests/test_packaging.py checks .ci/run runs the latter)."""
    readme = [b.code.strip() for b in blocks_of(ROOT / "README.md")]
    assert "pip install -e '.[test]' && python -m pytest" in readme
    assert any(code.endswith("pip install . && toolrank serve") for code in readme)


def test_a_failing_block_fails(tmp_path: Path) -> None:
    """The runner would notice: a page with a broken Python block (the README's old set-for-dict bug) raises."""
    page = tmp_path / "bad.md"
    page.write_text('```python\nimport json\njson.dumps({"parameters": {...}})\n```\n', encoding="utf-8")
    (block,) = blocks_of(page)
    with pytest.raises(TypeError):
        exec(compile(block.code, "bad.md", "exec"), {})
