"""Per-replica capacity: requests/s one `toolrank serve` sustains for Rerank W1 and Select, for sizing replicas.

One replica (a subprocess, the embedded default model unless --model, --threads = the cores a pod gets),
C concurrent gRPC clients for T seconds per workload, all on real data (tools-bfcl):

* rerank-cold:   W1 (1 query x 50 tool schemas, raw JSON) with every cache off (--cache-size 0): pure compute,
                 the worst case (every request brings tools the replica has never seen);
* rerank-shared: W1 over one 50-tool set with each request its own query, caches on: the agent case
                 (the same tools every turn), what W3 "shared catalog" measures;
* select:        Select top 5 from a catalog of the whole tools-bfcl corpus (1013 tools), each request its own
                 query: with a bi-encoder it embeds the query and scores the catalog from memory.

Also reported: the server's CPU (cores busy, from /proc) while loaded, so that a replica's rate can be
read against its CPU request.

    python bench/capacity.py --clients 16 --seconds 20 --json-out bench/out/capacity.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replicas import Replica, percentile  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "tools-bfcl"


def load_bfcl() -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    corpus = {}
    for line in (DATA / "corpus.jsonl").read_text().splitlines():
        item = json.loads(line)
        corpus[item["id"]] = item
    queries = [json.loads(line) for line in (DATA / "queries.jsonl").read_text().splitlines()]
    return corpus, queries


def w1_candidates(corpus: dict[str, dict[str, Any]], query: dict[str, Any], ids: list[str]) -> list[dict[str, Any]]:
    """The query's own 30 candidates plus the next 20 corpus tools: 50 tool schemas as raw JSON."""
    chosen = list(dict.fromkeys([*query["candidates"], *ids]))[:50]
    return [{"id": i, "tool": {"json": json.dumps(corpus[i]["tool"])}} for i in chosen]


def workload_call(workload: str, client: Any, corpus: dict[str, dict[str, Any]], queries: list[dict[str, Any]],
                  ids: list[str]) -> Callable[[int], None]:
    """Request number ``i`` of a workload (see the module's docstring)."""
    shared = w1_candidates(corpus, queries[0], ids)

    def select(i: int) -> None:
        client.select("bfcl", queries[i % len(queries)]["query"], top_k=5)

    def rerank_shared(i: int) -> None:
        client.rerank(queries[i % len(queries)]["query"], shared, top_n=5)

    def cold(i: int) -> None:
        q = queries[i % len(queries)]
        start = (i * 20) % (len(ids) - 20)
        client.rerank(q["query"], w1_candidates(corpus, q, ids[start:start + 20]), top_n=5)

    return {"select": select, "rerank-shared": rerank_shared}.get(workload, cold)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(call: Callable[[int], None], clients: int, seconds: float, pid: int) -> dict[str, Any]:
    """``clients`` threads calling ``call(i)`` back to back for ``seconds``; throughput, latency, server CPU."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(n: int) -> None:
        i = n
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                call(i)
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(type(exc).__name__)
            i += clients

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=300)
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    ms = [x * 1000 for x in latencies]
    return {"requests": len(ms), "errors": len(errors), "req_per_s": round(len(ms) / wall, 1),
            "p50_ms": round(percentile(ms, 0.5), 1), "p99_ms": round(percentile(ms, 0.99), 1),
            "server_cores_busy": round(cpu / wall, 2), "req_per_core_s": round(len(ms) / cpu, 1) if cpu else None}


def main(argv: list[str] | None = None) -> int:
    import toolrank

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="", help="model for the replica (default: the embedded all-MiniLM-L6-v2)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads: the cores a replica gets")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--cold-seconds", type=float, default=60.0, help="rerank-cold's window (its requests take seconds)")
    p.add_argument("--workloads", default="rerank-cold,rerank-shared,select")
    p.add_argument("--json-out", default="")
    args = p.parse_args(argv)
    corpus, queries = load_bfcl()
    ids = list(corpus)
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    serve = ["--threads", str(args.threads), "--log-level", "warning"] + (["--model", args.model] if args.model else [])
    report: dict[str, Any] = {"clients": args.clients, "seconds": args.seconds, "threads": args.threads,
                              "cores": os.cpu_count(), "load_average_start": os.getloadavg()[0], "workloads": {}}
    for workload in args.workloads.split(","):
        extra = ["--cache-size", "0"] if workload == "rerank-cold" else []
        replica = Replica(0, "memory://", serve + extra, out_dir)
        replica.start()
        try:
            replica.wait_ready()
            client = toolrank.Client(replica.address, timeout=300)
            if workload == "select":
                client.put_catalog("bfcl", [corpus[i] for i in ids], batch_size=500)
            call = workload_call(workload, client, corpus, queries, ids)
            for i in range(3):
                call(10_000 + i)  # warm-up (and, for rerank-shared, the catalog's one cold pass)
            result = drive(call, args.clients, args.cold_seconds if workload == "rerank-cold" else args.seconds,
                           replica.process.pid)
            report["workloads"][workload] = result
            print(f"{workload}: {result}", file=sys.stderr, flush=True)
            client.close()
        finally:
            replica.stop()
    report["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
