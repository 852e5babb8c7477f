"""One batching task per model: merges the sequences of concurrent requests.

Requests submit their sequences to a shared pool. Identical sequences (same
token ids) are computed once: a sequence already waiting or already running
for another request, or twice in one request, gets a second waiter instead of
a second row, and its output is fanned out to every waiter. For bi-encoders a
candidate's sequence does not depend on the query, so concurrent requests over
the same tool catalog share all candidate work even with the caches cold.

The loop sorts the pool by length, cuts it into batches by a padded-token
budget (stopping early where a longer sequence would cost more in padding
than a run of its own), and runs the batch that holds the oldest request's
shortest waiting sequence, so every request makes progress while requests that arrive
meanwhile share batches with it. Only one batch runs at a time (onnxruntime
already uses every core); it runs in a worker thread so the event loop keeps
answering. A cancelled request stops waiting; a sequence is dropped before it
is computed only when no other request still waits for it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from toolrank.engine.pairs import Sequence
from toolrank.errors import ModelUnavailable
from toolrank.models.loader import LoadedModel

log = logging.getLogger(__name__)

# The fixed cost of one onnxruntime run, in padded tokens: one batch of many short
# sequences beats several runs, but not at any price in padding. Measured on
# all-MiniLM-L6-v2 int8 with 2 threads (run time ~ 1.5 ms + 55 us per padded token:
# 1x16 tokens takes 2.4 ms, 32x32 takes 48 ms); for wider models the true figure
# in tokens is smaller, and this errs towards fewer, larger batches.
RUN_OVERHEAD_TOKENS = 32


@dataclass(eq=False)
class _Job:
    sequences: list[Sequence]
    future: asyncio.Future[np.ndarray]
    submitted_ns: int
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
                 on_batch: Callable[[int, int, int], None] | None = None) -> None:
        self.model = model
        self.on_batch = on_batch  # (sequences, real tokens, padded tokens) after each batch, for metrics
        self.token_budget = max(token_budget, model.spec.max_length)
        self.max_batch_size = max(1, max_batch_size)
        self._pool: dict[Sequence, _Entry] = {}  # waiting to be computed
        self._running: dict[Sequence, _Entry] = {}  # in the batch being computed now
        self._order = itertools.count()
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

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for entry in [*self._pool.values(), *self._running.values()]:
            for job, _ in entry.waiters:
                if not job.future.done():
                    job.future.set_exception(ModelUnavailable("server is shutting down"))
        self._pool.clear()
        self._running.clear()
        self._executor.shutdown(wait=True)

    async def run(self, sequences: list[Sequence]) -> tuple[np.ndarray, int, int]:
        """Outputs for ``sequences`` (in order), with queue and inference wall time in ns."""
        loop = asyncio.get_running_loop()
        job = _Job(sequences, loop.create_future(), time.perf_counter_ns(), remaining=len(sequences))
        if not sequences:
            return np.zeros((0, 1), np.float32), 0, 0
        for i, seq in enumerate(sequences):
            entry = self._running.get(seq)
            if entry is not None:  # being computed right now: its output will come to this request too
                job.started_ns = job.started_ns or job.submitted_ns
            else:
                entry = self._pool.get(seq)
            if entry is None:
                entry = self._pool[seq] = _Entry(seq, next(self._order))
                self.queued_tokens += len(seq)
            else:
                self._shared += 1
            entry.waiters.append((job, i))
        self._wakeup.set()
        try:
            outputs = await job.future
        except asyncio.CancelledError:
            self._drop(job)
            raise
        queue_ns = max(0, job.started_ns - job.submitted_ns)
        return outputs, queue_ns, job.inference_ns

    def _drop(self, job: _Job) -> None:
        """Stop waiting for ``job``; its sequences that nobody else waits for leave the pool."""
        for seq in set(job.sequences):
            entry = self._pool.get(seq)
            if entry is None:  # running (it finishes for the others) or already done
                continue
            entry.waiters = [w for w in entry.waiters if w[0] is not job]
            if not entry.waiters:
                del self._pool[seq]
                self.queued_tokens -= entry.length

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
            try:
                outputs = await loop.run_in_executor(self._executor, self._infer, batch)
            except Exception as exc:  # noqa: BLE001 - fail this batch's requests only
                log.exception("inference failed for a batch of %d sequences", len(batch))
                err = ModelUnavailable(f"inference failed: {type(exc).__name__}: {exc}")
                self._running = {}
                for job in {job for e in batch for job, _ in e.waiters}:
                    if not job.future.done():
                        job.future.set_exception(err)
                    self._drop(job)
                continue
            self._running = {}
            elapsed = time.perf_counter_ns() - now
            if self.on_batch is not None:
                self.on_batch(len(batch), sum(e.length for e in batch), len(batch) * max(e.length for e in batch))
            for job in {job for e in batch for job, _ in e.waiters}:  # with those that joined meanwhile
                job.inference_ns += elapsed
            for e, row in zip(batch, outputs):
                for job, position in e.waiters:
                    if job.future.done():  # cancelled meanwhile
                        continue
                    if job.outputs is None:
                        job.outputs = np.zeros((len(job.sequences), row.shape[0]), np.float32)
                    job.outputs[position] = row
                    job.remaining -= 1
                    if job.remaining == 0:
                        job.future.set_result(job.outputs)

    def _next_batch(self) -> list[_Entry]:
        """Take one batch out of the pool: contiguous in length order, under the budget."""
        for seq, entry in list(self._pool.items()):
            entry.waiters = [w for w in entry.waiters if not w[0].future.done()]
            if not entry.waiters:  # every request waiting for it is gone
                del self._pool[seq]
                self.queued_tokens -= entry.length
        if not self._pool:
            return []
        pool = sorted(self._pool.values(), key=lambda e: (e.length, e.order))
        oldest = min((job for e in pool for job, _ in e.waiters), key=lambda j: j.submitted_ns)
        start = next(i for i, e in enumerate(pool) if any(job is oldest for job, _ in e.waiters))
        batch = pool[start:start + self._batch_length([e.length for e in pool[start:start + self.max_batch_size]])]
        for e in batch:
            del self._pool[e.sequence]
        self.queued_tokens -= sum(e.length for e in batch)
        return batch

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
            cost = (RUN_OVERHEAD_TOKENS + length * count) / real
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
