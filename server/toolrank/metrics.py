"""A tiny Prometheus registry (text format 0.0.4) and the toolrank metric families.

Stdlib only, no global state: the Engine owns one ``Metrics`` object, and both
transports record into it (``engine.metrics``). Values the engine already
keeps (queue depth, in-flight requests, cache hits, fallbacks) are read at
scrape time through callbacks rather than copied on every request.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Union

if TYPE_CHECKING:
    from toolrank.engine.engine import Engine
    from toolrank.types import RerankOutcome

LabelValues = tuple[str, ...]
# A scrape-time source: one value (no labels) or one value per label tuple.
Source = Callable[[], Union[float, Mapping[LabelValues, float]]]

SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
STAGES = ("normalize", "tokenize", "queue", "inference", "total")


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Iterable[str], values: Iterable[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Family:
    """One metric name with its label names; children keyed by label values."""

    kind = ""

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = (), source: Source | None = None) -> None:
        self.name = name
        self.help = help
        self.labelnames = labels
        self.source = source
        self._lock = threading.Lock()
        self._values: dict[LabelValues, float] = {}

    def _key(self, labels: Mapping[str, str]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {list(self.labelnames)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def samples(self) -> dict[LabelValues, float]:
        if self.source is None:
            with self._lock:
                return dict(self._values)
        value = self.source()
        return dict(value) if isinstance(value, Mapping) else {(): float(value)}

    def value(self, **labels: str) -> float:
        """The current value (tests and debugging)."""
        return self.samples().get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for key, v in sorted(self.samples().items()):
            lines.append(f"{self.name}{_labels(self.labelnames, key)} {_fmt(v)}")
        return lines


class Counter(_Family):
    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount


class Gauge(_Family):
    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value


class Histogram(_Family):
    kind = "histogram"

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = (),
                 buckets: tuple[float, ...] = SECONDS_BUCKETS) -> None:
        super().__init__(name, help, labels)
        self.buckets = tuple(sorted(buckets))
        # per label tuple: [count per bucket (not cumulative)..., +Inf count], sum
        self._hist: dict[LabelValues, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        slot = next((i for i, b in enumerate(self.buckets) if value <= b), len(self.buckets))
        with self._lock:
            counts, total = self._hist.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            counts[slot] += 1
            total[0] += value

    def count(self, **labels: str) -> int:
        with self._lock:
            entry = self._hist.get(self._key(labels))
            return sum(entry[0]) if entry else 0

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            items = sorted((k, list(c), t[0]) for k, (c, t) in self._hist.items())
        for key, counts, total in items:
            running = 0
            for bound, n in zip((*self.buckets, math.inf), counts):
                running += n
                le = 'le="' + _fmt(bound) + '"'
                lines.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {running}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_fmt(total)}")
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {running}")
        return lines


class Registry:
    """An ordered set of families, rendered together in the Prometheus text format."""

    CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}

    def _add(self, family: _Family) -> _Family:
        if family.name in self._families:
            raise ValueError(f"metric {family.name} registered twice")
        self._families[family.name] = family
        return family

    def counter(self, name: str, help: str, labels: tuple[str, ...] = (), source: Source | None = None) -> Counter:
        return self._add(Counter(name, help, labels, source))  # type: ignore[return-value]

    def gauge(self, name: str, help: str, labels: tuple[str, ...] = (), source: Source | None = None) -> Gauge:
        return self._add(Gauge(name, help, labels, source))  # type: ignore[return-value]

    def histogram(self, name: str, help: str, labels: tuple[str, ...] = (),
                  buckets: tuple[float, ...] = SECONDS_BUCKETS) -> Histogram:
        return self._add(Histogram(name, help, labels, buckets))  # type: ignore[return-value]

    def get(self, name: str) -> _Family:
        return self._families[name]

    def render(self) -> str:
        lines: list[str] = []
        for family in self._families.values():
            lines.extend(family.render())
        return "\n".join(lines) + "\n"


class Metrics:
    """The toolrank families; ``bind_engine`` adds the ones read from the engine at scrape time."""

    def __init__(self) -> None:
        r = self.registry = Registry()
        self.requests = r.counter("toolrank_requests_total", "Requests by transport, method and status.",
                                  ("transport", "method", "status"))
        self.request_seconds = r.histogram("toolrank_request_duration_seconds",
                                           "Request latency seen by the transport.", ("transport", "method"))
        self.stage_seconds = r.histogram("toolrank_rerank_stage_seconds",
                                         "Rerank latency per stage (normalize, tokenize, queue, inference, total).",
                                         ("model", "stage"))
        self.tokens = r.counter("toolrank_rerank_tokens_total", "Tokens scored, by kind (query, candidate).",
                                ("model", "kind"))
        self.candidates = r.counter("toolrank_rerank_candidates_total", "Candidates ranked.", ("model",))
        self.batch_size = r.histogram("toolrank_batch_size", "Sequences per inference batch.", ("model",),
                                      BATCH_BUCKETS)
        self.batch_tokens = r.counter("toolrank_batch_tokens_total",
                                      "Tokens run by the model, by kind (real, padded).", ("model", "kind"))

    def bind_engine(self, engine: "Engine") -> None:
        """Gauges and counters the engine already keeps, read when /metrics is scraped."""
        r = self.registry
        r.gauge("toolrank_ready", "1 when the engine is warmed up and serving.", (),
                lambda: float(engine.ready))
        r.gauge("toolrank_inflight_requests", "Rerank requests being processed.", (), lambda: engine.inflight)
        r.gauge("toolrank_queued_tokens", "Tokens waiting in the model's batch scheduler.", ("model",),
                lambda: {(name,): s.queued_tokens for name, s in engine.schedulers().items()})
        r.counter("toolrank_normalize_fallbacks_total",
                  "Candidates a normalizer could not read, ranked as generic text.", (),
                  lambda: engine.counters.fallbacks)

        def cache(field: int) -> Source:
            return lambda: {k: v[field] for k, v in engine.cache_stats().items()}

        labels = ("cache", "model")
        r.counter("toolrank_cache_hits_total", "Cache hits (normalized text, token ids, embeddings).", labels,
                  cache(0))
        r.counter("toolrank_cache_misses_total", "Cache misses.", labels, cache(1))
        r.gauge("toolrank_cache_entries", "Entries held per cache.", labels, cache(2))

    # -- recording -------------------------------------------------------------

    def observe_request(self, transport: str, method: str, status: str, seconds: float) -> None:
        self.requests.inc(transport=transport, method=method, status=status)
        self.request_seconds.observe(seconds, transport=transport, method=method)

    def observe_rerank(self, outcome: "RerankOutcome", candidates: int) -> None:
        t, u, model = outcome.timing, outcome.usage, outcome.model
        for stage in STAGES:
            self.stage_seconds.observe(getattr(t, f"{stage}_ns") / 1e9, model=model, stage=stage)
        self.tokens.inc(u.query_tokens, model=model, kind="query")
        self.tokens.inc(u.candidate_tokens, model=model, kind="candidate")
        self.candidates.inc(candidates, model=model)

    def observe_batch(self, model: str, sequences: int, real_tokens: int, padded_tokens: int) -> None:
        self.batch_size.observe(sequences, model=model)
        self.batch_tokens.inc(real_tokens, model=model, kind="real")
        self.batch_tokens.inc(padded_tokens, model=model, kind="padded")

    def render(self) -> str:
        return self.registry.render()
