"""Threaded stress at a tiny cache size: many clients, distinct candidates, no INTERNAL allowed.

    python bench/stress.py --requests 10000 --clients 64 --cache-size 8 --transport grpc,http

Starts a real ``toolrank serve`` on loopback (``--cache-size 8`` by default, so every
cache is full and evicting all the time while executor threads and the event loop
share it), then sends ``--requests`` rerank requests per transport from ``--clients``
threads. Every request carries candidates no other request has (text, tool, code,
SQL), so nothing is served from a cache and entries are evicted while others read
them: the conditions under which the unlocked LRU raised KeyError (INTERNAL).

Transports are plug-ins (``TRANSPORTS``): each knows how to send one request and
names the status it got ("OK"/gRPC code names, or the HTTP status). ``grpc`` uses
toolrank.v1.Reranker/Rerank; ``http`` posts Cohere's body to ``/v1/rerank`` (the
server's ``--http-port``). Passes when no request got INTERNAL (gRPC) or 5xx other
than 503 (HTTP), none was lost, and the server exits 0 on SIGTERM. Also samples
the server's RSS from /proc; written to ``--json-out`` (default bench/out/stress.json).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

ROOT = Path(__file__).resolve().parent.parent
FAILED = {"INTERNAL", "UNKNOWN", "LOST", "500", "502"}  # a bug on the server's side (or a hang)


def candidates(request_id: int, per_request: int) -> list[dict[str, Any]]:
    """Candidates no other request has: the request id is in every one (as Cohere documents)."""
    out: list[dict[str, Any]] = []
    for i in range(per_request):
        tag = f"r{request_id}c{i}"
        kind = i % 4
        if kind == 0:
            out.append({"text": f"passage {tag} about the weather and the forecast in town {request_id % 97}"})
        elif kind == 1:
            out.append({"tool": {"type": "function", "function": {
                "name": f"get_weather_{tag}", "description": f"weather for city {tag}",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}})
        elif kind == 2:
            out.append({"code": {"language": "python",
                                 "source": f"def send_{tag}(to, body):\n    \"\"\"Send mail {tag}.\"\"\"\n    return to\n"}})
        else:
            out.append({"sql": f"CREATE TABLE orders_{tag} (id INT PRIMARY KEY, city TEXT, total INT)"})
    return out


class Transport(Protocol):
    name: str

    def client(self, server: "Server") -> Callable[[str, list[dict[str, Any]]], str]:
        """A per-thread sender: (query, documents) -> status name."""
        ...


class GrpcTransport:
    name = "grpc"

    def client(self, server: "Server") -> Callable[[str, list[dict[str, Any]]], str]:
        import grpc

        from toolrank.v1 import reranker_pb2 as pb
        from toolrank.v1 import reranker_pb2_grpc as pb_grpc

        channel = grpc.insecure_channel(server.grpc_address)
        stub = pb_grpc.RerankerStub(channel)

        def to_pb(doc: dict[str, Any]) -> Any:
            if "text" in doc:
                return pb.Candidate(text=doc["text"])
            if "tool" in doc:
                return pb.Candidate(tool=pb.Tool(json=json.dumps(doc["tool"])))
            if "code" in doc:
                return pb.Candidate(code=pb.Code(language=doc["code"]["language"], source=doc["code"]["source"]))
            return pb.Candidate(sql=pb.Sql(text=doc["sql"]))

        def send(query: str, docs: list[dict[str, Any]]) -> str:
            try:
                stub.Rerank(pb.RerankRequest(query=query, candidates=[to_pb(d) for d in docs]), timeout=120)
                return "OK"
            except grpc.RpcError as exc:
                return exc.code().name

        return send


class HttpTransport:
    name = "http"

    def client(self, server: "Server") -> Callable[[str, list[dict[str, Any]]], str]:
        if server.http_port is None:
            raise SystemExit("the server has no HTTP port (toolrank serve --http-port)")
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=120)

        def send(query: str, docs: list[dict[str, Any]]) -> str:
            nonlocal conn
            body = json.dumps({"query": query, "documents": docs})
            try:
                conn.request("POST", "/v1/rerank", body=body, headers={"content-type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                return str(resp.status)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=120)
                return "LOST"

        return send


TRANSPORTS: dict[str, Transport] = {t.name: t for t in (GrpcTransport(), HttpTransport())}


@dataclass
class Server:
    """``toolrank serve`` in a subprocess, its ports read from what it prints."""

    args: list[str]
    proc: subprocess.Popen[str] | None = None
    grpc_address: str = ""
    http_port: int | None = None
    log: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "toolrank.cli", "serve", *self.args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("server exited:\n" + "".join(self.log[-20:]))
            self.log.append(line)
            if m := re.search(r"toolrank HTTP on \S+:(\d+)", line):
                self.http_port = int(m.group(1))
            if m := re.search(r"toolrank serving on (\S+):(\d+)", line):
                self.grpc_address = f"127.0.0.1:{m.group(2)}"
                if "--http-port" not in self.args:
                    break
            if self.grpc_address and self.http_port is not None:
                break
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)

    def rss_mib(self) -> float:
        assert self.proc is not None
        try:
            text = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0.0
        m = re.search(r"VmRSS:\s+(\d+) kB", text)
        return int(m.group(1)) / 1024 if m else 0.0

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=120)


def run_transport(server: Server, transport: Transport, requests: int, clients: int, per_request: int,
                  offset: int) -> dict[str, Any]:
    counter: Counter[str] = Counter()
    lock = threading.Lock()
    next_id = iter(range(offset, offset + requests))
    latencies: list[float] = []

    def worker() -> None:
        send = transport.client(server)
        while True:
            with lock:
                rid = next(next_id, None)
            if rid is None:
                return
            t0 = time.perf_counter()
            status = send(f"weather forecast for town {rid % 97}", candidates(rid, per_request))
            elapsed = time.perf_counter() - t0
            with lock:
                counter[status] += 1
                latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "transport": transport.name, "requests": requests, "clients": clients, "by_status": dict(counter),
        "failed": sum(n for s, n in counter.items() if s in FAILED), "seconds": round(seconds, 1),
        "requests_per_s": round(requests / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000, help="requests per transport (default 10000)")
    ap.add_argument("--clients", type=int, default=64, help="client threads (default 64)")
    ap.add_argument("--per-request", type=int, default=4, help="candidates per request (default 4)")
    ap.add_argument("--cache-size", type=int, default=8, help="the server's --cache-size (default 8)")
    ap.add_argument("--transport", default="grpc,http", help=f"comma-separated, of {sorted(TRANSPORTS)} (default grpc,http)")
    ap.add_argument("--model", help="the server's --model (default: the embedded model)")
    ap.add_argument("--json-out", default=str(ROOT / "bench" / "out" / "stress.json"),
                    help="where the figures go (default bench/out/stress.json)")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.transport.split(",") if n.strip()]
    unknown = [n for n in names if n not in TRANSPORTS]
    if unknown:
        ap.error(f"unknown transport {unknown}; known: {sorted(TRANSPORTS)}")
    serve_args = ["--host", "127.0.0.1", "--port", "0", "--cache-size", str(args.cache_size),
                  "--max-inflight-requests", str(max(256, 2 * args.clients)), "--log-level", "warning"]
    if "http" in names:
        serve_args += ["--http-port", "0"]
    if args.model:
        serve_args += ["--model", args.model]
    server = Server(serve_args)
    server.start()
    rss: list[float] = [server.rss_mib()]
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.wait(0.5):
            rss.append(server.rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    results = []
    for k, name in enumerate(names):
        print(f"{name}: {args.requests} requests from {args.clients} clients...", file=sys.stderr, flush=True)
        results.append(run_transport(server, TRANSPORTS[name], args.requests, args.clients, args.per_request,
                                     offset=k * args.requests))
        print(json.dumps(results[-1]), flush=True)
    stop_sampling.set()
    sampler.join()
    rss_end = server.rss_mib()
    code = server.stop()
    internal_logged = sum("unexpected error" in line or "Traceback" in line for line in server.log)
    out = {
        "command": " ".join(["python bench/stress.py", *(sys.argv[1:] if argv is None else argv)]),
        "cache_size": args.cache_size, "per_request": args.per_request, "results": results,
        "server_rss_mib": {"start": round(rss[0], 1), "max": round(max(rss), 1), "end": round(rss_end, 1)},
        "server_exit_code": code, "server_tracebacks_logged": internal_logged,
        "cpu_count": os.cpu_count(),
    }
    out["passed"] = code == 0 and internal_logged == 0 and all(r["failed"] == 0 for r in results)
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("server_rss_mib", "server_exit_code", "server_tracebacks_logged",
                                          "passed")}))
    return 0 if out["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
