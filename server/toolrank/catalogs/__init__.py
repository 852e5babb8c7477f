"""Catalogs: register candidates once, select the best few from thousands per query (two stages, persistent).

Transports call :class:`CatalogService` (one per engine: :func:`catalog_service_for`);
stores implement the small :class:`Store` protocol (:mod:`toolrank.catalogs.store`).
"""

from toolrank.catalogs.service import CatalogService, catalog_service_for
from toolrank.catalogs.store import CatalogRecord, Store, StoredEntry, VersionConflict, default_store_url, open_store
from toolrank.catalogs.types import (
    CatalogInfo,
    PutCatalogRequest,
    PutOutcome,
    SelectHit,
    SelectOutcome,
    SelectQuery,
)

__all__ = [
    "CatalogInfo", "CatalogRecord", "CatalogService", "PutCatalogRequest", "PutOutcome", "SelectHit",
    "SelectOutcome", "SelectQuery", "Store", "StoredEntry", "VersionConflict", "catalog_service_for",
    "default_store_url", "open_store",
]
