"""Catalogs: register candidates once, select the best few from thousands per query (two stages, persistent).

Transports call :class:`CatalogService` (``toolrank serve`` builds one and hands it to both);
stores implement the small :class:`Store` protocol (:mod:`toolrank.catalogs.store`).
Names are imported lazily, so that ``toolrank.catalogs.types`` (plain dataclasses, used
by the client) does not pull in the engine and onnxruntime.
"""

from __future__ import annotations

import importlib
import os
from pkgutil import extend_path
from typing import Any

# The client distribution (toolrank-client) and the server's ship parts of this package: see clients/python;
# the folder with the server's modules goes first (see toolrank/__init__.py).
__path__ = sorted(extend_path(__path__, __name__), key=lambda p: not os.path.isfile(os.path.join(p, "service.py")))

_WHERE = {
    "CatalogService": "service",
    "CatalogRecord": "store", "Store": "store", "StoredEntry": "store", "VersionConflict": "store",
    "default_store_url": "store", "open_store": "store",
    "CatalogInfo": "types", "PutCatalogRequest": "types", "PutOutcome": "types", "SelectHit": "types",
    "SelectOutcome": "types", "SelectQuery": "types",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'toolrank.catalogs' has no attribute {name!r}")
    return getattr(importlib.import_module(f"toolrank.catalogs.{module}"), name)
