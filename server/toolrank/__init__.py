"""toolrank: rank tool schemas, code, SQL and text for agents with an ONNX model."""

from __future__ import annotations

import os
from pkgutil import extend_path
from typing import TYPE_CHECKING, Any

# The client distribution (toolrank-client) and the server's ship parts of this package: see clients/python.
# A source tree (an editable install: it has the server's engine/) goes first, so that a checkout's own files
# win over a toolrank-client copy installed from an older state of it.
__path__ = sorted(extend_path(__path__, __name__), key=lambda p: not os.path.isdir(os.path.join(p, "engine")))

__version__ = "0.1.0"

# Client names load on first use, so that ``import toolrank`` (and the server) stay cheap.
_LAZY = {name: "toolrank.client" for name in (
    "Client", "AsyncClient", "Code", "Sql", "Text", "Tool", "Hit", "Ranking",
    "candidates_from_folder", "candidates_from_sql_file",
)}
_LAZY["expand_tools"] = "toolrank.candidates"  # one candidate per tool of a tools list / MCP result / OpenAPI doc

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:
    from toolrank.client import (AsyncClient, Client, Code, Hit, Ranking, Sql, Text, Tool,  # noqa: F401
                                 candidates_from_folder, candidates_from_sql_file)
    from toolrank.candidates import expand_tools  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'toolrank' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
