"""One batching task per model: merges the sequences of concurrent requests.

Requests submit their sequences to a shared pool. The loop sorts the pool by
length, cuts it into batches by a padded-token budget, and runs the batch that
holds the oldest request's shortest waiting sequence, so every request makes
progress while requests that arrive meanwhile share batches with it. Only one
batch runs at a time (onnxruntime already uses every core); it runs in a
worker thread so the event loop keeps answering. Sequences of a request that
was cancelled are dropped before they are computed.
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


@dataclass(eq=False)
class _Job:
    sequences: list[Sequence]
    future: asyncio.Future[np.ndarray]
    submitted_ns: int
    outputs: np.ndarray | None = None
    remaining: int = 0
    started_ns: int = 0
    inference_ns: int = 0


@dataclass(order=True)
class _Entry:
    length: int
    order: int
    job: _Job = field(compare=False)
    position: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class BatchStats:
    """Counters the scheduler keeps (for metrics and benchmarks)."""

    batches: int
    sequences: int
    real_tokens: int
    padded_tokens: int


class BatchScheduler:
    """Owns the pool of waiting sequences and the inference thread of one model."""

    def __init__(self, model: LoadedModel, token_budget: int, max_batch_size: int,
                 on_batch: Callable[[int, int, int], None] | None = None) -> None:
        self.model = model
        self.on_batch = on_batch  # (sequences, real tokens, padded tokens) after each batch, for metrics
        self.token_budget = max(token_budget, model.spec.max_length)
        self.max_batch_size = max(1, max_batch_size)
        self._pool: list[_Entry] = []
        self._order = itertools.count()
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"infer-{model.spec.name}")
        self._task: asyncio.Task[None] | None = None
        self.queued_tokens = 0
        self._batches = 0
        self._sequences = 0
        self._real_tokens = 0
        self._padded_tokens = 0
        self.last_batch_sizes: list[int] = []

    def stats(self) -> BatchStats:
        return BatchStats(self._batches, self._sequences, self._real_tokens, self._padded_tokens)

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
        for entry in self._pool:
            if not entry.job.future.done():
                entry.job.future.set_exception(ModelUnavailable("server is shutting down"))
        self._pool.clear()
        self._executor.shutdown(wait=True)

    async def run(self, sequences: list[Sequence]) -> tuple[np.ndarray, int, int]:
        """Outputs for ``sequences`` (in order), with queue and inference wall time in ns."""
        loop = asyncio.get_running_loop()
        job = _Job(sequences, loop.create_future(), time.perf_counter_ns(), remaining=len(sequences))
        if not sequences:
            return np.zeros((0, 1), np.float32), 0, 0
        for i, seq in enumerate(sequences):
            self._pool.append(_Entry(len(seq), next(self._order), job, i))
            self.queued_tokens += len(seq)
        self._wakeup.set()
        try:
            outputs = await job.future
        except asyncio.CancelledError:
            self._drop(job)
            raise
        queue_ns = max(0, job.started_ns - job.submitted_ns)
        return outputs, queue_ns, job.inference_ns

    def _drop(self, job: _Job) -> None:
        kept = [e for e in self._pool if e.job is not job]
        self.queued_tokens -= sum(e.length for e in self._pool if e.job is job)
        self._pool = kept

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pool:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._next_batch()
            now = time.perf_counter_ns()
            for e in batch:
                if not e.job.started_ns:
                    e.job.started_ns = now
            try:
                outputs = await loop.run_in_executor(self._executor, self._infer, batch)
            except Exception as exc:  # noqa: BLE001 - fail this batch's requests only
                log.exception("inference failed for a batch of %d sequences", len(batch))
                err = ModelUnavailable(f"inference failed: {type(exc).__name__}: {exc}")
                for job in {e.job for e in batch}:
                    if not job.future.done():
                        job.future.set_exception(err)
                    self._drop(job)
                continue
            elapsed = time.perf_counter_ns() - now
            if self.on_batch is not None:
                self.on_batch(len(batch), sum(e.length for e in batch), len(batch) * max(e.length for e in batch))
            for job in {e.job for e in batch}:
                job.inference_ns += elapsed
            for e, row in zip(batch, outputs):
                job = e.job
                if job.outputs is None:
                    job.outputs = np.zeros((len(job.sequences), row.shape[0]), np.float32)
                job.outputs[e.position] = row
                job.remaining -= 1
                if job.remaining == 0 and not job.future.done():
                    job.future.set_result(job.outputs)

    def _next_batch(self) -> list[_Entry]:
        """Take one batch out of the pool: contiguous in length order, under the budget."""
        self._pool = [e for e in self._pool if not e.job.future.done()]
        self._pool.sort()
        oldest = min(self._pool, key=lambda e: (e.job.submitted_ns, e.order)).job
        start = next(i for i, e in enumerate(self._pool) if e.job is oldest)
        end = start
        while end < len(self._pool):
            count = end - start + 1
            if count > self.max_batch_size or self._pool[end].length * count > self.token_budget:
                break
            end += 1
        end = max(end, start + 1)
        batch = self._pool[start:end]
        del self._pool[start:end]
        self.queued_tokens -= sum(e.length for e in batch)
        return batch

    def _infer(self, batch: list[_Entry]) -> np.ndarray:
        """Pad to the batch's longest, build the three input arrays, run the model."""
        width = max(e.length for e in batch)
        pad = self.model.template.pad_id
        ids = np.full((len(batch), width), pad, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        types = np.zeros((len(batch), width), dtype=np.int64)
        for row, e in enumerate(batch):
            seq = e.job.sequences[e.position]
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
