"""Shared fixtures: paths, and a real toolrank server (gRPC, optionally HTTP) on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from toolrank.api.grpc_server import RunningServer, create_server
from toolrank.api.http_runner import HttpServer, create_http_server
from toolrank.api.metrics import Metrics
from toolrank.engine.engine import Engine
from toolrank.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
TINY = ROOT / "tests" / "models"


class ServerThread:
    """A real server (engine + gRPC, + HTTP when ``http``) on its own event loop in a background thread."""

    def __init__(self, settings: Settings, http: bool = False, tracing: object = None) -> None:
        self.settings = replace(settings, host="127.0.0.1", port=0, http_port=0)
        self.loop = asyncio.new_event_loop()
        self.engine: Engine | None = None
        self.running: RunningServer | None = None
        self.want_http = http
        self.http: HttpServer | None = None
        self.metrics: Metrics | None = None
        self.tracing = tracing  # a toolrank.api.tracing.Tracing, or None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> "ServerThread":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=120)
        return self

    async def _start(self) -> None:
        self.engine = Engine.from_settings(self.settings)
        self.metrics = Metrics(self.engine)  # one registry for both transports, as `toolrank serve` has
        if self.tracing is not None:
            self.engine.add_observer(self.tracing)  # type: ignore[arg-type]
        self.running = await create_server(self.settings, self.engine, self.metrics, self.tracing)  # type: ignore[arg-type]
        await self.running.server.start()
        if self.want_http:  # HTTP's catalog routes share gRPC's catalog service, as in `toolrank serve`
            self.http = await create_http_server(self.settings, self.engine, self.metrics, self.tracing,  # type: ignore[arg-type]
                                                 catalogs=self.running.catalogs)
            await self.http.start()
        await self.engine.start()
        await self.running.set_serving(True)

    @property
    def address(self) -> str:
        assert self.running is not None
        return f"127.0.0.1:{self.running.port}"

    @property
    def http_url(self) -> str:
        assert self.http is not None, "start the ServerThread with http=True"
        return f"http://127.0.0.1:{self.http.port}"

    def stop(self) -> None:
        async def _stop() -> None:
            assert self.running is not None and self.engine is not None
            await self.running.server.stop(1)
            if self.http is not None:
                await self.http.stop(1)
            await self.running.catalogs.aclose()
            await self.engine.stop()

        asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def default_server() -> Iterator[ServerThread]:
    server = ServerThread(Settings(), http=True).start()
    yield server
    server.stop()


@pytest.fixture()
def channel(default_server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(default_server.address) as ch:
        yield ch


def pytest_configure(config: pytest.Config) -> None:
    # Catalog stores that default to the user's data folder (Settings.store "", `toolrank serve` subprocesses)
    # land in a folder of this test process instead: never in ~/.local/share, never shared by xdist workers.
    if "TOOLRANK_TEST_KEEP_XDG" not in os.environ:
        os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="toolrank-tests-xdg-")
    config.addinivalue_line("markers", "shared_data: reads the ranking sets in ../shared/data (skipped when absent)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``shared_data`` skip, saying why, when the ranking sets are not beside the checkout."""
    if item.get_closest_marker("shared_data") is not None and not DATA.is_dir():
        pytest.skip(f"ranking sets not found at {DATA} (../shared/data): see ../shared/data/README.md")
