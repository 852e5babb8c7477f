"""CatalogService: put, select, get, list, delete over a Store, with one index snapshot per catalog.

Put: validate (a bad candidate refuses the whole put, its index named) -> normalize
(the engine's cached normalizers) -> embed only texts neither the old snapshot nor
the store already has (engine, shared scheduler, in batches) -> one atomic store
commit on the version it was built from -> a new immutable :class:`CatalogIndex`
swapped in. Select: one snapshot for the whole call -> query embedding (instruction
prepended, earlier turns weighted below) -> stage one over every row -> stage two,
a served cross-encoder over stage one's top ``rerank_depth``, through
:meth:`Engine.rerank` (the same scheduler as Rerank).
"""

from __future__ import annotations

import asyncio
import weakref
import functools
import json
import logging
import random
import re
import time
from dataclasses import replace
from typing import Callable, Mapping, Sequence

import numpy as np
from cachetools import TTLCache

from toolrank.engine.bm25 import Vocabulary, term_counts
from toolrank.catalogs import learning
from toolrank.catalogs.index import KINDS, CatalogIndex, context_weights, lexical_text, name_of, query_terms
from toolrank.catalogs.cut import cut_rows, estimate_tokens
from toolrank.catalogs.learner import Learner
from toolrank.catalogs.no_match import is_no_match, load_thresholds
from toolrank.catalogs.store import (CatalogRecord, Store, StoredEntry, VersionConflict, open_store,
                                     unreferenced_embeddings)
from toolrank.catalogs.types import (
    BM25,
    DEFAULT_RERANK_DEPTH,
    DEFAULT_TOP_K,
    DENSE,
    FUSED,
    CatalogInfo,
    FeedbackOutcome,
    FeedbackRequest,
    PutCatalogRequest,
    PutOutcome,
    SelectHit,
    SelectOutcome,
    SelectQuery,
)
from toolrank.engine.cache import content_key
from toolrank.engine.engine import Engine
from toolrank.engine.ensemble import fuse_two_stages
from toolrank.engine.stacks import bi_encoder_for
from toolrank.engine.steps import cover_steps, fuse_steps, split_steps
from toolrank.engine.validate import validate_candidates
from toolrank.errors import (CatalogLimitExceeded, CatalogNotFound, InvalidRequest, RequestTooLarge, StoreUnavailable,
                             ModelNotServed, UnknownModel, WriteConflict)
from toolrank.models.loader import BI_ENCODER, CROSS_ENCODER
from toolrank.settings import Settings
from toolrank.candidates import candidate_to_json
from toolrank.types import Candidate, RerankQuery, TextInput, Timing, Usage

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
EMBED_BATCH = 128  # texts per engine call at put time: progress granularity, and a bound on queued tokens
COMMIT_RETRIES = 30  # across replicas (optimistic, on the store's version); in one process a lock serializes
PARALLEL_STAGE_ONE_ROWS = 20_000  # above this, stage one runs in a worker thread instead of on the event loop


# unreferenced embeddings: looked for after deletes and replaces, at most this often; dropped when still
# unreferenced one interval later (so an upstream that restarts within it is not embedded again)
COLLECT_INTERVAL_S = 60.0
MISSING_NAMES = 10_000  # names remembered as missing (bounded: a client may ask for any number of them)
MISSING_TTL_S = 1.0  # how long: another replica's put of that name is seen within this (and the refresh)
VOCAB_SLACK = 1024  # terms a catalog's vocabulary may hold beyond twice those in use before it starts afresh
OFF_LOOP_CANDIDATES = 256  # puts with more candidates are validated (and converted) in the CPU pool


def candidate_json(cand: Candidate) -> str:
    """A candidate as JSON text in :mod:`toolrank.candidates`' shape (round-trips through candidate_from_json)."""
    return json.dumps(candidate_to_json(cand), ensure_ascii=False, sort_keys=True)


def check_catalog_name(name: str, field: str = "catalog") -> None:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise InvalidRequest(f"{field}: {name!r} is not a catalog name (1-128 of A-Z a-z 0-9 . _ : -)")


class CatalogService:
    """The catalogs layer; ``toolrank serve`` builds one and hands it to both transports."""

    def __init__(self, engine: Engine, store: Store, settings: Settings | None = None) -> None:
        self.engine = engine
        self.store = store
        self.settings = settings or engine.settings
        self._indexes: dict[str, CatalogIndex] = {}
        # a lock per name only while someone holds or waits for it: a Select on a missing name leaves none behind
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # names the store lately said do not exist: repeated misses answered without a store round trip
        self._missing: TTLCache[str, bool] = TTLCache(maxsize=MISSING_NAMES, ttl=MISSING_TTL_S)
        self._refresher: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()  # set by a store's push (watch) when another replica changed a catalog
        self.embedded_texts = 0  # texts this service sent to the engine for embedding (restarts should add none)
        self.learner = Learner(engine, store, self.settings.learn, self.settings.feedback_limit)
        self.no_match_thresholds = load_thresholds()  # {model: {kind: best stage-one score below which none fits}}
        self.pools = engine.pools  # store I/O, builds and CPU work each in a bounded pool of its own
        self._last_collect = -COLLECT_INTERVAL_S  # embeddings no catalog references: collected at most this often
        self._collecting: asyncio.Task[int] | None = None
        self._unreferenced: set[tuple[str, bytes]] = set()  # seen unreferenced at the last collection

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> "CatalogService":
        return cls(engine, open_store(settings.store), settings)

    # -- lifecycle ---------------------------------------------------------------------

    def _ensure_refresher(self) -> None:
        if self._refresher is None and self.settings.catalog_refresh_s > 0:
            loop = asyncio.get_running_loop()
            watch = getattr(self.store, "watch", None)  # a store with push (redis pub/sub) wakes the refresher
            if watch is not None:
                watch(lambda: loop.call_soon_threadsafe(self._changed.set))
            self._refresher = loop.create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while True:
            try:  # a pushed change, else the periodic check (the safety net)
                await asyncio.wait_for(self._changed.wait(), self.settings.catalog_refresh_s)
            except asyncio.TimeoutError:
                pass
            self._changed.clear()
            if self._unreferenced:  # the second phase of a collection, once its interval has passed
                self._collect_soon()
            try:
                await self.refresh()
            except StoreUnavailable:
                pass  # the store logs its outage once; loaded catalogs keep answering
            except Exception:  # noqa: BLE001 - a store hiccup must not end the loop
                log.exception("catalog refresh failed")

    async def refresh(self) -> None:
        """Reload the catalogs whose stored version differs from ours (another replica wrote), drop deleted ones."""
        if not self._indexes:
            return
        records = await self.pools.store(self.store.catalogs)
        for name, index in list(self._indexes.items()):
            lock = self._lock(name)
            if lock.locked():
                continue  # a put or delete here is under way and will leave the index current
            record = records.get(name)
            if record is None:
                self._indexes.pop(name, None)
            elif record.version > index.version:  # versions only grow: an older answer (a lagging read) is stale
                async with lock:
                    await self._load(name)
        await self.learner.refresh(self._indexes)

    async def aclose(self) -> None:
        """Stop refreshing and close the store, off the event loop (a Redis store joins its listener thread)."""
        if self._collecting is not None and not self._collecting.done():
            try:
                await self._collecting
            except Exception:  # noqa: BLE001 - logged by its callback
                pass
        if self._refresher is not None:
            self._refresher.cancel()
            try:
                await self._refresher
            except asyncio.CancelledError:
                pass
            self._refresher = None
        await self.pools.store(self.store.close)

    async def collect_embeddings(self, *, now: bool = False) -> int:
        """Drop the store's vectors that no catalog references; how many went.

        Two-phase, so that an upstream's restart or a replace-then-restore keeps its vectors: a vector goes
        only when it was unreferenced at the previous collection too (at least ``COLLECT_INTERVAL_S``
        earlier); ``now`` drops every vector unreferenced at this moment.
        """
        if not hasattr(self.store, "embedding_keys"):
            return 0
        self._last_collect = time.monotonic()
        dead: set[tuple[str, bytes]] = await self.pools.store(unreferenced_embeddings, self.store)
        doomed = dead if now else dead & self._unreferenced
        gone = int(await self.pools.store(self.store.delete_embeddings, doomed)) if doomed else 0
        self._unreferenced = dead - doomed
        return gone

    def _collect_soon(self) -> None:
        """After a delete or a put that dropped texts: collect in the background, at most every interval."""
        if (self._collecting is not None and not self._collecting.done()) or \
                time.monotonic() - self._last_collect < COLLECT_INTERVAL_S:
            return
        self._collecting = asyncio.get_running_loop().create_task(self.collect_embeddings())
        self._collecting.add_done_callback(_log_collect)

    def _serves(self, model: str) -> bool:
        return not model or any(spec.name == model for spec in self.engine.model_specs())

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        return lock

    # -- loading ---------------------------------------------------------------------------

    async def _load(self, name: str) -> CatalogIndex | None:
        """(Re)build a catalog's index from the store; call with its lock held."""
        loaded = await self.pools.store(self.store.load, name)
        if loaded is None:
            self._indexes.pop(name, None)
            return None
        record, entries = loaded
        vectors = None
        if self._serves(record.model):  # else: selects answer FAILED_PRECONDITION; nothing to embed here
            vectors, _ = await self._vectors_for(record.model, entries, self._indexes.get(name), None)
        index = await self.pools.build(self._build, record, entries, vectors, self._indexes.get(name))
        self._indexes[name] = index
        await self.learner.state(index)  # learned examples ready before a Select needs them (Selects read no store)
        return index

    async def _index(self, name: str) -> CatalogIndex:
        check_catalog_name(name)
        self._ensure_refresher()
        index = self._indexes.get(name)
        if index is not None:
            return index
        if name in self._missing:
            raise CatalogNotFound(f"catalog: {name!r} does not exist")
        async with self._lock(name):
            index = self._indexes.get(name) or await self._load(name)
        if index is None:
            self._missing[name] = True
            raise CatalogNotFound(f"catalog: {name!r} does not exist")
        return index

    def _build(self, record: CatalogRecord, entries: Sequence[StoredEntry], vectors: Sequence[np.ndarray] | None,
               previous: CatalogIndex | None) -> CatalogIndex:
        """A new snapshot; BM25 term counts are reused from ``previous`` for unchanged entries.

        The catalog's vocabulary passes from snapshot to snapshot, unless it holds more than twice the
        terms still in use (many upserts of changing text): then the snapshot starts a fresh one.
        """
        vocab = previous.vocab if previous is not None else Vocabulary()
        if previous is not None and len(vocab) > 2 * previous.bm25.terms_present + VOCAB_SLACK:
            vocab, previous_counts = Vocabulary(), False
        else:
            previous_counts = previous is not None
        metadata = []
        counts = []
        for e in entries:
            meta = json.loads(e.candidate).get("metadata") or {}
            metadata.append(meta)
            row = previous.row_of.get(e.id) if previous is not None and previous_counts else None
            if previous is not None and row is not None and previous.entries[row].content_hash == e.content_hash:
                counts.append(previous.counts[row])
            else:
                counts.append(term_counts(lexical_text(e, meta), vocab))
        return CatalogIndex.build(record, entries, metadata, vectors, counts, vocab)

    async def _vectors_for(self, model: str, entries: Sequence[StoredEntry], previous: CatalogIndex | None,
                           progress: Callable[[int, int], None] | None) -> tuple[list[np.ndarray] | None, Usage]:
        """Every entry's embedding under ``model``: from the old snapshot, else the store, else the engine.

        The usage counts what the engine embedded (texts as ``windows``, their tokens, truncated ones).
        """
        if not model:
            return None, Usage()
        tokens = truncated = embedded = 0
        found: dict[bytes, np.ndarray] = {}
        if previous is not None and previous.matrix is not None and previous.record.model == model:
            for row, e in enumerate(previous.entries):
                found[e.text_key] = previous.matrix[row]
        wanted = list(dict.fromkeys(e.text_key for e in entries if e.text_key not in found))
        if wanted:
            found.update(await self.pools.store(self.store.get_embeddings, model, wanted))
        todo: dict[bytes, str] = {}
        for e in entries:
            if e.text_key not in found and e.text_key not in todo:
                todo[e.text_key] = e.text
        if todo:
            keys, texts = list(todo), list(todo.values())
            for start in range(0, len(texts), EMBED_BATCH):
                out = await self.engine.embed(texts[start:start + EMBED_BATCH], model)
                self.embedded_texts += len(out.vectors)
                tokens, truncated, embedded = tokens + out.tokens, truncated + out.truncated, embedded + len(out.vectors)
                fresh = dict(zip(keys[start:start + EMBED_BATCH], out.vectors))
                await self.pools.store(self.store.put_embeddings, model, fresh)
                found.update(fresh)
                if progress is not None:
                    progress(min(start + EMBED_BATCH, len(texts)), len(texts))
        return [found[e.text_key] for e in entries], Usage(candidate_tokens=tokens, truncated=truncated,
                                                           windows=embedded)

    # -- put -------------------------------------------------------------------------------

    def _embedding_model(self, requested: str, current: str, kinds: Sequence[str]) -> str:
        """The bi-encoder a put embeds with: the request's, the catalog's, the default (for an ensemble such as
        the default stack: its bi-encoder for the put's main kind, engine/stacks.py), or "" (BM25 only)."""
        if requested:
            spec = self.engine.served(requested).spec
            if spec.kind != BI_ENCODER:
                raise InvalidRequest(f"model: {requested!r} is a {spec.kind}; a catalog is embedded with a bi-encoder")
            return spec.name
        if current:
            try:
                return self.engine.served(current).spec.name
            except UnknownModel:
                pass  # the catalog was embedded by a model this server no longer serves: use ours
        ensemble = self.engine.ensembles.get(self.engine.default_model)
        if ensemble is not None:
            bi_encoders = {s.name for s in self.engine.model_specs() if s.kind == BI_ENCODER}
            chosen = bi_encoder_for(ensemble, kinds, bi_encoders)
            if chosen:
                return chosen
        default = self.engine.served("").spec
        if default.kind == BI_ENCODER:
            return default.name
        return next((s.name for s in self.engine.model_specs() if s.kind == BI_ENCODER), "")

    def _validate_put(self, req: PutCatalogRequest) -> None:
        check_catalog_name(req.catalog)
        limit = self.settings.max_catalog_candidates
        if len(req.candidates) > limit:
            raise CatalogLimitExceeded(f"candidates: {len(req.candidates)}, over the limit of {limit} per catalog")
        if req.candidates:
            limits = replace(self.settings.limits, max_candidates=limit,
                             max_request_bytes=max(self.settings.limits.max_request_bytes,
                                                   self.settings.limits.max_message_bytes))
            validate_candidates(req.candidates, limits)
        seen: dict[str, int] = {}
        for i, c in enumerate(req.candidates):
            if not c.id:
                raise InvalidRequest(f"candidates[{i}].id: required in a catalog")
            if c.id in seen:
                raise InvalidRequest(f"candidates[{i}].id: duplicate id {c.id!r} (also candidates[{seen[c.id]}])")
            seen[c.id] = i
            learning.check_examples(c.metadata, f"candidates[{i}]")
            keywords = c.metadata.get("keywords") if c.metadata else None
            if keywords is not None and len(keywords) > 4096:
                raise RequestTooLarge(f"candidates[{i}].metadata.keywords: over 4096 characters")
        for i, d in enumerate(req.delete_ids):
            if not d:
                raise InvalidRequest(f"delete_ids[{i}]: empty")

    def _entries(self, candidates: Sequence[Candidate]) -> tuple[list[StoredEntry], int, int]:
        """Normalize (cached) into stored entries; returns them with fallback and cache-hit counts."""
        out = []
        fallbacks = hits = 0
        for c in candidates:
            normalized, hit = self.engine.normalize_one(c.content)
            fallbacks += normalized.fallback
            hits += hit
            doc = candidate_json(c)
            text = normalized.text
            out.append(StoredEntry(c.id, c.kind, doc, text, name_of(c.kind, json.loads(doc)),
                                   content_key(doc), content_key(text), normalized.fallback))
        return out, fallbacks, hits

    async def put(self, req: PutCatalogRequest,
                  progress: Callable[[int, int], None] | None = None) -> PutOutcome:
        """Create or change a catalog in one atomic step; see :class:`PutCatalogRequest`."""
        if len(req.candidates) > OFF_LOOP_CANDIDATES:  # a big put's validation (every candidate) off the loop
            await self.pools.cpu(self._validate_put, req)
        else:
            self._validate_put(req)
        self._ensure_refresher()
        self._missing.pop(req.catalog, None)
        new_entries, fallbacks, hits = await self.pools.cpu(self._entries, req.candidates)
        async with self._lock(req.catalog):
            for attempt in range(COMMIT_RETRIES):
                records = await self.pools.store(self.store.catalogs)  # another replica may have written
                previous = await self._current(req.catalog, records.get(req.catalog))
                try:
                    return await self._put_on(req, previous, len(records), new_entries, fallbacks, hits, progress)
                except VersionConflict:
                    if attempt == COMMIT_RETRIES - 1:
                        raise WriteConflict(
                            f"catalog {req.catalog!r}: too many concurrent writers, retry later") from None
                    await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # another replica wrote: back off
        raise AssertionError("unreachable")

    async def _current(self, name: str, record: CatalogRecord | None) -> CatalogIndex | None:
        """Our snapshot when it is the stored version, else a fresh load; call with the lock held."""
        index = self._indexes.get(name)
        if record is None:
            self._indexes.pop(name, None)
            return None
        if index is not None and index.version == record.version:
            return index
        return await self._load(name)

    async def _put_on(self, req: PutCatalogRequest, previous: CatalogIndex | None, count: int,
                      new_entries: list[StoredEntry], fallbacks: int, hits: int,
                      progress: Callable[[int, int], None] | None) -> PutOutcome:
        if previous is None:
            if count >= self.settings.max_catalogs:
                raise CatalogLimitExceeded(f"catalog {req.catalog!r}: the server holds {count} catalogs, "
                                           f"the limit is {self.settings.max_catalogs}")
        old: dict[str, StoredEntry] = {e.id: e for e in previous.entries} if previous else {}
        # an empty catalog (e.g. the MCP proxy's, reset at start) has no embeddings to stay consistent with
        model = self._embedding_model(req.model, previous.record.model if previous and old else "",
                                      [e.kind for e in new_entries or old.values()])
        final: dict[str, StoredEntry] = {} if req.replace else dict(old)
        added = updated = 0
        for e in new_entries:
            before = old.get(e.id)
            if before is None:
                added += 1
            elif before.content_hash != e.content_hash:
                updated += 1
            final[e.id] = e
        deleted = 0
        for d in req.delete_ids:
            if final.pop(d, None) is not None and d in old:
                deleted += 1
        if req.replace:
            deleted += sum(1 for i in old if i not in final and i not in req.delete_ids)
        if len(final) > self.settings.max_catalog_candidates:
            raise CatalogLimitExceeded(f"catalog {req.catalog!r}: {len(final)} candidates after this put, over the "
                                       f"limit of {self.settings.max_catalog_candidates}")
        entries = list(final.values())
        if previous is not None and _unchanged(previous, entries, model):
            # nothing to write: keep the version, so no replica reloads and rebuilds the catalog for nothing
            if req.learn is not None:
                await self.learner.set_learning(previous, req.learn)
            return PutOutcome(req.catalog, previous.version, previous.record.size, 0, 0, 0,
                              Usage(fallbacks=fallbacks, cache_hits=hits))
        vectors, embedded = await self._vectors_for(model, entries, previous, progress)
        upserts = entries if req.replace else [e for e in new_entries
                                                if old.get(e.id) is None or old[e.id].content_hash != e.content_hash]
        record = await self.pools.store(functools.partial(
            self.store.commit, req.catalog, base_version=previous.version if previous else 0, upserts=upserts,
            delete_ids=list(req.delete_ids), replace=req.replace, model=model))
        index = await self.pools.build(self._build, record, entries, vectors, previous)
        self._indexes[req.catalog] = index
        if req.learn is not None:
            await self.learner.set_learning(index, req.learn)
        await self.learner.state(index)  # examples embedded with the catalog (new ones only); gone ids' feedback dropped
        if updated or deleted:  # texts may have lost their last reference
            self._collect_soon()
        usage = replace(embedded, fallbacks=fallbacks, cache_hits=hits)
        return PutOutcome(req.catalog, record.version, record.size, added, updated, deleted, usage)

    # -- select ----------------------------------------------------------------------------

    def _cross_encoder(self, q: SelectQuery) -> str:
        if q.stage_one_only or q.scoring != FUSED:
            return ""
        if q.rerank_model:
            spec = self.engine.served(q.rerank_model).spec
            if spec.kind != CROSS_ENCODER:
                raise InvalidRequest(f"rerank_model: {q.rerank_model!r} is a {spec.kind}, not a cross-encoder")
            return spec.name
        return next((s.name for s in self.engine.model_specs() if s.kind == CROSS_ENCODER), "")

    def _validate_select(self, q: SelectQuery) -> None:
        check_catalog_name(q.catalog)
        if not q.query.strip():
            raise InvalidRequest("query: empty")
        limits = self.settings.limits
        size = len(q.query.encode("utf-8", "surrogatepass")) + len(q.instruction.encode("utf-8", "surrogatepass"))
        size += sum(len(t.encode("utf-8", "surrogatepass")) for t in q.context)
        if size > limits.max_query_bytes:
            raise RequestTooLarge(f"query: {size} bytes with instruction and context, over the limit of "
                                  f"{limits.max_query_bytes} bytes")
        if q.top_k < 0 or q.top_k > limits.max_candidates:  # it sizes the cross-encoder's pool and the response
            raise InvalidRequest(f"top_k: must be between 0 and {limits.max_candidates}")
        if q.max_tokens < 0:
            raise InvalidRequest("max_tokens: must be >= 0")
        if q.rerank_depth < 0 or q.rerank_depth > limits.max_candidates:
            raise InvalidRequest(f"rerank_depth: must be between 0 and {limits.max_candidates}")
        if q.min_score is not None and not np.isfinite(q.min_score):
            raise InvalidRequest("min_score: must be a finite number")
        if q.scoring not in (FUSED, DENSE, BM25):
            raise InvalidRequest(f"scoring: {q.scoring!r} (use fused, dense or bm25)")

    async def select(self, q: SelectQuery) -> SelectOutcome:
        """The best ``top_k`` of one catalog version for a query; see :class:`SelectQuery`."""
        t0 = time.perf_counter_ns()
        self._validate_select(q)
        index = await self._index(q.catalog)  # this snapshot, and only it, answers the whole call
        if not self._serves(index.record.model):
            served = ", ".join(s.name for s in self.engine.model_specs())
            raise ModelNotServed(f"catalog {q.catalog!r} is embedded with model {index.record.model!r}, which this "
                                 f"server does not serve (served: {served}): serve it here, or put the catalog "
                                 "again with a served bi-encoder")
        if q.model and q.model != index.record.model:
            raise InvalidRequest(f"model: catalog {q.catalog!r} is embedded with {index.record.model or 'no model'!r},"
                                 f" not {q.model!r} (put it with model={q.model!r} first)")
        cross = self._cross_encoder(q)
        pinned_rows = []
        for i, pid in enumerate(dict.fromkeys(q.pinned_ids)):
            row = index.row_of.get(pid)
            if row is None:
                raise InvalidRequest(f"pinned_ids[{i}]: {pid!r} is not in catalog {q.catalog!r}")
            pinned_rows.append(row)
        query_text, query_truncated = await self._query_window(q.query, index.record.model)
        steps = split_steps(query_text).steps if q.split_steps else ()
        steps = steps if len(steps) > 1 else ()
        query_vector, query_tokens, tok_ns, queue_ns, infer_ns = None, 0, 0, 0, 0
        step_vectors: list[np.ndarray | None] = [None] * len(steps)
        if index.matrix is not None and q.scoring != BM25:
            texts = [f"{q.instruction} {t}" if q.instruction else t for t in (query_text, *steps)]
            out = await self.engine.embed([texts[0], *q.context, *texts[1:]], index.record.model, cache=False,
                                          queries=True)
            query_vector = out.vectors[0].astype(np.float32)
            step_vectors = [v.astype(np.float32) for v in out.vectors[1 + len(q.context):]]
            if q.context:
                turns = out.vectors[1:1 + len(q.context)]
                query_vector = query_vector + np.asarray(context_weights(len(q.context)), np.float32) @ turns
                query_vector /= max(float(np.linalg.norm(query_vector)), 1e-12)
            query_tokens, tok_ns, queue_ns, infer_ns = out.tokens, out.tokenize_ns, out.queue_ns, out.inference_ns
        terms = query_terms(index.vocab, query_text, q.context)
        step_terms = [query_terms(index.vocab, s, ()) for s in steps]
        if index.size > PARALLEL_STAGE_ONE_ROWS:
            stage = await self.pools.cpu(index.stage_one, query_vector, terms, query_text, q.scoring)
            step_stages = [await self.pools.cpu(index.stage_one, v, t, s, q.scoring)
                           for v, t, s in zip(step_vectors, step_terms, steps)]
        else:
            stage = index.stage_one(query_vector, terms, query_text, q.scoring)
            step_stages = [index.stage_one(v, t, s, q.scoring) for v, t, s in zip(step_vectors, step_terms, steps)]
        adjust = await self._learned(index, q, query_vector, stage.scores)
        scores = learning.fuse(stage.scores, adjust)
        step_scores = [st.scores for st in step_stages]
        # per_step covers a step with its best candidate by that step fused with the whole request: a step's
        # own text alone ("book it") misleads more often than together with the request it belongs to
        cover_scores = [fuse_steps(scores, [s]) for s in step_scores]
        if steps:  # a multi-step request: each candidate's best step counts beside the whole (engine/steps.py)
            scores = fuse_steps(scores, step_scores, clip=True).astype(np.float32)
        mask = index.filter_mask(q.filter)
        top_k = q.top_k or DEFAULT_TOP_K
        candidate_scores = scores if mask is None else np.where(mask, scores, -np.inf)
        no_match = self._no_match(index, candidate_scores) if q.scoring == FUSED else False
        usage_windows = usage_cand_tokens = truncated = 0
        final: dict[int, float] = {}
        final_steps: list[dict[int, float]] = [{} for _ in steps]  # per step, for per_step cover
        rerank_model = ""
        if cross and index.size:
            depth = max(q.rerank_depth or DEFAULT_RERANK_DEPTH, top_k)
            pool = [int(r) for r in _best(candidate_scores, depth)]
            for s in step_scores:  # each step's own best candidates get their chance at stage two
                masked = s if mask is None else np.where(mask, s, -np.inf)
                pool += [int(r) for r in _best(masked, top_k) if int(r) not in pool]
            pool += [r for r in pinned_rows if r not in pool]
            docs = tuple(Candidate(TextInput(index.entries[r].text or index.entries[r].id), index.entries[r].id)
                         for r in pool)
            outcomes = await asyncio.gather(*(
                self.engine.rerank(RerankQuery(text, docs, model=cross, raw_scores=True, lexical_weight=0.0,
                                               split_steps=False), raw=True)
                for text in (query_text, *steps)))
            logits = np.zeros(len(pool))
            parts = [np.zeros(len(pool)) for _ in steps]
            for hit in outcomes[0].results:
                logits[hit.index] = hit.score
            for part, outcome in zip(parts, outcomes[1:]):
                for hit in outcome.results:
                    part[hit.index] = hit.score
            for step, part in enumerate(parts):  # per_step: a step's best by that step fused with the whole
                own = fuse_steps(logits, [part])
                final_steps[step].update((row, float(own[i])) for i, row in enumerate(pool))
            logits = fuse_steps(logits, parts)  # a multi-step request: best step beside the whole (engine/steps.py)
            # the cross-encoder with stage one on z-scores over the pool (engine/ensemble.py); what learning
            # adds counts once more at full strength, as learning.fuse_stage_two did on the cross-encoder's scale
            boost = None if adjust is None else adjust[pool].astype(np.float64)
            for row, score in zip(pool, fuse_two_stages(logits, scores[pool].astype(np.float64), boost=boost)):
                final[row] = float(score)
            for outcome in outcomes:
                u, t = outcome.usage, outcome.timing
                usage_windows, usage_cand_tokens = usage_windows + u.windows, usage_cand_tokens + u.candidate_tokens
                truncated = max(truncated, u.truncated)
                query_tokens += u.query_tokens
                query_truncated = query_truncated or u.query_truncated
                tok_ns, queue_ns, infer_ns = tok_ns + t.tokenize_ns, queue_ns + t.queue_ns, infer_ns + t.inference_ns
            rerank_model = cross
        else:
            for r in _best(candidate_scores, top_k + len(pinned_rows)):
                final[int(r)] = float(scores[r])
            for r in pinned_rows:
                final[r] = float(scores[r])
            for s in cover_scores:
                masked = s if mask is None else np.where(mask, s, -np.inf)
                for r in _best(masked, 1):  # each step's best row may cover its step
                    final.setdefault(int(r), float(scores[r]))
            for step, s in enumerate(cover_scores):
                final_steps[step].update((r, float(s[r])) for r in final)
        pinned = set(pinned_rows)
        chosen = list(pinned_rows)
        step_of: dict[int, int] = {}
        if q.per_step and steps:
            rows = [r for r in final if r not in pinned and np.isfinite(candidate_scores[r])
                    and (q.min_score is None or final[r] >= q.min_score)]
            fused_rows = np.array([final[r] for r in rows])
            per_step = [np.array([fs.get(r, -np.inf) for r in rows]) for fs in final_steps]
            for i, step in cover_steps(fused_rows, per_step, max(top_k - len(pinned_rows), 0)):
                chosen.append(rows[i])
                step_of[rows[i]] = step
        else:
            for row in sorted(final, key=lambda r: (-final[r], r)):
                if len(chosen) >= max(top_k, len(pinned_rows)):
                    break
                if row in pinned or not np.isfinite(candidate_scores[row]):
                    continue
                if q.min_score is not None and final[row] < q.min_score:
                    break
                chosen.append(row)
        chosen.sort(key=lambda r: (-final[r], r))
        if q.adaptive or q.max_tokens:
            chosen = cut_rows(chosen, [final[r] for r in chosen], pinned, q.adaptive, q.max_tokens,
                              lambda r: estimate_tokens(index.entries[r].candidate))
        results = tuple(
            SelectHit(index.entries[r].id, float(final[r]), r in pinned,
                      index.entries[r].text if q.return_text else None,
                      index.candidate(r) if q.return_candidates else None, step_of.get(r, 0))
            for r in chosen
        )
        usage = Usage(query_tokens=query_tokens, candidate_tokens=usage_cand_tokens, truncated=truncated,
                      windows=usage_windows, query_truncated=query_truncated, steps=len(steps))
        timing = Timing(0, tok_ns, queue_ns, infer_ns, time.perf_counter_ns() - t0)
        return SelectOutcome(results, index.version, usage, timing, index.record.model, rerank_model, no_match,
                             steps)

    async def _query_window(self, query: str, model: str) -> tuple[str, bool]:
        """The query fitted to the window of the catalog's bi-encoder (else the default model's), and whether it
        was cut; a cross-encoder at stage two fits it again to its own window (engine/query_window.py)."""
        try:
            self.engine.served(model)
        except UnknownModel:
            model = ""
        window = await self.engine.pools.cpu(self.engine.query_window, query, model)
        return window.text, window.truncated

    def _no_match(self, index: CatalogIndex, scores: np.ndarray) -> bool:
        """Even the best eligible candidate's stage-one score is below its model's and kind's calibrated threshold."""
        if not index.size:
            return False
        best = int(np.argmax(scores))
        if not np.isfinite(scores[best]):
            return False
        return is_no_match(float(scores[best]), index.record.model, KINDS[int(index.kinds[best])],
                           self.no_match_thresholds)

    async def _learned(self, index: CatalogIndex, q: SelectQuery, query_vector: np.ndarray | None,
                       scores: np.ndarray) -> np.ndarray | None:
        """What learning adds to each row's stage-one score (None: off, nothing learned, or no dense stage)."""
        if not (self.settings.learn and q.learn) or query_vector is None:
            return None
        try:
            state = await self.learner.state(index)
        except StoreUnavailable:
            return None  # the store is down and this version's learning is not loaded yet: answer without it
        if not state.learn:
            return None
        return learning.adjustment(state.examples, query_vector, scores)

    # -- feedback ----------------------------------------------------------------------------

    async def feedback(self, req: FeedbackRequest) -> FeedbackOutcome:
        """Keep one past request and what was chosen/rejected for it; Select learns from it at once."""
        index = await self._index(req.catalog)
        query, _ = await self._query_window(req.query, index.record.model)  # a pasted log is not kept: its request is
        record = learning.feedback_record(query, req.chosen_ids, req.rejected_ids, req.source, index.row_of,
                                          req.catalog, self.settings.limits.max_query_bytes)
        if not self.settings.learn:
            raise InvalidRequest("feedback: learning is off on this server (--learn off)")
        async with self._lock(req.catalog):
            index = self._indexes.get(req.catalog) or index
            held, dropped = await self.learner.record(index, record)
        return FeedbackOutcome(req.catalog, held, dropped)

    async def feedback_records(self, name: str) -> list[learning.FeedbackRecord]:
        """The feedback a catalog holds, oldest first (for `toolrank catalog feedback export`)."""
        return list((await self.learner.state(await self._index(name))).records)

    # -- get / list / delete -----------------------------------------------------------------

    async def get(self, name: str) -> CatalogInfo:
        check_catalog_name(name)
        record = (await self.pools.store(self.store.catalogs)).get(name)
        if record is None:
            raise CatalogNotFound(f"catalog: {name!r} does not exist")
        state = await self.learner.state(await self._index(name))
        examples = state.examples
        return replace(_info(record), examples=examples.examples if examples else 0, feedback=len(state.records),
                       learn=state.learn and self.settings.learn)

    async def list(self) -> list[CatalogInfo]:
        records = await self.pools.store(self.store.catalogs)
        return [_info(records[n]) for n in sorted(records)]

    async def delete(self, name: str) -> CatalogInfo:
        """Remove a catalog; selects already holding its snapshot finish on it, later ones get CatalogNotFound."""
        check_catalog_name(name)
        async with self._lock(name):
            record = (await self.pools.store(self.store.catalogs)).get(name)
            gone = await self.pools.store(self.store.delete, name)
            self._indexes.pop(name, None)
            self.learner.forget(name)
            if gone:
                await self.pools.store(self.store.drop_feedback, name)
        if not gone or record is None:
            raise CatalogNotFound(f"catalog: {name!r} does not exist")
        self._collect_soon()
        return _info(record)

    def loaded(self) -> Mapping[str, CatalogIndex]:
        """The snapshots held in memory (for tests and the scale bench)."""
        return dict(self._indexes)


def _best(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest finite scores (unordered); ties at the cut go to the lower rows, so that
    equal scores always give the same answer (linear time: one partition, no full sort)."""
    n = len(scores)
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k == n:
        rows = np.arange(n)
    else:
        cut = -np.partition(-scores, k - 1)[k - 1]
        above = np.flatnonzero(scores > cut)
        rows = np.concatenate([above, np.flatnonzero(scores == cut)[: k - len(above)]])
    return rows[np.isfinite(scores[rows])]


def _log_collect(task: "asyncio.Task[int]") -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if isinstance(exc, StoreUnavailable):
        return  # the store logs its outage; the next delete tries again
    if exc is not None:
        log.warning("collecting unreferenced embeddings failed: %s: %s", type(exc).__name__, exc)
    elif task.result():
        log.info("collected %d embeddings no catalog references", task.result())


def _unchanged(previous: CatalogIndex, entries: Sequence[StoredEntry], model: str) -> bool:
    """The put leaves the catalog as it is: same ids in the same order, same content and text, same model."""
    return (previous.record.model == model and len(previous.entries) == len(entries)
            and all(a.id == b.id and a.content_hash == b.content_hash and a.text_key == b.text_key
                    for a, b in zip(previous.entries, entries)))


def _info(record: CatalogRecord) -> CatalogInfo:
    return CatalogInfo(record.name, record.version, record.size, record.model)

