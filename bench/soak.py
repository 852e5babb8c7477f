"""Load and soak test: a real `toolrank serve` on loopback, many concurrent clients, gRPC and HTTP.

    python bench/soak.py --requests 20000 --concurrency 64 [--json bench/out/soak.json]

Mixes valid requests (5-10 small candidates: text, tools, code, SQL; in every
fourth one a document never seen before, so the bounded caches churn), invalid ones and oversized ones, half
over gRPC and half over the HTTP API, and samples the server's RSS from
/proc/<pid>/status. It passes when every request got OK or the documented error
for its kind (none lost, none hung), the server never crashed and then exited 0
on SIGTERM, and RSS at the end is within 10% of RSS after warm-up. Bounded:
stops sending after --requests or --max-seconds, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import grpc.aio

from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

ROOT = Path(__file__).resolve().parent.parent

# What each kind of request may get back (anything else counts as unexpected).
EXPECTED = {
    "valid": {"OK", "RESOURCE_EXHAUSTED", "200", "429"},
    "invalid": {"INVALID_ARGUMENT", "400", "422"},
    "oversized": {"INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "413"},
}
LOST = {"LOST", "DEADLINE_EXCEEDED", "UNAVAILABLE", "CANCELLED", "UNKNOWN", "INTERNAL"}

WORDS = ("weather forecast city temperature email send message calendar event invoice payment customer order "
         "search files repository commit branch database table user account login password reset report sales "
         "region revenue shipping address product inventory stock price currency convert translate language").split()


def _pool(rng: random.Random, n: int) -> list[dict]:
    """Small candidates of every kind, as HTTP documents (converted to protobuf for gRPC)."""
    out: list[dict] = []
    for i in range(n):
        w = rng.sample(WORDS, 6)
        kind = i % 4
        if kind == 0:
            out.append({"text": " ".join(w) + f" note {i}"})
        elif kind == 1:
            out.append({"tool": {"type": "function", "function": {
                "name": f"{w[0]}_{w[1]}_{i}", "description": f"{w[0]} the {w[1]} for a {w[2]}",
                "parameters": {"type": "object", "properties": {w[3]: {"type": "string"}, w[4]: {"type": "integer"}},
                               "required": [w[3]]}}}})
        elif kind == 2:
            out.append({"code": {"language": "python", "source": f"def {w[0]}_{w[1]}_{i}({w[2]}, {w[3]}):\n"
                                                                  f"    \"\"\"{w[4]} {w[5]}.\"\"\"\n    return {w[2]}\n"}})
        else:
            out.append({"sql": f"CREATE TABLE {w[0]}_{i} (id INT PRIMARY KEY, {w[1]} TEXT, {w[2]} INT)"})
    return out


def _to_pb(doc: dict) -> pb.Candidate:
    if "text" in doc:
        return pb.Candidate(text=doc["text"])
    if "tool" in doc:
        return pb.Candidate(tool=pb.Tool(json=json.dumps(doc["tool"])))
    if "code" in doc:
        return pb.Candidate(code=pb.Code(language=doc["code"]["language"], source=doc["code"]["source"]))
    return pb.Candidate(sql=pb.Sql(text=doc["sql"]))


@dataclass
class Job:
    """One request in both encodings, and what kind it is."""

    kind: str
    grpc_request: pb.RerankRequest | None = None
    http_body: bytes = b""


def make_job(n: int, rng: random.Random, pool: list[dict]) -> Job:
    roll = rng.random()
    query = " ".join(rng.sample(WORDS, 4))
    if roll < 0.80:
        docs = rng.sample(pool, rng.randint(5, 10))
        if n % 4 == 0:  # a document never seen before: the caches keep churning
            docs[-1] = {"text": f"fresh document {n}: " + " ".join(rng.sample(WORDS, 5))}
        return Job("valid", pb.RerankRequest(query=query, candidates=[_to_pb(d) for d in docs], top_n=3),
                   json.dumps({"query": query, "documents": docs, "top_n": 3}).encode())
    if roll < 0.90:
        choice = n % 4
        if choice == 0:
            return Job("invalid", pb.RerankRequest(query="", candidates=[pb.Candidate(text="a")]),
                       json.dumps({"query": "", "documents": ["a"]}).encode())
        if choice == 1:
            return Job("invalid", pb.RerankRequest(query=query), json.dumps({"query": query}).encode())
        if choice == 2:
            return Job("invalid", pb.RerankRequest(query=query, candidates=[pb.Candidate(text="a")], model="nope"),
                       json.dumps({"query": query, "documents": ["a"], "model": "nope"}).encode())
        return Job("invalid", pb.RerankRequest(query=query, candidates=[pb.Candidate(id="no content")]),
                   b'{"query": "q", "documents": [1, 2')  # truncated JSON
    big = "x" * (300 * 1024) if n % 2 else None
    if big:
        return Job("oversized", pb.RerankRequest(query=query, candidates=[pb.Candidate(text=big)]),
                   json.dumps({"query": query, "documents": [big]}).encode())
    long_query = "q " * (20 * 1024)
    return Job("oversized", pb.RerankRequest(query=long_query, candidates=[pb.Candidate(text="a")]),
               json.dumps({"query": long_query, "documents": ["a"]}).encode())


class HttpConnection:
    """A minimal keep-alive HTTP/1.1 client (stdlib asyncio), reconnecting when the server closes."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        assert self.reader is not None
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self.writer = None


@dataclass
class Tally:
    by_status: Counter = field(default_factory=Counter)
    unexpected: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0
    answered: int = 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def soak(args: argparse.Namespace, server: subprocess.Popen, grpc_addr: str, http_port: int) -> dict:
    rng = random.Random(args.seed)
    pool = _pool(rng, 400)
    tally = Tally()
    next_job = iter(range(args.requests))
    deadline = time.monotonic() + args.max_seconds
    warm_at = int(args.requests * args.warmup)
    rss = {"start": rss_kb(server.pid), "warm": 0, "max": 0, "end": 0, "samples": []}
    channels = [grpc.aio.insecure_channel(grpc_addr, options=[("grpc.max_send_message_length", 64 << 20)])
                for _ in range(4)]
    stubs = [pb_grpc.RerankerStub(c) for c in channels]

    async def client(number: int) -> None:
        use_http = number % 2 == 1
        conn = HttpConnection("127.0.0.1", http_port) if use_http else None
        stub = stubs[number % len(stubs)]
        for n in next_job:
            if time.monotonic() > deadline:
                break
            job = make_job(n, rng, pool)  # made when sent: oversized ones are not all held at once
            tally.sent += 1
            started = time.perf_counter()
            try:
                if conn is not None:
                    status = str(await asyncio.wait_for(conn.post("/v1/rerank", job.http_body), args.timeout))
                else:
                    await stub.Rerank(job.grpc_request, timeout=args.timeout)
                    status = "OK"
            except grpc.aio.AioRpcError as exc:
                status = exc.code().name
            except (asyncio.TimeoutError, ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
                status = "LOST"
                if conn is not None:
                    await conn.close()
            tally.latencies_ms.append((time.perf_counter() - started) * 1000)
            tally.by_status[f"{'http' if use_http else 'grpc'} {job.kind} {status}"] += 1
            if status not in LOST:
                tally.answered += 1
            if status not in EXPECTED[job.kind]:
                tally.unexpected[f"{'http' if use_http else 'grpc'} {job.kind} {status}"] += 1
            if n == warm_at:
                rss["warm"] = rss_kb(server.pid)
        if conn is not None:
            await conn.close()

    async def sampler() -> None:
        t0 = time.monotonic()
        while True:
            value = rss_kb(server.pid)
            rss["max"] = max(rss["max"], value)
            rss["samples"].append((round(time.monotonic() - t0, 1), value))
            await asyncio.sleep(1.0)

    started = time.monotonic()
    sampling = asyncio.create_task(sampler())
    await asyncio.gather(*(client(i) for i in range(args.concurrency)))
    elapsed = time.monotonic() - started
    sampling.cancel()
    rss["end"] = rss_kb(server.pid)
    for c in channels:
        await c.close()
    statuses: Counter = Counter()
    for key, count in tally.by_status.items():
        statuses[key.rsplit(" ", 1)[1]] += count
    return {
        "requests_planned": args.requests,
        "requests_sent": tally.sent,
        "answered": tally.answered,
        "lost": tally.sent - tally.answered,
        "answered_by_status": dict(sorted(statuses.items())),
        "by_transport_kind_status": dict(sorted(tally.by_status.items())),
        "unexpected": dict(tally.unexpected),
        "seconds": round(elapsed, 1),
        "requests_per_s": round(tally.sent / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {"p50": round(percentile(tally.latencies_ms, 0.50), 1),
                       "p99": round(percentile(tally.latencies_ms, 0.99), 1),
                       "max": round(max(tally.latencies_ms, default=0.0), 1)},
        "rss_kb": {k: v for k, v in rss.items() if k != "samples"},
        "rss_samples_kb": rss["samples"][:: max(1, len(rss["samples"]) // 60)],
    }


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str, int]:
    cmd = [sys.executable, "-m", "toolrank.cli", "serve", "--port", "0", "--http-port", "0", "--log-level", "warning",
           "--cache-size", str(args.cache_size), "--grace-s", "10"] + (["--model", args.model] if args.model else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    grpc_addr, http_port = "", 0
    while not (grpc_addr and http_port):
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"the server exited before serving (code {proc.wait()})")
        if line.startswith("toolrank serving on"):
            grpc_addr = line.split()[-1]
        elif line.startswith("toolrank HTTP on"):
            http_port = int(line.split()[-1].rsplit(":", 1)[1])
    return proc, grpc_addr, http_port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-seconds", type=float, default=540.0, help="stop sending after this long")
    parser.add_argument("--timeout", type=float, default=60.0, help="client deadline per request (past it: hung)")
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of requests before the warm RSS sample")
    parser.add_argument("--cache-size", type=int, default=2000, help="server cache entries (small: caches fill early)")
    parser.add_argument("--model", help="model directory (default: the embedded one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default=str(ROOT / "bench" / "out" / "soak.json"))
    args = parser.parse_args()

    server, grpc_addr, http_port = start_server(args)
    try:
        report = asyncio.run(soak(args, server, grpc_addr, http_port))
        crashed = server.poll() is not None
        server.send_signal(signal.SIGTERM)
        try:
            exit_code = server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            exit_code = None
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    rss = report["rss_kb"]
    growth = (rss["end"] - rss["warm"]) / rss["warm"] if rss["warm"] else 0.0
    report.update({
        "server_crashed": crashed,
        "server_exit_code_on_sigterm": exit_code,
        "rss_end_vs_warm": round(growth, 4),
        "command": " ".join(["python", "bench/soak.py"] + sys.argv[1:]),
        "cpu_cores": os.cpu_count(),
    })
    report["passed"] = (report["lost"] == 0 and not report["unexpected"] and not crashed and exit_code == 0
                        and abs(growth) <= 0.10)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    summary = {k: v for k, v in report.items() if k not in ("rss_samples_kb", "by_transport_kind_status")}
    print(json.dumps(summary, indent=2))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
