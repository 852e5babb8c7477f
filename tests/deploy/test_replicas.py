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
    assert report["lost"] == 0, f"requests lost: {report['errors']}"
    assert report["embeddings_written_by_restarts"] == 0, "a restarted replica embedded the catalog again"
    assert report["propagation_ms"]["n"] == 3 * 2
