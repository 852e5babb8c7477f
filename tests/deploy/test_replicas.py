"""Three `toolrank serve` replicas on one Redis store, on loopback: 0 requests lost while one drains and one dies.

The harness is bench/replicas.py (the longer run with the README's figures); here it runs short, on the
tiny test model, one onnxruntime thread per replica (CI has 2 cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import replicas as harness  # noqa: E402
from redis_helpers import own_redis_fixture, redis_url_fixture  # noqa: E402,F401 - fixtures

TINY_BI = ROOT / "tests" / "models" / "tiny-bert-bi"


def test_replicas_lose_nothing_when_one_drains_and_one_dies(redis_url: str, tmp_path: Path) -> None:
    serve_args = ["--model", f"tiny-bi={TINY_BI}", "--threads", "1", "--grace-s", "3", "--log-level", "warning"]
    report = harness.run(redis_url, serve_args, tmp_path, catalog_size=40, rerank_size=10, clients=3,
                         before_s=1.5, after_s=1.5, propagation_rounds=3)
    print(report)
    assert report["sigterm_exit_code"] == 0, "a drained replica exits 0"
    assert report["sigkill_exit_code"] == -9
    for phase in ("before", "during", "after"):
        assert report[phase]["requests"] > 0, f"no requests sent {phase} the failures: the test proves nothing"
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("replica*.log")))
    assert report["lost"] == 0, f"requests lost: {report['errors']}: {report['failures']}\n{logs}"
    assert report["embeddings_written_by_restarts"] == 0, "a restarted replica embedded the catalog again"
    assert report["propagation_ms"]["n"] == 3 * 2


def test_serve_with_redis_down_keeps_selects_fails_puts_reports_health_and_recovers(own_redis, tmp_path: Path) -> None:
    import grpc
    import pytest

    import toolrank

    serve_args = ["--model", f"tiny-bi={TINY_BI}", "--threads", "1", "--grace-s", "1", "--log-level", "warning"]
    replica = harness.Replica(0, own_redis.url, serve_args, tmp_path)
    replica.start()
    try:
        replica.wait_ready()
        with toolrank.Client(replica.address, timeout=30) as client:
            client.put_catalog("tools", harness.tool_candidates(10))
            assert client.select("tools", "weather", top_k=2).ids
            wait_health(client, serving=True)

            own_redis.stop()
            wait_health(client, serving=False)
            assert client.health(""), "the server as a whole stays SERVING: reranks and loaded catalogs work"
            assert client.health("toolrank.v1.Reranker")
            assert len(client.select("tools", "send an email", top_k=3)) == 3
            assert len(client.rerank("weather", ["sunny in Paris", "a cake"])) == 2
            with pytest.raises(toolrank.errors.ToolrankError) as caught:
                client.put_catalog("tools", harness.tool_candidates(2, "new"))
            assert caught.value.code == grpc.StatusCode.UNAVAILABLE
            assert "catalog store" in str(caught.value) and "unavailable" in str(caught.value)

            own_redis.start()  # same port, same append-only file
            wait_health(client, serving=True)
            put = client.put_catalog("tools", harness.tool_candidates(2, "new"))
            assert put.size == 12 and client.select("tools", "weather", top_k=2).version == put.version
    finally:
        replica.stop()
    log = replica.log_path.read_text()
    assert "unavailable" in log and "reachable again" in log, log[-2000:]


def wait_health(client, serving: bool, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while client.health("toolrank.v1.Catalogs") != serving:
        assert time.monotonic() < deadline, f"toolrank.v1.Catalogs health never became {'SERVING' if serving else 'NOT_SERVING'}"
        time.sleep(0.1)
