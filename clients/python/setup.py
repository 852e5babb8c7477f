"""Builds toolrank-client from the server's source tree: the files client-files.txt lists, and nothing else.

Wheels only, from a checkout (the sources live in ../../server): ``pip wheel ./clients/python``.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent / "server"
PATTERNS = [line.strip() for line in (HERE / "client-files.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def client_files() -> list[Path]:
    """The files of server/toolrank the client ships, as paths relative to server/."""
    found = [p.relative_to(SOURCE) for p in sorted((SOURCE / "toolrank").rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts]
    return [p for p in found if any(fnmatch(p.as_posix(), pattern) for pattern in PATTERNS)]


class ClientBuildPy(build_py):
    """Copies the listed files from ../../server into the build, whatever setuptools would find here."""

    def run(self) -> None:
        for rel in client_files():
            target = Path(self.build_lib) / rel
            self.mkpath(str(target.parent))
            self.copy_file(str(SOURCE / rel), str(target))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [str(Path(self.build_lib) / rel) for rel in client_files()]

    def get_source_files(self) -> list[str]:
        return []


packages = sorted({rel.parent.as_posix().replace("/", ".") for rel in client_files() if rel.suffix == ".py"})
setup(packages=packages, package_dir={"": "."}, cmdclass={"build_py": ClientBuildPy})
