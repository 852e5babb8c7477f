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
import json
import logging
import random
import re
import time
import weakref
from dataclasses import replace
from typing import Callable, Mapping, Sequence

import numpy as np

from toolrank.catalogs.bm25 import Vocabulary, term_counts
from toolrank.catalogs import learning
from toolrank.catalogs.index import KINDS, CatalogIndex, context_weights, lexical_text, name_of, query_terms
from toolrank.catalogs.cut import cut_rows, estimate_tokens
from toolrank.catalogs.learner import Learner
from toolrank.catalogs.no_match import is_no_match, load_thresholds
from toolrank.catalogs.store import CatalogRecord, Store, StoredEntry, VersionConflict, open_store
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
from toolrank.engine.validate import validate_candidates
from toolrank.errors import (CatalogLimitExceeded, CatalogNotFound, InvalidRequest, RequestTooLarge, StoreUnavailable,
                             UnknownModel)
from toolrank.models.loader import BI_ENCODER, CROSS_ENCODER
from toolrank.settings import Settings
from toolrank.types import Candidate, CodeInput, RerankQuery, SqlInput, TextInput, Timing, ToolInput, Usage

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
EMBED_BATCH = 128  # texts per engine call at put time: progress granularity, and a bound on queued tokens
COMMIT_RETRIES = 30  # across replicas (optimistic, on the store's version); in one process a lock serializes
PARALLEL_STAGE_ONE_ROWS = 20_000  # above this, stage one runs in a worker thread instead of on the event loop


def candidate_json(cand: Candidate) -> str:
    """A candidate as JSON text in :mod:`toolrank.candidates`' shape (round-trips through candidate_from_json)."""
    c = cand.content
    doc: dict[str, object] = {"id": cand.id}
    if isinstance(c, TextInput):
        doc["text"] = c.text
    elif isinstance(c, CodeInput):
        doc["code"] = {"language": c.language, "source": c.source, "path": c.path}
    elif isinstance(c, SqlInput):
        doc["sql"] = {"dialect": c.dialect, "text": c.text}
    elif isinstance(c, ToolInput):
        doc["tool"] = c.json
    if cand.metadata:
        doc["metadata"] = dict(cand.metadata)
    return json.dumps(doc, ensure_ascii=False, sort_keys=True)


def check_catalog_name(name: str, field: str = "catalog") -> None:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise InvalidRequest(f"{field}: {name!r} is not a catalog name (1-128 of A-Z a-z 0-9 . _ : -)")


class CatalogService:
    """The catalogs layer; one per engine in a server (see :func:`catalog_service_for`)."""

    def __init__(self, engine: Engine, store: Store, settings: Settings | None = None) -> None:
        self.engine = engine
        self.store = store
        self.settings = settings or engine.settings
        self.vocab = Vocabulary()
        self._indexes: dict[str, CatalogIndex] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._refresher: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()  # set by a store's push (watch) when another replica changed a catalog
        self.embedded_texts = 0  # texts this service sent to the engine for embedding (restarts should add none)
        self.learner = Learner(engine, store, self.settings.learn, self.settings.feedback_limit)
        self.no_match_thresholds = load_thresholds()  # {model: {kind: best stage-one score below which none fits}}

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
        records = await asyncio.to_thread(self.store.catalogs)
        for name, index in list(self._indexes.items()):
            lock = self._lock(name)
            if lock.locked():
                continue  # a put or delete here is under way and will leave the index current
            record = records.get(name)
            if record is None:
                self._indexes.pop(name, None)
            elif record.version != index.version:
                async with lock:
                    await self._load(name)
        await self.learner.refresh(self._indexes)

    async def aclose(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            try:
                await self._refresher
            except asyncio.CancelledError:
                pass
            self._refresher = None
        self.store.close()

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        return lock

    # -- loading ---------------------------------------------------------------------------

    async def _load(self, name: str) -> CatalogIndex | None:
        """(Re)build a catalog's index from the store; call with its lock held."""
        loaded = await asyncio.to_thread(self.store.load, name)
        if loaded is None:
            self._indexes.pop(name, None)
            return None
        record, entries = loaded
        vectors, _ = await self._vectors_for(record.model, entries, self._indexes.get(name), None)
        index = await asyncio.to_thread(self._build, record, entries, vectors, self._indexes.get(name))
        self._indexes[name] = index
        await self.learner.state(index)  # learned examples ready before a Select needs them (Selects read no store)
        return index

    async def _index(self, name: str) -> CatalogIndex:
        check_catalog_name(name)
        self._ensure_refresher()
        index = self._indexes.get(name)
        if index is not None:
            return index
        async with self._lock(name):
            index = self._indexes.get(name) or await self._load(name)
        if index is None:
            raise CatalogNotFound(f"catalog: {name!r} does not exist")
        return index

    def _build(self, record: CatalogRecord, entries: Sequence[StoredEntry], vectors: Sequence[np.ndarray] | None,
               previous: CatalogIndex | None) -> CatalogIndex:
        """A new snapshot; BM25 term counts are reused from ``previous`` for unchanged entries."""
        metadata = []
        counts = []
        for e in entries:
            meta = json.loads(e.candidate).get("metadata") or {}
            metadata.append(meta)
            row = previous.row_of.get(e.id) if previous is not None else None
            if previous is not None and row is not None and previous.entries[row].content_hash == e.content_hash:
                counts.append(previous.counts[row])
            else:
                counts.append(term_counts(lexical_text(e, meta), self.vocab))
        return CatalogIndex.build(record, entries, metadata, vectors, counts)

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
            found.update(await asyncio.to_thread(self.store.get_embeddings, model, wanted))
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
                await asyncio.to_thread(self.store.put_embeddings, model, fresh)
                found.update(fresh)
                if progress is not None:
                    progress(min(start + EMBED_BATCH, len(texts)), len(texts))
        return [found[e.text_key] for e in entries], Usage(candidate_tokens=tokens, truncated=truncated,
                                                           windows=embedded)

    # -- put -------------------------------------------------------------------------------

    def _embedding_model(self, requested: str, current: str) -> str:
        """The bi-encoder a put embeds with: the request's, the catalog's, the default, or "" (BM25 only)."""
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
        self._validate_put(req)
        self._ensure_refresher()
        new_entries, fallbacks, hits = await asyncio.to_thread(self._entries, req.candidates)
        async with self._lock(req.catalog):
            for attempt in range(COMMIT_RETRIES):
                records = await asyncio.to_thread(self.store.catalogs)  # another replica may have written
                previous = await self._current(req.catalog, records.get(req.catalog))
                try:
                    return await self._put_on(req, previous, len(records), new_entries, fallbacks, hits, progress)
                except VersionConflict:
                    if attempt == COMMIT_RETRIES - 1:
                        raise CatalogLimitExceeded(
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
        model = self._embedding_model(req.model, previous.record.model if previous else "")
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
        vectors, embedded = await self._vectors_for(model, entries, previous, progress)
        upserts = entries if req.replace else [e for e in new_entries
                                                if old.get(e.id) is None or old[e.id].content_hash != e.content_hash]
        record = await asyncio.to_thread(
            self.store.commit, req.catalog, base_version=previous.version if previous else 0, upserts=upserts,
            delete_ids=list(req.delete_ids), replace=req.replace, model=model)
        index = await asyncio.to_thread(self._build, record, entries, vectors, previous)
        self._indexes[req.catalog] = index
        if req.learn is not None:
            await self.learner.set_learning(index, req.learn)
        await self.learner.state(index)  # examples embedded with the catalog (new ones only); gone ids' feedback dropped
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
        if q.top_k < 0:
            raise InvalidRequest("top_k: must be >= 0")
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
        query_vector, query_tokens, tok_ns, queue_ns, infer_ns = None, 0, 0, 0, 0
        if index.matrix is not None and q.scoring != BM25:
            text = f"{q.instruction} {q.query}" if q.instruction else q.query
            out = await self.engine.embed([text, *q.context], index.record.model, cache=False)
            query_vector = out.vectors[0].astype(np.float32)
            if q.context:
                query_vector = query_vector + np.asarray(context_weights(len(q.context)), np.float32) @ out.vectors[1:]
                query_vector /= max(float(np.linalg.norm(query_vector)), 1e-12)
            query_tokens, tok_ns, queue_ns, infer_ns = out.tokens, out.tokenize_ns, out.queue_ns, out.inference_ns
        terms = query_terms(self.vocab, q.query, q.context)
        if index.size > PARALLEL_STAGE_ONE_ROWS:
            stage = await asyncio.to_thread(index.stage_one, query_vector, terms, q.query, q.scoring)
        else:
            stage = index.stage_one(query_vector, terms, q.query, q.scoring)
        adjust = await self._learned(index, q, query_vector, stage.scores)
        scores = learning.fuse(stage.scores, adjust)
        mask = index.filter_mask(q.filter)
        top_k = q.top_k or DEFAULT_TOP_K
        candidate_scores = scores if mask is None else np.where(mask, scores, -np.inf)
        no_match = self._no_match(index, candidate_scores) if q.scoring == FUSED else False
        usage_windows = usage_cand_tokens = truncated = 0
        final: dict[int, float] = {}
        rerank_model = ""
        if cross and index.size:
            depth = max(q.rerank_depth or DEFAULT_RERANK_DEPTH, top_k)
            pool = [int(r) for r in _best(candidate_scores, depth)]
            pool += [r for r in pinned_rows if r not in pool]
            docs = tuple(Candidate(TextInput(index.entries[r].text or index.entries[r].id), index.entries[r].id)
                         for r in pool)
            outcome = await self.engine.rerank(RerankQuery(q.query, docs, model=cross), raw=True)
            for hit in outcome.results:
                final[pool[hit.index]] = hit.score
            if adjust is not None:
                final = learning.fuse_stage_two(final, scores, adjust)
            u, t = outcome.usage, outcome.timing
            usage_windows, usage_cand_tokens, truncated = u.windows, u.candidate_tokens, u.truncated
            query_tokens += u.query_tokens
            tok_ns, queue_ns, infer_ns = tok_ns + t.tokenize_ns, queue_ns + t.queue_ns, infer_ns + t.inference_ns
            rerank_model = cross
        else:
            for r in _best(candidate_scores, top_k + len(pinned_rows)):
                final[int(r)] = float(scores[r])
            for r in pinned_rows:
                final[r] = float(scores[r])
        pinned = set(pinned_rows)
        chosen = list(pinned_rows)
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
                      index.candidate(r) if q.return_candidates else None)
            for r in chosen
        )
        usage = Usage(query_tokens=query_tokens, candidate_tokens=usage_cand_tokens, truncated=truncated,
                      windows=usage_windows)
        timing = Timing(0, tok_ns, queue_ns, infer_ns, time.perf_counter_ns() - t0)
        return SelectOutcome(results, index.version, usage, timing, index.record.model, rerank_model, no_match)

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
        record = learning.feedback_record(req.query, req.chosen_ids, req.rejected_ids, req.source, index.row_of,
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
        record = (await asyncio.to_thread(self.store.catalogs)).get(name)
        if record is None:
            raise CatalogNotFound(f"catalog: {name!r} does not exist")
        state = await self.learner.state(await self._index(name))
        examples = state.examples
        return replace(_info(record), examples=examples.examples if examples else 0, feedback=len(state.records),
                       learn=state.learn and self.settings.learn)

    async def list(self) -> list[CatalogInfo]:
        records = await asyncio.to_thread(self.store.catalogs)
        return [_info(records[n]) for n in sorted(records)]

    async def delete(self, name: str) -> CatalogInfo:
        """Remove a catalog; selects already holding its snapshot finish on it, later ones get CatalogNotFound."""
        check_catalog_name(name)
        async with self._lock(name):
            record = (await asyncio.to_thread(self.store.catalogs)).get(name)
            gone = await asyncio.to_thread(self.store.delete, name)
            self._indexes.pop(name, None)
            self.learner.forget(name)
            if gone:
                await asyncio.to_thread(self.store.drop_feedback, name)
        if not gone or record is None:
            raise CatalogNotFound(f"catalog: {name!r} does not exist")
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


def _info(record: CatalogRecord) -> CatalogInfo:
    return CatalogInfo(record.name, record.version, record.size, record.model)


_SERVICES: "weakref.WeakKeyDictionary[Engine, CatalogService]" = weakref.WeakKeyDictionary()


def catalog_service_for(engine: Engine, settings: Settings | None = None) -> CatalogService:
    """The one CatalogService of ``engine`` (created on first call, store from ``settings.store``)."""
    service = _SERVICES.get(engine)
    if service is None:
        service = _SERVICES[engine] = CatalogService.from_settings(engine, settings or engine.settings)
    return service
