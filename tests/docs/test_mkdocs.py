"""The documentation site builds with ``mkdocs build --strict`` (broken links and anchors fail it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def test_site_builds_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="pip install -e '.[docs]' (CI installs it)")
    pytest.importorskip("material", reason="pip install -e '.[docs]' (CI installs it)")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={"NO_MKDOCS_2_WARNING": "1",
                                                                                      "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()


def test_every_page_is_in_the_nav() -> None:
    """A page in docs/ that no nav entry names is unreachable from the site's menu."""
    lines = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").splitlines()
    nav = {line.rsplit(":", 1)[-1].strip() for line in lines if line.strip().startswith("- ") and line.endswith(".md")}
    for page in (ROOT / "docs").glob("*.md"):
        assert page.name in nav, f"docs/{page.name} is not in mkdocs.yml's nav"
