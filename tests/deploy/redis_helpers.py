"""Redis for the scale-out tests: the machine's (127.0.0.1:6379, database 13, emptied before and after)
or a ``redis-server`` the test starts on a free port (needed to stop and restart Redis under the replicas).
Without either, the tests skip and say why.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

redis = pytest.importorskip("redis")

SHARED_URL = "redis://127.0.0.1:6379/13"  # a database number of our own on the machine's Redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A ``redis-server`` of our own, with an append-only file so that a restart keeps the catalogs."""

    def __init__(self, directory: Path, password: str = "") -> None:
        self.directory = directory
        self.port = free_port()
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server on PATH: cannot start a Redis of our own to stop and restart")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--logfile", str(self.directory / "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, password=self.password or None, socket_timeout=1).ping()
                return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # SIGKILL: the append-only file keeps every acknowledged write (fsync everysec aside)
            self.process.wait(timeout=10)
            self.process = None


def shared_redis_url() -> Iterator[str]:
    """The machine's Redis, database 13, emptied before and after; else one we start; else skip."""
    try:
        client = redis.Redis.from_url(SHARED_URL, socket_connect_timeout=1)
        client.ping()
    except redis.exceptions.ConnectionError:
        client = None
    if client is None:
        if shutil.which("redis-server") is None:
            pytest.skip("no Redis answers on 127.0.0.1:6379 and no redis-server on PATH")
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            server = RedisServer(Path(tmp)).start()
            try:
                yield server.url
            finally:
                server.stop()
        return
    client.flushdb()
    try:
        yield SHARED_URL
    finally:
        client.flushdb()
        client.close()
