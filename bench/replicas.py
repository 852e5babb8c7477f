"""Replicas on loopback: three `toolrank serve` processes on one Redis store, one drained and one killed under load.

What it shows, with figures: a catalog put on one replica is selectable on the others (and how fast a
change reaches them); a client with round_robin and retries (toolrank.Client over every replica) sends a
steady stream of Select and Rerank while replica 1 gets SIGTERM (graceful drain) and replica 2 SIGKILL,
then both restart on their ports: every request is answered OK, and the restarted replicas serve the
catalog from Redis without embedding it again (the store's count of written embeddings does not move).

    python bench/replicas.py --redis redis://127.0.0.1:6379/13 --json-out bench/out/replicas.json

tests/deploy/test_replicas.py runs the same harness, shorter, on the tiny test model.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["weather in a city", "send a message", "book a trip", "create a bill", "find web pages", "translate words",
           "does thing number 7", "read a file", "list the users", "delete an order"]


def tool_candidates(n: int, prefix: str = "tool") -> list[dict[str, Any]]:
    verbs = ["get", "send", "book", "create", "search", "translate", "read", "list", "delete", "update"]
    nouns = ["weather", "email", "flight", "invoice", "web", "text", "file", "users", "order", "profile"]
    return [{"id": f"{prefix}_{i}", "tool": {"name": f"{verbs[i % 10]}_{nouns[(i // 10) % 10]}_{i}",
                                             "description": f"{verbs[i % 10]} the {nouns[(i // 10) % 10]} (number {i})",
                                             "parameters": {"type": "object", "properties": {
                                                 "id": {"type": "string", "description": "which one"}}}}}
            for i in range(n)]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    """One `toolrank serve` subprocess on a fixed port (a restart comes back on the same address)."""

    def __init__(self, index: int, store: str, serve_args: list[str], log_dir: Path) -> None:
        self.index = index
        self.port = free_port()
        self.args = [sys.executable, "-m", "toolrank.cli", "serve", "--port", str(self.port), "--store", store,
                     *serve_args]
        self.log_path = log_dir / f"replica{index}.log"
        self.process: subprocess.Popen[str] | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        self.starts += 1

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until the server prints its 'serving' line (health SERVING, model warm)."""
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"replica {self.index} exited {self.process.returncode}; see {self.log_path}")
            if line.startswith("toolrank serving on"):
                threading.Thread(target=self.process.stdout.read, daemon=True).start()  # keep the pipe drained
                return
        raise RuntimeError(f"replica {self.index} not ready after {timeout} s; see {self.log_path}")

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Load:
    """A steady stream of Select and Rerank from ``clients`` threads through one balanced client."""

    client: Any
    catalog: str
    rerank_candidates: list[dict[str, Any]]
    clients: int = 4
    phase: str = "before"
    records: list[tuple[str, str, float, str]] = field(default_factory=list)  # (phase, method, seconds, status)
    failures: list[str] = field(default_factory=list)  # what each failed call said
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _worker(self, n: int) -> None:
        import toolrank

        i = n
        while not self._stop.is_set():
            query = QUERIES[i % len(QUERIES)]
            method = "Select" if i % 2 == 0 else "Rerank"
            phase = self.phase
            t0 = time.perf_counter()
            try:
                if method == "Select":
                    self.client.select(self.catalog, query, top_k=5)
                else:
                    self.client.rerank(query, self.rerank_candidates, top_n=5)
                status = "OK"
            except toolrank.errors.ToolrankError as exc:
                status = getattr(exc, "code", None).name if getattr(exc, "code", None) else type(exc).__name__
                with self._lock:
                    self.failures.append(f"{phase} {method} after {time.perf_counter() - t0:.3f}s: {exc}")
            with self._lock:
                self.records.append((phase, method, time.perf_counter() - t0, status))
            i += self.clients

    def __enter__(self) -> "Load":
        self._threads = [threading.Thread(target=self._worker, args=(n,), daemon=True) for n in range(self.clients)]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summarize(records: list[tuple[str, str, float, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"requests": len(records), "answered_ok": sum(1 for r in records if r[3] == "OK")}
    out["lost"] = out["requests"] - out["answered_ok"]
    out["errors"] = {s: sum(1 for r in records if r[3] == s) for s in sorted({r[3] for r in records} - {"OK"})}
    for phase in ("before", "during", "after"):
        lat = [r[2] * 1000 for r in records if r[0] == phase]
        out[phase] = {"requests": len(lat), "p50_ms": round(percentile(lat, 0.5), 1),
                      "p99_ms": round(percentile(lat, 0.99), 1)}
    return out


def measure_propagation(replicas: list[Replica], catalog: str, rounds: int, timeout: float = 10.0) -> list[float]:
    """Put a change on replica 0; seconds until each other replica's Select answers from the new version."""
    import toolrank

    writer = toolrank.Client(replicas[0].address, timeout=30)
    readers = [toolrank.Client(r.address, timeout=30) for r in replicas[1:]]
    delays: list[float] = []
    try:
        for k in range(rounds):
            extra = [{"id": f"change_{k}", "text": f"a change number {k} to the catalog"}]
            version = writer.put_catalog(catalog, extra).version
            t0 = time.perf_counter()
            pending = set(range(len(readers)))
            while pending:
                for j in list(pending):
                    if readers[j].select(catalog, "change", top_k=1).version >= version:
                        delays.append(time.perf_counter() - t0)
                        pending.discard(j)
                if time.perf_counter() - t0 > timeout:
                    raise RuntimeError(f"a put did not reach every replica within {timeout} s")
                time.sleep(0.005)
    finally:
        for c in [writer, *readers]:
            c.close()
    return delays


def run(redis_url: str, serve_args: list[str], log_dir: Path, catalog_size: int = 50, rerank_size: int = 20,
        clients: int = 4, before_s: float = 3.0, after_s: float = 3.0, propagation_rounds: int = 5,
        progress: Any = print) -> dict[str, Any]:
    """The whole scenario; returns the figures (see the module's docstring)."""
    import toolrank
    from toolrank.catalogs.store_redis import RedisStore

    store = RedisStore.from_url(redis_url)
    replicas = [Replica(i, redis_url, serve_args, log_dir) for i in range(3)]
    report: dict[str, Any] = {"replicas": 3, "clients": clients, "catalog_size": catalog_size}
    try:
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_ready()
        progress(f"replicas ready on {', '.join(r.address for r in replicas)}")
        catalog = "bench-tools"
        with toolrank.Client(replicas[0].address, timeout=120) as first:
            put = first.put_catalog(catalog, tool_candidates(catalog_size))
        for r in replicas[1:]:  # selectable on the others (loaded from Redis on first use)
            with toolrank.Client(r.address, timeout=60) as c:
                got = c.select(catalog, QUERIES[0], top_k=3)
                assert got.version == put.version and len(got) == 3, (got.version, put.version)
        delays = measure_propagation(replicas, catalog, propagation_rounds)
        report["propagation_ms"] = {"n": len(delays), "median": round(statistics.median(delays) * 1000, 1),
                                    "max": round(max(delays) * 1000, 1)}
        progress(f"put -> visible on the other replicas: {report['propagation_ms']}")
        written_before = store.embeddings_written()

        balanced = toolrank.Client(",".join(r.address for r in replicas), timeout=60)
        load = Load(balanced, catalog, tool_candidates(rerank_size, "rr"), clients=clients)
        with load:
            time.sleep(before_s)
            load.phase = "during"
            t0 = time.perf_counter()
            replicas[1].signal(signal.SIGTERM)
            replicas[2].signal(signal.SIGKILL)
            report["sigterm_exit_code"] = replicas[1].wait_exit()
            report["sigkill_exit_code"] = replicas[2].wait_exit()
            report["drain_s"] = round(time.perf_counter() - t0, 2)
            progress(f"replica 1 drained (exit {report['sigterm_exit_code']}), replica 2 killed; restarting both")
            for r in replicas[1:]:
                r.start()
            for r in replicas[1:]:
                r.wait_ready()
            report["down_s"] = round(time.perf_counter() - t0, 2)
            # The restarted replicas serve the catalog (from Redis) before the "after" phase starts.
            for r in replicas[1:]:
                with toolrank.Client(r.address, timeout=60) as c:
                    assert c.select(catalog, QUERIES[1], top_k=3).version == c.get_catalog(catalog).version
            load.phase = "after"
            time.sleep(after_s)
        balanced.close()
        report["embeddings_written_by_restarts"] = store.embeddings_written() - written_before
        report.update(summarize(load.records))
        report["failures"] = load.failures[:20]
        return report
    finally:
        for r in replicas:
            r.stop()
        store.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="store URL (its database is emptied first)")
    p.add_argument("--model", default="", help="a model for the replicas (default: the embedded one)")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads per replica")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--catalog-size", type=int, default=200)
    p.add_argument("--before-s", type=float, default=10.0)
    p.add_argument("--after-s", type=float, default=10.0)
    p.add_argument("--propagation-rounds", type=int, default=20)
    p.add_argument("--grace-s", type=float, default=5.0)
    p.add_argument("--json-out", default="")
    args = p.parse_args(argv)
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    serve_args = ["--threads", str(args.threads), "--grace-s", str(args.grace_s), "--log-level", "warning"]
    if args.model:
        serve_args += ["--model", args.model]
    log_dir = ROOT / "bench" / "out"
    log_dir.mkdir(parents=True, exist_ok=True)
    report = run(args.redis, serve_args, log_dir, catalog_size=args.catalog_size, clients=args.clients,
                 before_s=args.before_s, after_s=args.after_s, propagation_rounds=args.propagation_rounds,
                 progress=lambda m: print(m, file=sys.stderr, flush=True))
    redis.Redis.from_url(args.redis).flushdb()
    print(json.dumps(report, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["lost"] == 0 and report["embeddings_written_by_restarts"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
