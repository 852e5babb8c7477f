"""`toolrank serve --http-port`: gRPC and HTTP side by side from api/serve.py; SIGTERM drains both;
a busy HTTP port or a bad alias refuses to start with one line."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from test_reliability import MODEL, SLOW_SERVE, wait_until


def _serve(*flags: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SLOW_SERVE, "serve", "--port", "0", "--http-port", "0",
                             "--model", MODEL, "--log-level", "warning", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def test_sigterm_drains_http_requests_then_exits_0(tmp_path: Path):
    started, release = tmp_path / "started", tmp_path / "release"
    proc = _serve("--grace-s", "30", env={"TR_STARTED": str(started), "TR_RELEASE": str(release)})
    try:
        assert "serving on" in proc.stdout.readline()  # type: ignore[union-attr]
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("toolrank HTTP on"), line
        url = "http://" + line.split()[-1]
        assert httpx.get(url + "/health", timeout=10).status_code == 200
        body = {"query": "weather", "documents": [f"document number {i}" for i in range(4)]}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(httpx.post, url + "/v1/rerank", json=body, timeout=60)
            assert wait_until(started.exists)
            proc.send_signal(signal.SIGTERM)
            assert wait_until(lambda: httpx.get(url + "/health", timeout=10).status_code == 503)
            refused = httpx.post(url + "/v1/rerank", json={"query": "q", "documents": ["a"]}, timeout=10)
            assert refused.status_code == 503 and "shutting down" in refused.json()["message"]
            assert proc.poll() is None  # the in-flight request holds it open
            release.touch()
            answer = in_flight.result(timeout=60)
        assert answer.status_code == 200 and len(answer.json()["results"]) == 4
        assert proc.wait(timeout=60) == 0
        assert "Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_busy_http_port_or_a_bad_alias_refuses_to_start():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for flags in (["--http-port", str(port)], ["--model-alias", "rerank-v3.5=nope"], ["--model-alias", "x"]):
            done = subprocess.run([sys.executable, "-m", "toolrank.cli", "serve", "--port", "0", "--model", MODEL,
                                   *flags], capture_output=True, text=True, timeout=120)
            assert done.returncode == 1, (flags, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("toolrank serve: error:"), done.stderr
