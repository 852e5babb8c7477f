"""One batching task per model: merges the sequences of concurrent requests.

Requests submit their sequences to a shared pool. Identical sequences (same
token ids) are computed once: a sequence already waiting or already running
for another request, or twice in one request, gets a second waiter instead of
a second row, and its output is fanned out to every waiter. For bi-encoders a
candidate's sequence does not depend on the query, so concurrent requests over
the same tool catalog share all candidate work even with the caches cold.

The loop sorts the pool by length, cuts it into batches by a padded-token
budget (stopping early where a longer sequence would cost more in padding
than a run of its own), and takes turns between the waiting requests
(round-robin in arrival order): each batch starts at the shortest waiting
sequence of the next request in turn, and fills up with its neighbours in
length order, whoever they belong to. So a 12-token request that arrives while
a 1,000-candidate request runs is in the very next batch instead of waiting for
all of the big one's batches, and batches stay as dense as before (they are
still contiguous runs of the length order). Only one batch runs at a time (onnxruntime
already uses every core); it runs in a worker thread so the event loop keeps
answering. A cancelled request stops waiting; a sequence is dropped before it
is computed only when no other request still waits for it.

The pool is kept in length order as sequences arrive (a bisect insert), so
cutting a batch never sorts the whole pool on the event loop.

One bad request fails alone: when a batch's run fails, its sequences are run
again in halves (bisection) until the failing ones stand alone; only the requests
waiting for those fail, with ``InferenceError`` (INTERNAL: clients do not retry it
elsewhere), and the others get their outputs. When every sequence fails on its
own the model itself is broken: every waiter gets ``ModelUnavailable``
(UNAVAILABLE, retried on another replica).

The task is supervised: an error in the loop itself (a bug) fails every waiting request with
``ModelUnavailable`` (UNAVAILABLE), marks the scheduler dead and calls
``on_failure``; the engine then turns not ready and the server exits (it is
not restarted in place: its state can no longer be trusted).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from toolrank.engine.pairs import Sequence
from toolrank.errors import InferenceError, ModelUnavailable
from toolrank.models.loader import LoadedModel

log = logging.getLogger(__name__)

# The fixed cost of one onnxruntime run, in padded tokens: one batch of many short
# sequences beats several runs, but not at any price in padding (README, "How the
# scheduler gets there", for the measurement). ``Settings.run_overhead_tokens`` sets it.
RUN_OVERHEAD_TOKENS = 32


@dataclass(eq=False)
class _Job:
    sequences: list[Sequence]
    future: asyncio.Future[np.ndarray]
    submitted_ns: int
    order: int = 0  # arrival order: the round-robin's turn
    outputs: np.ndarray | None = None
    remaining: int = 0
    started_ns: int = 0
    inference_ns: int = 0


@dataclass(eq=False)
class _Entry:
    """One distinct sequence to compute, and every (request, position) waiting for its output."""

    sequence: Sequence
    order: int
    waiters: list[tuple[_Job, int]] = field(default_factory=list)

    @property
    def length(self) -> int:
        return len(self.sequence)

    @property
    def key(self) -> tuple[int, int]:
        return len(self.sequence), self.order


@dataclass(frozen=True, slots=True)
class BatchStats:
    """Counters the scheduler keeps (for metrics and benchmarks)."""

    batches: int
    sequences: int  # rows computed
    real_tokens: int
    padded_tokens: int
    shared: int = 0  # sequences submitted that were served by an identical one (not computed again)


class BatchScheduler:
    """Owns the pool of waiting sequences and the inference thread of one model."""

    def __init__(self, model: LoadedModel, token_budget: int, max_batch_size: int,
                 on_batch: Callable[[int, int, int], None] | None = None, *,
                 run_overhead_tokens: int = RUN_OVERHEAD_TOKENS,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        self.model = model
        self.on_batch = on_batch  # (sequences, real tokens, padded tokens) after each batch, for metrics
        self.on_failure = on_failure  # called once if the loop dies (not for a failed batch)
        self.token_budget = max(token_budget, model.spec.max_length)
        self.max_batch_size = max(1, max_batch_size)
        self.run_overhead_tokens = max(0, run_overhead_tokens)
        self._pool: dict[Sequence, _Entry] = {}  # waiting to be computed
        self._sorted: list[tuple[int, int]] = []  # the pool's (length, order) keys, ascending
        self._by_key: dict[tuple[int, int], _Entry] = {}
        self._jobs: dict[_Job, None] = {}  # requests waiting, oldest first
        self.failure: BaseException | None = None  # why the loop died, once it has
        self._running: dict[Sequence, _Entry] = {}  # in the batch being computed now
        self._order = itertools.count()
        self._last_turn = -1  # the order of the request whose turn started the last batch
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"infer-{model.spec.name}")
        self._task: asyncio.Task[None] | None = None
        self.queued_tokens = 0
        self._batches = 0
        self._sequences = 0
        self._real_tokens = 0
        self._padded_tokens = 0
        self._shared = 0

    def stats(self) -> BatchStats:
        return BatchStats(self._batches, self._sequences, self._real_tokens, self._padded_tokens, self._shared)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="batch-scheduler")
            self._task.add_done_callback(self._supervise)

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def _supervise(self, task: asyncio.Task[None]) -> None:
        """The loop ended: on an error (a bug), fail every waiting request and report the failure once."""
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        log.error("the batch scheduler of %s stopped", self.model.spec.name, exc_info=exc)
        self.failure = exc
        self._fail_all(ModelUnavailable(f"the batch scheduler of {self.model.spec.name!r} stopped "
                                        f"({type(exc).__name__}): the server is restarting"))
        if self.on_failure is not None:
            self.on_failure(exc)

    def _fail_all(self, err: Exception) -> None:
        for job in [*self._jobs, *(job for e in self._running.values() for job, _ in e.waiters)]:
            if not job.future.done():
                job.future.set_exception(err)
        self._pool.clear()
        self._sorted.clear()
        self._by_key.clear()
        self._jobs.clear()
        self._running = {}
        self.queued_tokens = 0

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:  # noqa: BLE001 - already reported by _supervise
                pass
            self._task = None
        self._fail_all(ModelUnavailable("server is shutting down"))
        # A batch may still be running in the worker thread: wait for it off the event loop.
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)

    async def run(self, sequences: list[Sequence]) -> tuple[np.ndarray, int, int]:
        """Outputs for ``sequences`` (in order), with queue and inference wall time in ns."""
        loop = asyncio.get_running_loop()
        job = _Job(sequences, loop.create_future(), time.perf_counter_ns(), next(self._order),
                   remaining=len(sequences))
        if not sequences:
            return np.zeros((0, 1), np.float32), 0, 0
        if not self.alive:
            raise ModelUnavailable(f"the batch scheduler of {self.model.spec.name!r} is not running")
        self._jobs[job] = None
        for i, seq in enumerate(sequences):
            entry = self._running.get(seq)
            if entry is not None:  # being computed right now: its output will come to this request too
                job.started_ns = job.started_ns or job.submitted_ns
            else:
                entry = self._pool.get(seq)
            if entry is None:
                entry = self._add(_Entry(seq, next(self._order)))
            else:
                self._shared += 1
            entry.waiters.append((job, i))
        self._wakeup.set()
        try:
            outputs = await job.future
        except asyncio.CancelledError:
            self._drop(job)
            raise
        finally:
            self._jobs.pop(job, None)
        queue_ns = max(0, job.started_ns - job.submitted_ns)
        return outputs, queue_ns, job.inference_ns

    def _add(self, entry: _Entry) -> _Entry:
        self._pool[entry.sequence] = entry
        self._by_key[entry.key] = entry
        bisect.insort(self._sorted, entry.key)  # orders grow, so this is usually near the end of its length
        self.queued_tokens += entry.length
        return entry

    def _remove(self, entry: _Entry) -> None:
        del self._pool[entry.sequence]
        del self._by_key[entry.key]
        i = bisect.bisect_left(self._sorted, entry.key)
        del self._sorted[i]
        self.queued_tokens -= entry.length

    def _drop(self, job: _Job) -> None:
        """Stop waiting for ``job``; its sequences that nobody else waits for leave the pool."""
        self._jobs.pop(job, None)
        for seq in set(job.sequences):
            entry = self._pool.get(seq)
            if entry is None:  # running (it finishes for the others) or already done
                continue
            entry.waiters = [w for w in entry.waiters if w[0] is not job]
            if not entry.waiters:
                self._remove(entry)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = self._next_batch()
            if not batch:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            now = time.perf_counter_ns()
            for e in batch:
                for job, _ in e.waiters:
                    job.started_ns = job.started_ns or now
            self._running = {e.sequence: e for e in batch}
            outputs, failure = await self._run_isolating(loop, batch)
            self._running = {}
            failed = [e for e, row in zip(batch, outputs) if row is None]
            if failure is not None and not failed:
                log.warning("a batch of %d sequences failed once (%s: %s) and ran in parts", len(batch),
                            type(failure).__name__, failure)
            elif failure is not None:
                log.error("inference failed for %d of a batch of %d sequences: %s: %s", len(failed), len(batch),
                          type(failure).__name__, failure, exc_info=failure)
                if len(failed) == len(batch):  # every sequence fails alone: the model, not a request
                    err: Exception = ModelUnavailable(f"inference failed: {type(failure).__name__}: {failure}")
                else:
                    err = InferenceError(f"inference failed on this request's input ({type(failure).__name__}); "
                                         "the other requests batched with it were answered")
                for job in {job for e in failed for job, _ in e.waiters}:
                    if not job.future.done():
                        job.future.set_exception(err)
                    self._drop(job)
                if not any(row is not None for row in outputs):
                    continue
            elapsed = time.perf_counter_ns() - now
            if self.on_batch is not None:
                self.on_batch(len(batch), sum(e.length for e in batch), len(batch) * max(e.length for e in batch))
            for job in {job for e in batch for job, _ in e.waiters}:  # with those that joined meanwhile
                job.inference_ns += elapsed
            for e, row in zip(batch, outputs):
                if row is None:
                    continue
                for job, position in e.waiters:
                    if job.future.done():  # cancelled meanwhile
                        continue
                    if job.outputs is None:
                        job.outputs = np.zeros((len(job.sequences), row.shape[0]), np.float32)
                    job.outputs[position] = row
                    job.remaining -= 1
                    if job.remaining == 0:
                        job.future.set_result(job.outputs)

    async def _run_isolating(self, loop: asyncio.AbstractEventLoop,
                             batch: list[_Entry]) -> tuple[list[np.ndarray | None], BaseException | None]:
        """One output row per entry (None where its sequence fails even alone), and the first failure seen.

        A failed run is retried as two halves, recursively: k bad sequences in a batch of n cost about
        2·k·log2(n) extra runs, each smaller than the first.
        """
        try:
            out = await loop.run_in_executor(self._executor, self._infer, batch)
            return list(out), None
        except Exception as exc:  # noqa: BLE001 - isolate the sequences that cause it
            if len(batch) == 1:
                return [None], exc
            mid = len(batch) // 2
            left, left_exc = await self._run_isolating(loop, batch[:mid])
            right, right_exc = await self._run_isolating(loop, batch[mid:])
            return left + right, left_exc or right_exc or exc

    def _next_batch(self) -> list[_Entry]:
        """Take one batch out of the pool: contiguous in length order, under the budget.

        It starts at the shortest sequence still in the pool of the request whose turn it is.
        Costs O(the requests' sequences + batch size) plus list moves, never a sort.
        """
        while self._pool:
            start_key = self._start_key()
            if start_key is None:  # only sequences no live request waits for
                for entry in list(self._pool.values()):
                    self._remove(entry)
                return []
            start = bisect.bisect_left(self._sorted, start_key)
            window = [self._by_key[k] for k in self._sorted[start:start + self.max_batch_size]]
            batch = window[: self._batch_length([e.length for e in window])]
            for e in batch:
                self._remove(e)
            live = []
            for e in batch:
                e.waiters = [w for w in e.waiters if not w[0].future.done()]
                if e.waiters:
                    live.append(e)
            if live:
                return live
        return []

    def _start_key(self) -> tuple[int, int] | None:
        """The pool key the next batch starts at: the shortest waiting sequence of the next request in turn.

        Turns go round the waiting requests in arrival order, after the one that started the last batch.
        """
        first: tuple[_Job, tuple[int, int]] | None = None
        for job in list(self._jobs):  # arrival order
            if job.future.done():
                self._drop(job)
                continue
            keys = [e.key for e in (self._pool.get(s) for s in job.sequences) if e is not None]
            if not keys:
                continue
            if job.order > self._last_turn:
                self._last_turn = job.order
                return min(keys)
            if first is None:
                first = (job, min(keys))
        if first is None:
            return None
        self._last_turn = first[0].order  # wrapped around: the oldest request with work left
        return first[1]

    def _batch_length(self, lengths: list[int]) -> int:
        """How many of ``lengths`` (ascending) to run as one batch: at least one.

        Every row is padded to the batch's longest, so a batch that reaches for a
        much longer sequence pays for padding on all the others. Among the prefixes
        under the budget, take the one with the lowest cost per real token, the cost
        of a run being its padded tokens plus a fixed overhead per run.
        """
        best, best_cost, real = 1, float("inf"), 0
        for count, length in enumerate(lengths[: self.max_batch_size], start=1):
            if count > 1 and length * count > self.token_budget:
                break
            real += length
            cost = (self.run_overhead_tokens + length * count) / real
            if cost <= best_cost:
                best, best_cost = count, cost
        return best

    def _infer(self, batch: list[_Entry]) -> np.ndarray:
        """Pad to the batch's longest, build the three input arrays, run the model."""
        width = max(e.length for e in batch)
        pad = self.model.template.pad_id
        ids = np.full((len(batch), width), pad, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        types = np.zeros((len(batch), width), dtype=np.int64)
        for row, e in enumerate(batch):
            seq = e.sequence
            n = len(seq.ids)
            ids[row, :n] = seq.ids
            mask[row, :n] = 1
            types[row, seq.second_segment:n] = 1
        out = self.model.run(ids, mask, types)
        self._batches += 1
        self._sequences += len(batch)
        self._real_tokens += int(mask.sum())
        self._padded_tokens += ids.size
        return out
