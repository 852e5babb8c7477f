"""Normalizers: one pure function per candidate kind, behind one entry point (:mod:`.dispatch`).

Each kind's module exposes ``normalize_<kind>(item, options) -> Normalized``. The names here load on
first use, so that ``toolrank.normalize.tool`` (the tool reader, stdlib only, which the client uses to
recognise and split tool documents) imports neither sqlglot nor tree-sitter. ``extend_path``: the
client distribution ships this package's tool reader, the server distribution the rest (README).
"""

from __future__ import annotations

import importlib
import os
from pkgutil import extend_path
from typing import TYPE_CHECKING, Any

__path__ = sorted(extend_path(__path__, __name__), key=lambda p: not os.path.isfile(os.path.join(p, "dispatch.py")))

if TYPE_CHECKING:
    from toolrank.normalize.dispatch import MAX_PARSE_CHARS, NORMALIZERS, normalize, raw_text  # noqa: F401

__all__ = ["NORMALIZERS", "normalize", "raw_text"]
_FROM_DISPATCH = {"MAX_PARSE_CHARS", "NORMALIZERS", "Normalizer", "normalize", "raw_text"}


def __getattr__(name: str) -> Any:
    if name not in _FROM_DISPATCH:
        raise AttributeError(f"module 'toolrank.normalize' has no attribute {name!r}")
    value = getattr(importlib.import_module("toolrank.normalize.dispatch"), name)
    globals()[name] = value
    return value
