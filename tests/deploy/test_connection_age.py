"""The server closes connections gracefully after a maximum age, so DNS clients find new replicas; no call fails.

A TCP relay between client and server counts connections: with the age cut to 0.4 s, a client calling for
2 s opens several, and every call is answered.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

import toolrank
from toolrank.api import grpc_server
from toolrank.settings import Settings

from conftest import ServerThread

TINY_BI = ("tiny-bi", str(Path(__file__).resolve().parents[1] / "models" / "tiny-bert-bi"))


class Relay:
    """Forwards loopback TCP connections to ``target_port``; counts them."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def test_connections_are_recycled_and_no_call_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grpc_server, "MAX_CONNECTION_AGE_MS", 400)
    server = ServerThread(Settings(models=(TINY_BI,), threads=1, store="memory://")).start()
    relay = Relay(server.running.port)
    try:
        with toolrank.Client(f"127.0.0.1:{relay.port}", timeout=30) as client:
            answered = 0
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                assert len(client.rerank("weather", ["sunny in Paris", "a cake recipe"])) == 2
                answered += 1
        assert answered > 10 and relay.connections >= 3, (answered, relay.connections)
    finally:
        relay.close()
        server.stop()
