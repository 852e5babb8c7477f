"""HTTP route overhead against gRPC for W1 (1 query x 50 tools-bfcl schemas), same engine, same request.

    python bench/http_overhead.py --server new=.venv/bin/python --server old=/work/main/.venv/bin/python

Starts one `toolrank serve --port 0 --http-port 0` per ``--server LABEL=PYTHON`` (that interpreter's
installed toolrank: e.g. the main worktree's venv for the code before a change), all side by side, and
sends every W1 request to each server over gRPC (tools as JSON text) and over HTTP ``/v1/rerank``
(the same tools as JSON documents), interleaved request by request so load drift hits all alike.
Default caches on and warm (each request repeated): the transports are then most of the time, which
is what this measures; ``--cache-size 0`` measures cold requests. Prints medians, p90s, and HTTP's
median overhead over gRPC per server, in ms and as a ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import grpc

from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

ROOT = Path(__file__).resolve().parent.parent


def load_w1(data: Path, n: int, size: int = 50) -> list[tuple[str, list[dict]]]:
    corpus = {}
    for line in (data / "tools-bfcl" / "corpus.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            corpus[row["id"]] = row["tool"]
    out = []
    for line in (data / "tools-bfcl" / "queries.jsonl").read_text().splitlines()[:n]:
        row = json.loads(line)
        out.append((row["query"], [corpus[c] for c in row["candidates"][:size]]))
    return out


def start(python: str, cache_size: int) -> tuple[subprocess.Popen, str, int]:
    cmd = [python, "-m", "toolrank.cli", "serve", "--port", "0", "--http-port", "0", "--log-level", "warning",
           "--cache-size", str(cache_size)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    grpc_addr, http_port = "", 0
    while not (grpc_addr and http_port):
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit(f"{python}: the server exited before serving (code {proc.wait()})")
        if line.startswith("toolrank serving on"):
            grpc_addr = line.split()[-1]
        elif line.startswith("toolrank HTTP on"):
            http_port = int(line.split()[-1].rsplit(":", 1)[1])
    return proc, grpc_addr, http_port


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", action="append", required=True, metavar="LABEL=PYTHON")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--queries", type=int, default=20, help="distinct W1 requests")
    p.add_argument("--repeats", type=int, default=10, help="rounds over the requests (the first warms the caches)")
    p.add_argument("--cache-size", type=int, default=50_000, help="server caches (0: every request cold)")
    p.add_argument("--json", default=str(ROOT / "bench" / "out" / "http_overhead.json"))
    args = p.parse_args()

    requests = load_w1(Path(args.data), args.queries)
    servers = {}
    for spec in args.server:
        label, _, python = spec.partition("=")
        servers[label] = start(python, args.cache_size)
    times: dict[tuple[str, str], list[float]] = {(s, t): [] for s in servers for t in ("grpc", "http")}
    try:
        clients = {}
        for label, (_, addr, port) in servers.items():
            channel = grpc.insecure_channel(addr, options=[("grpc.max_receive_message_length", 64 << 20)])
            clients[label] = (pb_grpc.RerankerStub(channel), http.client.HTTPConnection("127.0.0.1", port, timeout=120))
        encoded = [(pb.RerankRequest(query=q, candidates=[pb.Candidate(tool=pb.Tool(json=json.dumps(t))) for t in tools]),
                    json.dumps({"query": q, "documents": [{"tool": t} for t in tools]}).encode())
                   for q, tools in requests]
        rng = random.Random(1)
        for round_no in range(args.repeats):
            for grpc_req, http_body in encoded:
                order = [(s, t) for s in servers for t in ("grpc", "http")]
                rng.shuffle(order)
                for label, transport in order:
                    stub, conn = clients[label]
                    started = time.perf_counter()
                    if transport == "grpc":
                        stub.Rerank(grpc_req, timeout=120)
                    else:
                        conn.request("POST", "/v1/rerank", body=http_body, headers={"Content-Type": "application/json"})
                        resp = conn.getresponse()
                        resp.read()
                        assert resp.status == 200, resp.status
                    elapsed = (time.perf_counter() - started) * 1000
                    if round_no > 0 or args.cache_size == 0:  # the first round fills the caches
                        times[(label, transport)].append(elapsed)
    finally:
        for proc, _, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    report: dict = {"command": " ".join(["python", "bench/http_overhead.py"] + sys.argv[1:]), "servers": {}}
    for label in servers:
        g, h = times[(label, "grpc")], times[(label, "http")]
        gm, hm = statistics.median(g), statistics.median(h)
        report["servers"][label] = {
            "n": len(g), "grpc_median_ms": round(gm, 2), "http_median_ms": round(hm, 2),
            "grpc_p90_ms": round(statistics.quantiles(g, n=10)[-1], 2),
            "http_p90_ms": round(statistics.quantiles(h, n=10)[-1], 2),
            "http_overhead_ms": round(hm - gm, 2), "http_over_grpc": round(hm / gm, 3)}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
