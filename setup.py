"""The server distribution's two computed parts; everything else is in pyproject.toml.

1. Dependencies: ``[tool.toolrank] dependencies`` plus ``toolrank-client``, the client distribution built
   from ``clients/python`` in this checkout (a direct reference, since it is not on an index). A release
   sets ``TOOLRANK_CLIENT_REQUIREMENT='toolrank-client==VERSION'`` to depend on the published one.
2. Files: the wheel leaves out what toolrank-client ships (``clients/python/client-files.txt``), so that
   the two installed together own disjoint files.
"""

from __future__ import annotations

import os
from fnmatch import fnmatch
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent
CLIENT = ROOT / "clients" / "python"
CLIENT_PATTERNS = [line.strip() for line in (CLIENT / "client-files.txt").read_text(encoding="utf-8").splitlines()
                   if line.strip() and not line.startswith("#")]


def client_owned(path: str) -> bool:
    """True for a file (a path under server/, or relative to the repository root) that toolrank-client ships."""
    rel = Path(path).as_posix().split("server/", 1)[-1]
    return any(fnmatch(rel, pattern) for pattern in CLIENT_PATTERNS)


class ServerBuildPy(build_py):
    """Every module and data file except those toolrank-client ships."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        return [m for m in super().find_package_modules(package, package_dir) if not client_owned(m[2])]

    def find_data_files(self, package: str, src_dir: str) -> list[str]:
        return [f for f in super().find_data_files(package, src_dir) if not client_owned(f)]


def requirements() -> list[str]:
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["toolrank"]["dependencies"]
    client = os.environ.get("TOOLRANK_CLIENT_REQUIREMENT") or f"toolrank-client @ {CLIENT.as_uri()}"
    return [*listed, client]


setup(install_requires=requirements(), cmdclass={"build_py": ServerBuildPy})
