"""OpenTelemetry tracing, optional (``pip install 'toolrank[otel]'``), off unless an endpoint is set.

Each request gets a SERVER span (gRPC method or HTTP route), its parent taken
from the incoming ``traceparent`` header / metadata (W3C trace context), and
child spans per engine stage (normalize, tokenize, queue, inference). The
stage spans are made from the engine's own per-stage timing when a rerank
finishes (an engine observer), laid end to end in the engine's order; queue
and inference are the request's totals over its batches.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from toolrank.errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from toolrank.settings import Settings
    from toolrank.types import RerankOutcome

STAGES = ("normalize", "tokenize", "queue", "inference")


class Tracing:
    """Spans for one server, from its own TracerProvider (none is set globally)."""

    def __init__(self, provider: "TracerProvider") -> None:
        from opentelemetry import propagate, trace

        self.provider = provider
        self.tracer = provider.get_tracer("toolrank")
        self._trace = trace
        self._propagate = propagate

    @classmethod
    def from_settings(cls, settings: "Settings", environ: Mapping[str, str] | None = None) -> "Tracing | None":
        """None unless ``--otlp-endpoint`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set."""
        env = os.environ if environ is None else environ
        endpoint = settings.otlp_endpoint or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
        if not endpoint:
            return None
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError as exc:
            raise ConfigError(f"tracing to {endpoint} needs the otel extra: pip install 'toolrank[otel]' "
                              f"({exc.name} is missing)") from None
        provider = TracerProvider(resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME",
                                                                                      "toolrank")}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        return cls(provider)

    def shutdown(self) -> None:
        self.provider.shutdown()

    # -- request spans -----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _server_span(self, name: str, carrier: Mapping[str, str], attributes: dict[str, Any]) -> Iterator[Any]:
        context = self._propagate.extract(carrier)
        with self.tracer.start_as_current_span(name, context=context, kind=self._trace.SpanKind.SERVER,
                                               attributes=attributes, record_exception=False) as span:
            yield span

    @contextlib.contextmanager
    def http_span(self, scope: Mapping[str, Any], status: list[int]) -> Iterator[None]:
        """Around one HTTP request; ``status[0]`` holds the response status when it ends."""
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                   if k in (b"traceparent", b"tracestate")}
        method, path = scope.get("method", ""), scope.get("path", "")
        with self._server_span(f"{method} {path}", carrier, {"http.request.method": method, "url.path": path,
                                                            "rpc.system": "http"}) as span:
            try:
                yield
            finally:
                route = scope.get("route")
                if route is not None:
                    span.update_name(f"{method} {getattr(route, 'path', path)}")
                span.set_attribute("http.response.status_code", status[0] or 500)
                if (status[0] or 500) >= 500:
                    span.set_status(self._trace.Status(self._trace.StatusCode.ERROR))

    @contextlib.contextmanager
    def grpc_span(self, method: str, metadata: Iterable[tuple[str, Any]] | None) -> Iterator[Any]:
        """Around one gRPC call; the caller sets ``rpc.grpc.status_code`` on the yielded span."""
        carrier = {k: v for k, v in (metadata or ()) if k in ("traceparent", "tracestate") and isinstance(v, str)}
        service, _, name = method.strip("/").partition("/")
        with self._server_span(method.strip("/"), carrier, {"rpc.system": "grpc", "rpc.service": service,
                                                            "rpc.method": name}) as span:
            yield span

    # -- stage spans (an engine observer) ----------------------------------------------------------------------------

    def on_rerank(self, outcome: "RerankOutcome", candidates: int) -> None:
        """Child spans of the current request span, one per stage, from the engine's timing."""
        parent = self._trace.get_current_span()
        if not parent.get_span_context().is_valid:
            return
        t = outcome.timing
        start = time.time_ns() - t.total_ns
        context = self._trace.set_span_in_context(parent)
        for stage in STAGES:
            duration = getattr(t, f"{stage}_ns")
            span = self.tracer.start_span(stage, context=context, start_time=start,
                                          attributes={"toolrank.model": outcome.model,
                                                      "toolrank.candidates": candidates})
            span.end(end_time=start + duration)
            start += duration
        parent.set_attribute("toolrank.model", outcome.model)
        parent.set_attribute("toolrank.candidates", candidates)
        parent.set_attribute("toolrank.tokens", outcome.usage.query_tokens + outcome.usage.candidate_tokens)

    def on_batch(self, model: str, sequences: int, real_tokens: int, padded_tokens: int) -> None:
        pass  # batches are shared by requests: no single parent span
