"""Fixtures for the scale-out tests: Redis (see redis_helpers) and the tiny bi-encoder's settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from redis_helpers import RedisServer, shared_redis_url  # noqa: E402


@pytest.fixture()
def redis_url() -> Iterator[str]:
    yield from shared_redis_url()


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.directory.mkdir()
    server.start()
    yield server
    server.stop()
