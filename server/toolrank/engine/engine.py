"""The Engine: owns the models, caches and schedulers; turns a RerankQuery into a RerankOutcome.

Data path, one direction: validate -> normalize (per kind, cached) -> tokenize
(query once, candidates cached) -> build pairs/windows -> shared batch
scheduler -> onnxruntime -> scores (best window, activation) -> rank.
Transports (gRPC, HTTP) and the CLI's eval all call :meth:`Engine.rerank`.

Threads: normalization and tokenization run in the engine's bounded CPU pool (``engine/pools.py``),
so the caches they share are locked (``engine/memory.py``: one byte budget for all of them); the running totals in
``EngineCounters`` are only ever updated on the event loop.

Scores: a cross-encoder's score is its activation of the logit (sigmoid for
jina/bge/ms-marco), ``raw_scores`` gives the logit. A bi-encoder's cosine c in
[-1, 1] is mapped to (c + 1) / 2, clipped to [0, 1]; ``raw_scores`` gives the
cosine itself. Lexical fusion (engine/lexical.py) happens on the raw scale (logit
or cosine) and in units of the model's own spread over the request, so a peaky
cross-encoder's sigmoids never let BM25 decide; the order is the fused raw
value's. An ensemble (engine/ensemble.py) is served like a model: its members run
through this same path and are fused on z-scores (engine/ensemble_run.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
from array import array
import functools
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Awaitable, TypeVar

import numpy as np

from toolrank.engine.cache import content_key
from toolrank.engine.ensemble import EnsembleSpec, read_ensemble
from toolrank.engine.ensemble_run import rerank_ensemble
from toolrank.engine.lexical import default_weight, fuse
from toolrank.engine.memory import BudgetedCache, MemoryBudget
from toolrank.engine.pairs import Sequence, build_single, cap_query, pair_windows
from toolrank.engine.query_window import QueryWindow, fit_query, query_budget
from toolrank.engine.pools import Pools
from toolrank.engine.scheduler import BatchScheduler
from toolrank.engine.stacks import shipped
from toolrank.engine.stats import CacheStats, EngineObserver, EngineStats, Observers
from toolrank.engine.steps import combine_outcomes, split_steps
from toolrank.engine.validate import validate_candidates, validate_rerank
from toolrank.errors import (DeadlineExceeded, InvalidRequest, ModelUnavailable, Overloaded, RequestTooLarge,
                             UnknownModel)
from toolrank.models.loader import LoadedModel
from toolrank.normalize import normalize, raw_text
from toolrank.settings import Settings
from toolrank.types import (
    BI_ENCODER,
    Candidate,
    CandidateInput,
    ModelSpec,
    Normalized,
    NormalizedCandidate,
    NormalizeOptions,
    RerankOutcome,
    RerankQuery,
    Scored,
    Timing,
    Usage,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
SHORT_QUERY_CHARS = 4096  # a query this short is fitted to the window on the event loop (microseconds), longer in a thread


@dataclass
class ServedModel:
    """A loaded model with its scheduler and per-model caches."""

    model: LoadedModel
    scheduler: BatchScheduler
    token_cache: BudgetedCache[array]  # int32 ids (a tuple of Python ints costs ten times more)
    embedding_cache: BudgetedCache[np.ndarray]

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec


@dataclass
class EngineCounters:
    """Running totals, read by metrics and benchmarks; updated on the event loop only."""

    requests: int = 0
    candidates: int = 0
    fallbacks: int = 0
    normalize_hits: int = 0
    normalize_misses: int = 0


class Engine:
    """Serve one or more models; ``start()`` before use, ``stop()`` after."""

    def __init__(self, settings: Settings, models: list[LoadedModel], ensembles: tuple[EnsembleSpec, ...] = ()) -> None:
        if not models:
            raise ModelUnavailable("no model to serve")
        self.settings = settings
        self._models = models
        self.ensembles = {e.name: e for e in ensembles}
        self._add_shipped_stacks(settings, {m.spec.name for m in models})
        self._served: dict[str, ServedModel] = {}
        # one budget in bytes for every cache (cache_size: 0 turns them off, else caps entries per cache)
        self.memory = MemoryBudget(settings.cache_memory_mb * 2**20 if settings.cache_size else 0)
        self._normalized: BudgetedCache[Normalized] = self.memory.cache("normalized", max_entries=settings.cache_size)
        self._options = NormalizeOptions(max_chars=settings.normalize_max_chars)
        self.default_model = settings.default_model or (
            "default" if "default" in self.ensembles else models[0].spec.name)
        self.counters = EngineCounters()
        self._inflight = 0
        self._closing = False
        self.ready = False
        self._failure: BaseException | None = None
        self._failed = asyncio.Event()
        self.observers = Observers()  # transports subscribe (metrics); the engine owns no registry
        self.pools = Pools()  # cpu / store / build: one kind of blocking work never starves another

    def _add_shipped_stacks(self, settings: Settings, served: set[str]) -> None:
        """toolrank/models/stacks.json: each offered stack whose members are all served, and the default stack
        as the ensemble ``default`` when it fuses several served models (engine/stacks.py)."""
        stacks = shipped()
        candidates = list(stacks.offered)
        if len(stacks.default.models) > 1 and not settings.default_model:
            candidates.append(stacks.default)
        for stack in candidates:
            if set(stack.models) <= served and stack.name not in served and stack.name not in self.ensembles:
                self.ensembles[stack.name] = stack

    @classmethod
    def from_settings(cls, settings: Settings) -> "Engine":
        """Load every configured model directory (raises ModelLoadError with the reason)."""
        from toolrank.engine.ensemble import parse_ensemble_flag

        models, ensembles = [], []
        for name, path in settings.models:
            ensemble = read_ensemble(path)
            if ensemble is None:
                models.append(LoadedModel(path, name or None, threads=settings.threads))
            else:
                ensembles.append(ensemble if not name or name == ensemble.name else replace(ensemble, name=name))
        ensembles += [parse_ensemble_flag(e) for e in settings.ensembles]
        return cls(settings, models, tuple(ensembles))

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Start one scheduler per model, then warm each model up with a real request."""
        if self.pools.closed:  # started again after a stop
            self.pools = Pools()
        for m in self._models:
            if m.spec.name in self._served:
                raise ModelUnavailable(f"two models are named {m.spec.name!r}")
            self._served[m.spec.name] = ServedModel(
                m,
                BatchScheduler(m, self.settings.token_budget, self.settings.max_batch_size,
                               on_batch=functools.partial(self.observers.batch, m.spec.name),
                               run_overhead_tokens=self.settings.run_overhead_tokens,
                               on_failure=self._scheduler_failed),
                self.memory.cache(f"tokens:{m.spec.name}", max_entries=self.settings.cache_size),
                self.memory.cache(f"embeddings:{m.spec.name}", max_entries=self.settings.cache_size),
            )
        for ensemble in self.ensembles.values():
            if ensemble.name in self._served:
                raise ModelUnavailable(f"ensemble {ensemble.name!r} has the name of a served model")
            missing = [m for m in ensemble.models if m not in self._served]
            if missing:
                raise UnknownModel(f"ensemble {ensemble.name!r}: members {missing} are not served "
                                   f"(served: {', '.join(sorted(self._served))})")
        if self.default_model not in self._served and self.default_model not in self.ensembles:
            raise UnknownModel(f"default model {self.default_model!r} is not among the served models")
        for served in self._served.values():
            served.scheduler.start()
            template = served.model.template
            warm = [build_single([template.pad_id] * 4, template, served.spec.max_length)[0]]
            await served.scheduler.run(warm)
        self.ready = True

    def _scheduler_failed(self, exc: BaseException) -> None:
        """A scheduler died (a bug): refuse every request from now on; ``wait_failed`` tells the server."""
        self.ready = False
        self._failure = exc
        self._failed.set()

    @property
    def failure(self) -> BaseException | None:
        """Why a scheduler died, once one has (the engine then stays not ready)."""
        return self._failure

    async def wait_failed(self) -> BaseException:
        """Return once a scheduler has died, with its error: the server should report NOT_SERVING and exit."""
        await self._failed.wait()
        assert self._failure is not None
        return self._failure

    async def stop(self) -> None:
        self.ready = False
        for served in self._served.values():
            await served.scheduler.stop()
        self.pools.shutdown()

    async def __aenter__(self) -> "Engine":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- queries -----------------------------------------------------------------

    def model_specs(self) -> list[ModelSpec]:
        """Served models, then ensembles (kind ``ensemble``, their members' shortest lengths)."""
        specs = [s.spec for s in self._served.values()]
        return specs + [ensemble_spec(e, [self._served[m].spec for m in e.models]) for e in self.ensembles.values()]

    def served(self, name: str) -> ServedModel:
        """A served model by name ("" = the default); an ensemble answers with its first member
        (its tokenizer counts tokens for Normalize; its embeddings serve catalogs)."""
        name = name or self.default_model
        if name in self.ensembles:
            name = self.ensembles[name].models[0]
        served = self._served.get(name)
        if served is None:
            known = ", ".join(sorted([*self._served, *self.ensembles]))
            raise UnknownModel(f"model: {name!r} is not served (served: {known})")
        return served

    def scheduler_of(self, name: str = "") -> BatchScheduler:
        return self.served(name).scheduler

    @property
    def inflight(self) -> int:
        return self._inflight

    def schedulers(self) -> dict[str, BatchScheduler]:
        return {name: s.scheduler for name, s in self._served.items()}

    def cache_stats(self) -> dict[tuple[str, str], tuple[int, int, int]]:
        """(hits, misses, entries) per (cache, model); the normalized-text cache is shared (model "")."""
        out = {("normalized", ""): self._normalized.stats()}
        for name, s in self._served.items():
            out[("tokens", name)] = s.token_cache.stats()
            out[("embeddings", name)] = s.embedding_cache.stats()
        return out

    def add_observer(self, observer: EngineObserver) -> None:
        """Be told of each batch and each finished rerank (metrics, tracing)."""
        self.observers.add(observer)

    def stats(self) -> EngineStats:
        """A snapshot of the engine's counters and gauges, read by transports at scrape time."""
        return EngineStats(
            ready=self.ready,
            inflight=self._inflight,
            requests=self.counters.requests,
            candidates=self.counters.candidates,
            fallbacks=self.counters.fallbacks,
            queued_tokens={name: s.scheduler.queued_tokens for name, s in self._served.items()},
            caches={k: CacheStats(*v) for k, v in self.cache_stats().items()},
        )

    def normalize_one(self, item: CandidateInput) -> tuple[Normalized, bool]:
        """The normalized text of one candidate, from the cache when seen before.

        The key covers the input and every option (``repr`` of the frozen dataclasses), so two
        option sets never share an entry.
        """
        key = content_key(repr(item), repr(self._options))
        cached = self._normalized.get(key)
        if cached is not None:
            return cached, True
        result = normalize(item, self._options)
        self._normalized.put(key, result)
        return result, False

    def _normalize_all(self, candidates: tuple[Candidate, ...], raw: bool,
                       stop: threading.Event | None = None) -> tuple[list[Normalized], list[bool]]:
        """Each candidate's text, and whether it came from the cache (raw text counts as cached: no work)."""
        if raw:
            return [Normalized(raw_text(c.content)) for c in candidates], [True] * len(candidates)
        out: list[Normalized] = []
        hits: list[bool] = []
        for c in candidates:
            if stop is not None and stop.is_set():
                return out, hits  # nobody waits for this request any more
            result, hit = self.normalize_one(c.content)
            out.append(result)
            hits.append(hit)
        return out, hits

    def _token_ids(self, served: ServedModel, texts: list[str]) -> tuple[list[tuple[int, ...]], list[bool]]:
        """Token ids (no special tokens) per text, and whether each came from the cache.

        Unseen texts are tokenized in one batch; a text repeated in the request is a hit
        only if its first occurrence was.
        """
        keys = [content_key(t) for t in texts]
        # a bi-encoder reads max_length tokens: keep no more (one past it still tells that the text was cut)
        keep = served.spec.max_length + 1 if served.spec.kind == BI_ENCODER else None
        found: dict[bytes, tuple[int, ...]] = {}
        cached_keys: set[bytes] = set()
        todo: dict[bytes, str] = {}
        for key, text in zip(keys, texts):
            if key in found or key in todo:
                continue
            cached = served.token_cache.get(key)
            if cached is None:
                todo[key] = text
            else:
                found[key] = tuple(cached)
                cached_keys.add(key)
        if todo:
            for key, ids in zip(todo, served.model.tokenize(list(todo.values()))):
                found[key] = tuple(ids[:keep])
                served.token_cache.put(key, array("i", found[key]))
        return [found[k] for k in keys], [k in cached_keys for k in keys]

    async def rerank(self, query: RerankQuery, *, raw: bool = False) -> RerankOutcome:
        """Rank the candidates of ``query``; ``raw`` skips normalization (for comparisons)."""
        t0 = time.perf_counter_ns()
        validate_rerank(query, self.settings.limits)
        ensemble = self.ensembles.get(query.model or self.default_model)
        served = self.served(query.model)
        self._check_admission()
        self._inflight += 1
        try:
            return await self._within_time_limit(self._rerank_request(query, served, ensemble, raw, t0))
        finally:
            self._inflight -= 1

    async def _rerank_request(self, query: RerankQuery, served: ServedModel, ensemble: EnsembleSpec | None,
                              raw: bool, t0: int) -> RerankOutcome:
        """Fit the query to the model's window (engine/query_window.py), then score it whole and, when it is a
        multi-step request, per step too, fused (engine/steps.py); a model or an ensemble alike."""
        name = query.model or self.default_model
        window = (self.query_window(query.query, name) if len(query.query) < SHORT_QUERY_CHARS
                  else await self.pools.cpu(self.query_window, query.query, name))
        if window.truncated:
            if not query.truncate:
                raise RequestTooLarge(f"query: over the {self._query_budget(name)}-token window of model {name!r} "
                                      f"(send truncate=true to have it cut to its request part)")
            query = dataclasses.replace(query, query=window.text)

        async def score(q: RerankQuery, observe: bool) -> RerankOutcome:
            if ensemble is not None:
                return await rerank_ensemble(self, ensemble, q, raw, t0, observe=observe)
            return await self._rerank(q, served, raw, t0, observe=observe)

        steps = split_steps(query.query).steps if query.split_steps else ()
        if len(steps) < 2:
            outcome = await score(query, True)
            usage = outcome.usage  # ``truncated`` counts the query too, as it always has
            return dataclasses.replace(outcome, usage=dataclasses.replace(
                usage, query_truncated=window.truncated, truncated=usage.truncated + window.truncated))
        whole = await score(dataclasses.replace(query, top_n=0), False)
        parts = await asyncio.gather(*(score(dataclasses.replace(query, query=s, top_n=0), False) for s in steps))
        outcome = combine_outcomes(whole, parts, query.top_n, window.truncated, time.perf_counter_ns() - t0,
                                   clip=not query.raw_scores)
        self.counters.requests += 1
        self.counters.candidates += len(query.candidates)
        self.counters.fallbacks += whole.usage.fallbacks
        self.observers.rerank(outcome, len(query.candidates))
        return outcome

    def _query_budget(self, name: str) -> int:
        """Query tokens ``name`` reads: a model's window, or an ensemble's smallest member window."""
        ensemble = self.ensembles.get(name or self.default_model)
        members = ensemble.models if ensemble is not None else [name]
        return min(query_budget(self.served(m).model) for m in members)

    def query_window(self, text: str, model: str = "") -> QueryWindow:
        """``text`` fitted to the query window of ``model`` (a served model or an ensemble; engine/query_window.py);
        tokenizes, so a long text is fitted off the event loop."""
        return fit_query(text, self.served(model).model.tokenize, self._query_budget(model))

    def _check_admission(self) -> None:
        """Refuse at once, never queue without bound: not ready, shutting down, or too much in flight."""
        if not self.ready:
            raise ModelUnavailable("the server is shutting down" if self._closing else "the engine is not ready")
        if self._inflight >= self.settings.max_inflight_requests:
            raise Overloaded(f"{self._inflight} requests in flight, the limit is "
                             f"{self.settings.max_inflight_requests}: retry later")

    async def _within_time_limit(self, work: Awaitable[T]) -> T:
        """The server's own limit per request: past it the work is cancelled (the scheduler drops its sequences)."""
        limit = self.settings.request_timeout_s
        if limit <= 0:
            return await work
        try:
            return await asyncio.wait_for(work, limit)
        except asyncio.TimeoutError:
            raise DeadlineExceeded(f"the request took over {limit:g} s, the server's limit per request") from None

    async def drain(self, grace_s: float) -> bool:
        """Refuse new requests, then wait up to ``grace_s`` for those in flight; True when none is left."""
        self.ready = False
        self._closing = True
        deadline = time.monotonic() + grace_s
        while self._inflight and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self._inflight == 0

    async def normalize_request(self, candidates: tuple[Candidate, ...],
                                raw: bool) -> tuple[list[Normalized], list[bool]]:
        """Each candidate's text and whether it came from the cache, in the CPU pool, counted once per request
        (an ensemble normalizes once and hands the result to each member)."""
        stop = threading.Event()  # set on cancel or timeout: the worker thread skips the remaining candidates
        try:
            normalized, norm_hits = await self.pools.cpu(self._normalize_all, candidates, raw, stop)
        except asyncio.CancelledError:
            stop.set()
            raise
        if not raw:
            self.counters.normalize_hits += sum(norm_hits)
            self.counters.normalize_misses += len(norm_hits) - sum(norm_hits)
        return normalized, norm_hits

    async def _rerank(self, query: RerankQuery, served: ServedModel, raw: bool, t0: int,
                      observe: bool = True, lexical_weights: np.ndarray | None = None,
                      prepared: tuple[list[Normalized], list[bool]] | None = None) -> RerankOutcome:
        """Score ``query`` with one model; ``prepared``: the request's normalized candidates, when the caller
        (an ensemble) has them already."""
        normalized, norm_hits = prepared or await self.normalize_request(query.candidates, raw)
        t1 = time.perf_counter_ns()
        texts = [n.text for n in normalized]
        q_ids, query_capped, doc_ids, token_hits = await self.pools.cpu(
            self._tokenize_request, served, query.query, texts)
        hits = sum(a and b for a, b in zip(norm_hits, token_hits))
        cut = [False] * len(doc_ids)  # per candidate: cut to fit (max_tokens_per_doc, windows, max length)
        if query.max_tokens_per_doc > 0:
            cut = [len(d) > query.max_tokens_per_doc for d in doc_ids]
            doc_ids = [d[: query.max_tokens_per_doc] for d in doc_ids]
        t2 = time.perf_counter_ns()
        spec = served.spec
        if not query.truncate and spec.kind == BI_ENCODER:  # TEI's truncate=false: refuse what would be cut
            for i, ids in enumerate(doc_ids):
                if self._single_cut(served, ids):
                    raise RequestTooLarge(f"candidates[{i}]: {len(ids)} tokens, over the window of model "
                                          f"{spec.name!r} (send truncate=true to have it cut)")
        if spec.kind == BI_ENCODER:
            scores, windows, queue_ns, infer_ns = await self._score_bi(served, q_ids, doc_ids, texts, cut)
            query_capped = query_capped or self._single_cut(served, q_ids)
        else:
            scores, windows, queue_ns, infer_ns = await self._score_cross(served, q_ids, doc_ids, cut)
        truncated = sum(cut) + query_capped
        fused = await self._fuse_lexical(query, normalized, texts, scores,  # on the raw scale (logit, cosine)
                                         lexical_weights)
        order = sorted(range(len(fused)), key=lambda i: (-fused[i], i))  # the raw order: clipping makes no ties
        scores = fused if query.raw_scores else to_unit_interval(spec, fused)
        if query.top_n:
            order = order[: query.top_n]
        results = tuple(
            Scored(i, query.candidates[i].id, float(scores[i]), texts[i] if query.return_text else None)
            for i in order
        )
        fallbacks = sum(1 for n in normalized if n.fallback)
        if not observe:  # an ensemble member: the ensemble counts and reports the request once
            return RerankOutcome(results, Usage(len(q_ids), sum(len(d) for d in doc_ids), truncated, windows,
                                                fallbacks, hits),
                                 Timing(t1 - t0, t2 - t1, queue_ns, infer_ns, time.perf_counter_ns() - t0), spec.name)
        self.counters.requests += 1
        self.counters.candidates += len(texts)
        self.counters.fallbacks += fallbacks
        usage = Usage(
            query_tokens=len(q_ids),
            candidate_tokens=sum(len(d) for d in doc_ids),
            truncated=truncated,
            windows=windows,
            fallbacks=fallbacks,
            cache_hits=hits,
        )
        timing = Timing(t1 - t0, t2 - t1, queue_ns, infer_ns, time.perf_counter_ns() - t0)
        outcome = RerankOutcome(results, usage, timing, spec.name)
        self.observers.rerank(outcome, len(texts))
        return outcome

    async def _fuse_lexical(self, query: RerankQuery, normalized: list[Normalized], texts: list[str],
                            scores: np.ndarray, lexical_weights: np.ndarray | None = None) -> np.ndarray:
        """Raw model score + lexical_weight x its spread x z(BM25) over this request (engine/lexical.py);
        ``lexical_weights``: one per candidate, a stack's (engine/ensemble_run.py), before the request's."""
        weights: np.ndarray | float
        if lexical_weights is not None:
            weights = lexical_weights
        elif query.lexical_weight is not None:
            weights = query.lexical_weight
        else:
            weights = np.array([default_weight(n.kind or c.kind) for n, c in zip(normalized, query.candidates)])
        if not np.any(weights):
            return scores
        return await self.pools.cpu(fuse, scores, query.query, texts, weights)

    def _tokenize_request(self, served: ServedModel, query: str,
                          texts: list[str]) -> tuple[list[int], bool, list[tuple[int, ...]], list[bool]]:
        """The query's ids (capped for a cross-encoder, and whether that cut it), each text's ids and cache hits."""
        capped = False
        if served.spec.kind == BI_ENCODER:
            q_ids = list(served.model.tokenize([served.model.query_text(query)])[0])
        else:
            q_ids = list(served.model.tokenize([query])[0])
            full = len(q_ids)
            q_ids = cap_query(q_ids, served.model.template, served.spec.max_query_length)
            capped = len(q_ids) < full
        doc_ids, hits = self._token_ids(served, texts)
        return q_ids, capped, doc_ids, hits

    @staticmethod
    def _single_cut(served: ServedModel, ids: list[int] | tuple[int, ...]) -> bool:
        """Whether a bi-encoder input of ``ids`` is cut to the model's length."""
        return build_single(list(ids), served.model.template, served.spec.max_length)[1]

    async def _score_cross(self, served: ServedModel, q_ids: list[int], doc_ids: list[tuple[int, ...]],
                           cut: list[bool]) -> tuple[np.ndarray, int, int, int]:
        """Logits (best window), windows scored, queue and inference ns; marks windowed candidates in ``cut``."""
        template, max_length = served.model.template, served.spec.max_length
        sequences: list[Sequence] = []
        owner: list[int] = []
        for i, ids in enumerate(doc_ids):
            windows = pair_windows(q_ids, list(ids), template, max_length)
            cut[i] = cut[i] or len(windows) > 1
            sequences.extend(windows)
            owner.extend([i] * len(windows))
        self._admit(served, sequences)
        outputs, queue_ns, infer_ns = await served.scheduler.run(sequences)
        logits = _logit_of(outputs)
        scores = np.full(len(doc_ids), -np.inf, dtype=np.float64)
        np.maximum.at(scores, np.asarray(owner), logits)
        return scores, len(sequences), queue_ns, infer_ns

    async def _score_bi(self, served: ServedModel, q_ids: list[int], doc_ids: list[tuple[int, ...]],
                        texts: list[str], cut: list[bool]) -> tuple[np.ndarray, int, int, int]:
        """Cosines, inputs scored (the query + one per candidate, cached or not), queue and inference ns.

        Usage never depends on the cache: every candidate is checked for truncation, and
        ``windows`` counts the inputs the request's scores rest on, computed now or before.
        """
        template, max_length = served.model.template, served.spec.max_length
        q_seq, _ = build_single(q_ids, template, max_length)
        # the token count is in the key: a document capped by max_tokens_per_doc is another sequence
        keys = [content_key(t, str(len(d))) for t, d in zip(texts, doc_ids)]
        embeddings: list[np.ndarray | None] = [served.embedding_cache.get(k) for k in keys]
        todo: dict[bytes, int] = {}
        for i, emb in enumerate(embeddings):
            cut[i] = cut[i] or self._single_cut(served, doc_ids[i])
            if emb is None and keys[i] not in todo:
                todo[keys[i]] = i
        sequences = [q_seq]
        for i in todo.values():
            sequences.append(build_single(list(doc_ids[i]), template, max_length)[0])
        self._admit(served, sequences)
        outputs, queue_ns, infer_ns = await served.scheduler.run(sequences)
        # A copy: a row of ``outputs`` is a view that would keep the whole batch matrix alive in the cache.
        fresh = {key: outputs[row].copy() for row, key in enumerate(todo, start=1)}
        for key, embedding in fresh.items():
            served.embedding_cache.put(key, embedding)
        matrix = np.stack([e if e is not None else fresh[k] for e, k in zip(embeddings, keys)])
        scores = (matrix @ outputs[0]).astype(np.float64)
        return scores, 1 + len(doc_ids), queue_ns, infer_ns

    def _admit(self, served: ServedModel, sequences: list[Sequence]) -> None:
        tokens = sum(len(s) for s in sequences)
        if served.scheduler.queued_tokens + tokens > self.settings.max_queued_tokens:
            raise Overloaded(f"{served.scheduler.queued_tokens} tokens queued, this request adds {tokens}: "
                             f"over the limit of {self.settings.max_queued_tokens}, retry later")

    async def embed(self, texts: list[str], model: str = "", *, cache: bool = True,
                    queries: bool = False) -> "Embedded":
        """Unit vectors of ``texts`` under a bi-encoder, through the shared scheduler (catalogs: put and Select).

        ``cache``: read and fill the same embedding cache as Rerank (a catalog put warms Rerank and back).
        ``queries``: the texts are queries (Select's query and context turns): the model's query
        instruction goes before each; candidates never get it.
        """
        served = self.served(model)
        if served.spec.kind != BI_ENCODER:
            raise InvalidRequest(f"model: {served.spec.name!r} is a {served.spec.kind}; embeddings need a bi-encoder")
        if queries:
            texts = [served.model.query_text(t) for t in texts]
        self._check_admission()
        self._inflight += 1
        try:
            return await self._within_time_limit(self._embed(served, texts, cache))
        finally:
            self._inflight -= 1

    async def _embed(self, served: ServedModel, texts: list[str], cache: bool) -> "Embedded":
        t0 = time.perf_counter_ns()
        ids, _hits = (self._token_ids(served, texts) if len(texts) == 1
                      else await self.pools.cpu(self._token_ids, served, texts))
        t1 = time.perf_counter_ns()
        keys = [content_key(t, str(len(d))) for t, d in zip(texts, ids)]  # Rerank's own embedding key
        found = [served.embedding_cache.get(k) if cache else None for k in keys]
        todo = [i for i, v in enumerate(found) if v is None]
        sequences, truncated = [], 0
        for i in todo:
            seq, cut = build_single(list(ids[i]), served.model.template, served.spec.max_length)
            truncated += cut
            sequences.append(seq)
        queue_ns = infer_ns = 0
        if sequences:
            self._admit(served, sequences)
            outputs, queue_ns, infer_ns = await served.scheduler.run(sequences)
            for row, i in enumerate(todo):
                vector = outputs[row].copy()  # a row of its own: a view would keep the whole batch alive
                found[i] = vector
                if cache:
                    served.embedding_cache.put(keys[i], vector)
        vectors = np.stack(found) if found else np.zeros((0, 0), np.float32)  # type: ignore[arg-type]
        return Embedded(vectors, sum(len(d) for d in ids), truncated, t1 - t0, queue_ns, infer_ns)

    async def normalize_candidates(self, candidates: tuple[Candidate, ...], model: str = "") -> list[NormalizedCandidate]:
        """What each candidate becomes, with token counts under the model's tokenizer."""
        validate_candidates(candidates, self.settings.limits)
        served = self.served(model)

        def work() -> list[NormalizedCandidate]:
            normalized = [self.normalize_one(c.content)[0] for c in candidates]
            raws = [raw_text(c.content) for c in candidates]
            counts = served.model.tokenize([n.text for n in normalized] + raws)
            n = len(candidates)
            return [
                NormalizedCandidate(i, c.id, c.kind, normalized[i], len(counts[i]), len(counts[n + i]))
                for i, c in enumerate(candidates)
            ]

        self._check_admission()
        self._inflight += 1
        try:
            return await self._within_time_limit(self.pools.cpu(work))
        finally:
            self._inflight -= 1


@dataclass(frozen=True, slots=True)
class Embedded:
    """What :meth:`Engine.embed` returns: one unit row per text, and what it cost."""

    vectors: np.ndarray  # float32 [n, dim]
    tokens: int
    truncated: int
    tokenize_ns: int
    queue_ns: int
    inference_ns: int


def to_unit_interval(spec: ModelSpec, raw: np.ndarray) -> np.ndarray:
    """A model's raw scores as returned scores: sigmoid of a logit, (cosine + 1) / 2 clipped to [0, 1].

    A cross-encoder whose manifest says ``activation: none`` keeps its raw scores.
    """
    if spec.kind == BI_ENCODER:
        return np.clip((raw + 1.0) / 2.0, 0.0, 1.0)
    if spec.activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-np.clip(raw, -500.0, 500.0)))
    return raw


def ensemble_spec(ensemble: EnsembleSpec, members: list[ModelSpec]) -> ModelSpec:
    """How Info shows an ensemble: kind ``ensemble``, the shortest member lengths, members in ``path``."""
    return ModelSpec(name=ensemble.name, path="+".join(m.model for m in ensemble.members), kind="ensemble",
                     activation="sigmoid", max_length=min(m.max_length for m in members),
                     max_query_length=min(m.max_query_length for m in members), family="ensemble")


def _logit_of(outputs: np.ndarray) -> np.ndarray:
    """One relevance logit per row: the logit itself, or log-odds of label 1 for two labels."""
    if outputs.shape[1] == 2:
        return (outputs[:, 1] - outputs[:, 0]).astype(np.float64)
    return outputs[:, 0].astype(np.float64)
