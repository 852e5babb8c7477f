"""Layers: toolrank.catalogs imports no transport; its errors have one status each in the one table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from toolrank import errors


def test_catalogs_import_no_transport():
    code = ("import sys, toolrank.catalogs.service, toolrank.catalogs.store_sqlite, toolrank.catalogs.evaluate; "
            "bad = [m for m in sys.modules if m.startswith(('grpc', 'google.protobuf', 'fastapi', 'uvicorn', "
            "'prometheus_client', 'toolrank.api', 'toolrank.v1'))]; print(bad); assert not bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_catalog_types_import_no_engine():
    code = ("import sys, toolrank.catalogs.types, toolrank.readers; "
            "bad = [m for m in sys.modules if m.startswith(('toolrank.engine', 'toolrank.catalogs.service'))]; "
            "print(bad); assert not bad")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "server")}  # this checkout's code
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr


def test_catalog_errors_in_the_one_table():
    assert errors.status_of(errors.CatalogNotFound("x")) == ("NOT_FOUND", 404)
    assert errors.status_of(errors.CatalogLimitExceeded("x")) == ("RESOURCE_EXHAUSTED", 429)
