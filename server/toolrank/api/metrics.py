"""Prometheus metrics for both transports, on ``prometheus-client``.

One ``Metrics`` per served engine, with its own ``CollectorRegistry`` (no global
state, so tests can run several servers in one process). Transports record
requests; the engine's own counters and gauges are read at scrape time from
``Engine.stats()`` by a custom collector, and per-batch / per-rerank events
arrive through the engine's observer hook. Names and labels are the documented ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from toolrank.engine.engine import Engine
    from toolrank.types import RerankOutcome

SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
STAGES = ("normalize", "tokenize", "queue", "inference", "total")
disable_created_metrics()  # process-wide: no *_created series beside the documented families
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # text/plain; version=0.0.4: what generate_latest writes


class EngineCollector(Collector):
    """The gauges and counters the engine already keeps, read from one stats snapshot per scrape."""

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        stats = self.engine.stats()
        yield GaugeMetricFamily("toolrank_ready", "1 when the engine is warmed up and serving.",
                                value=float(stats.ready))
        yield GaugeMetricFamily("toolrank_inflight_requests", "Rerank requests being processed.",
                                value=stats.inflight)
        queued = GaugeMetricFamily("toolrank_queued_tokens", "Tokens waiting in the model's batch scheduler.",
                                   labels=("model",))
        for model, tokens in sorted(stats.queued_tokens.items()):
            queued.add_metric((model,), tokens)
        yield queued
        yield CounterMetricFamily("toolrank_normalize_fallbacks_total",
                                  "Candidates a normalizer could not read, ranked as generic text.",
                                  value=stats.fallbacks)
        labels = ("cache", "model")
        hits = CounterMetricFamily("toolrank_cache_hits_total",
                                   "Cache hits (normalized text, token ids, embeddings).", labels=labels)
        misses = CounterMetricFamily("toolrank_cache_misses_total", "Cache misses.", labels=labels)
        entries = GaugeMetricFamily("toolrank_cache_entries", "Entries held per cache.", labels=labels)
        for key, cache in sorted(stats.caches.items()):
            hits.add_metric(key, cache.hits)
            misses.add_metric(key, cache.misses)
            entries.add_metric(key, cache.entries)
        yield from (hits, misses, entries)


class Metrics:
    """The toolrank families for one engine; an engine observer for batches and finished reranks."""

    def __init__(self, engine: "Engine | None" = None) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("toolrank_requests_total", "Requests by transport, method and status.",
                                ("transport", "method", "status"), registry=r)
        self.request_seconds = Histogram("toolrank_request_duration_seconds", "Request latency seen by the transport.",
                                         ("transport", "method"), buckets=SECONDS_BUCKETS, registry=r)
        self.stage_seconds = Histogram("toolrank_rerank_stage_seconds",
                                       "Rerank latency per stage (normalize, tokenize, queue, inference, total).",
                                       ("model", "stage"), buckets=SECONDS_BUCKETS, registry=r)
        self.tokens = Counter("toolrank_rerank_tokens_total", "Tokens scored, by kind (query, candidate).",
                              ("model", "kind"), registry=r)
        self.candidates = Counter("toolrank_rerank_candidates_total", "Candidates ranked.", ("model",), registry=r)
        self.batch_size = Histogram("toolrank_batch_size", "Sequences per inference batch.", ("model",),
                                    buckets=BATCH_BUCKETS, registry=r)
        self.batch_tokens = Counter("toolrank_batch_tokens_total", "Tokens run by the model, by kind (real, padded).",
                                    ("model", "kind"), registry=r)
        if engine is not None:
            r.register(EngineCollector(engine))
            engine.add_observer(self)

    # -- recording (transports) -----------------------------------------------------------------------------------

    def observe_request(self, transport: str, method: str, status: str, seconds: float) -> None:
        self.requests.labels(transport, method, status).inc()
        self.request_seconds.labels(transport, method).observe(seconds)

    # -- the engine observer ---------------------------------------------------------------------------------------

    def on_rerank(self, outcome: "RerankOutcome", candidates: int) -> None:
        t, u, model = outcome.timing, outcome.usage, outcome.model
        for stage in STAGES:
            self.stage_seconds.labels(model, stage).observe(getattr(t, f"{stage}_ns") / 1e9)
        self.tokens.labels(model, "query").inc(u.query_tokens)
        self.tokens.labels(model, "candidate").inc(u.candidate_tokens)
        self.candidates.labels(model).inc(candidates)

    def on_batch(self, model: str, sequences: int, real_tokens: int, padded_tokens: int) -> None:
        self.batch_size.labels(model).observe(sequences)
        self.batch_tokens.labels(model, "real").inc(real_tokens)
        self.batch_tokens.labels(model, "padded").inc(padded_tokens)

    def render(self) -> bytes:
        """The Prometheus text exposition (format 0.0.4)."""
        return generate_latest(self.registry)
