"""One bad request fails alone: a batch whose run fails is bisected, only the request whose sequence makes the
model fail gets InferenceError (INTERNAL: not retried elsewhere); the requests batched with it get their outputs.
A model that fails on everything still answers ModelUnavailable (UNAVAILABLE) to all."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from conftest import TINY
from toolrank.engine.pairs import Sequence
from toolrank.engine.scheduler import BatchScheduler
from toolrank.errors import InferenceError, ModelUnavailable, status_of
from toolrank.models.loader import LoadedModel

POISON = 10_000  # past the tiny vocabulary: onnxruntime itself fails on it (Gather out of bounds)


def _seq(*ids: int) -> Sequence:
    return Sequence((101, *ids, 102), len(ids) + 2)


def _poisoned_model(fail_all: bool = False):
    model = LoadedModel(TINY / "tiny-bert-cross", threads=1)
    inner = model.run
    calls: list[int] = []

    def run(ids, mask, types):
        calls.append(ids.shape[0])
        if fail_all:
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : the model is broken")
        return inner(ids, mask, types)

    model.run = run  # type: ignore[method-assign]
    return model, inner, calls


def test_a_poisoned_sequence_fails_only_its_own_request():
    async def go():
        model, inner, calls = _poisoned_model()
        scheduler = BatchScheduler(model, token_budget=4096, max_batch_size=64)
        scheduler.start()
        good_a = [_seq(200 + i, 201 + i, 202 + i) for i in range(5)]
        good_b = [_seq(300 + i, 301 + i, 302 + i) for i in range(5)]
        bad = [_seq(400, 401, 402), _seq(403, POISON, 404)]
        out = await asyncio.gather(scheduler.run(good_a), scheduler.run(bad), scheduler.run(good_b),
                                   return_exceptions=True)
        await scheduler.stop()
        return out, inner, calls

    (a, bad, b), inner, calls = asyncio.run(go())
    assert calls[0] == 12, "the three requests should have shared one batch"
    assert isinstance(bad, InferenceError) and status_of(bad)[0] == "INTERNAL"
    for result, first in ((a, 200), (b, 300)):
        assert not isinstance(result, BaseException), result
        outputs = result[0]
        expected = inner(np.array([_seq(first, first + 1, first + 2).ids]), np.ones((1, 5), np.int64),
                         np.zeros((1, 5), np.int64))[0]
        np.testing.assert_allclose(outputs[0], expected, atol=1e-5)
    assert sum(calls) < 12 * 6  # bisection, not one run per sequence per level


def test_a_model_failing_on_everything_is_unavailable_for_all():
    async def go():
        model, _inner, _calls = _poisoned_model(fail_all=True)
        scheduler = BatchScheduler(model, token_budget=4096, max_batch_size=64)
        scheduler.start()
        out = await asyncio.gather(scheduler.run([_seq(5, 6)]), scheduler.run([_seq(7, 8), _seq(9, 10)]),
                                   return_exceptions=True)
        await scheduler.stop()
        return out

    for result in asyncio.run(go()):
        assert isinstance(result, ModelUnavailable) and status_of(result)[0] == "UNAVAILABLE"


@pytest.mark.parametrize("n", [1, 2, 7])
def test_the_scheduler_keeps_serving_after_a_failed_batch(n):
    async def go():
        model, _inner, _calls = _poisoned_model()
        scheduler = BatchScheduler(model, token_budget=4096, max_batch_size=64)
        scheduler.start()
        with pytest.raises(InferenceError):
            await asyncio.gather(scheduler.run([_seq(POISON)]), scheduler.run([_seq(11 + i) for i in range(n)]))
        after = await scheduler.run([_seq(12, 13)])
        await scheduler.stop()
        return after

    assert asyncio.run(go())[0].shape[0] == 1
