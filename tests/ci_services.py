"""Services the suite needs (Redis, kubectl, optional modules): a local run skips, saying why, when one is
missing; CI (``CI=true``, as GitHub Actions and most CI systems set it) fails instead, so a CI run that lost its
Redis or kubectl cannot go green by skipping the tests that need them.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def service_missing(reason: str) -> None:
    """Skip locally; fail under CI. Never returns."""
    if in_ci():
        pytest.fail(f"CI=true and a service the tests need is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def require_module(name: str, reason: str = "") -> ModuleType:
    """``pytest.importorskip`` that fails under CI: the test extras are part of CI's install."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        service_missing(f"cannot import {name} ({exc}){': ' + reason if reason else ''}")
        raise  # unreachable: service_missing raises
