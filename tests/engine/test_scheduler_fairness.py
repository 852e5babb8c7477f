"""Fair scheduling: requests take turns starting batches, so a small request that arrives while a big one is
queued is answered within a batch or two, not after all of the big one's batches. Counted, never timed."""

from __future__ import annotations

import asyncio

from conftest import TINY
from toolrank.engine.pairs import Sequence
from toolrank.engine.scheduler import BatchScheduler
from toolrank.models.loader import LoadedModel


def _seq(*ids: int) -> Sequence:
    return Sequence((101, *ids, 102), len(ids) + 2)


def test_a_small_request_does_not_wait_for_every_batch_of_a_big_one():
    async def go():
        model = LoadedModel(TINY / "tiny-bert-cross", threads=1)
        batches: list[int] = []
        scheduler = BatchScheduler(model, token_budget=4096, max_batch_size=8,
                                   on_batch=lambda n, real, padded: batches.append(n))
        scheduler.start()
        # the big request: 200 sequences, all shorter than the small one's (so length order alone puts it last)
        big = [_seq(*(200 + (i + j) % 200 for j in range(1 + i % 5))) for i in range(200)]
        small = [_seq(*range(300, 330))]
        big_task = asyncio.ensure_future(scheduler.run(big))
        await asyncio.sleep(0)  # the big one is queued first
        small_out = await scheduler.run(small)
        at_small = len(batches)
        await big_task
        await scheduler.stop()
        return small_out, at_small, len(batches)

    small_out, at_small, total = asyncio.run(go())
    assert small_out[0].shape == (1, 1)
    assert total >= 25  # the big request alone needs many batches of 8
    assert at_small <= 2, f"the small request waited for {at_small} of {total} batches"


def test_three_requests_take_turns():
    async def go():
        model = LoadedModel(TINY / "tiny-bert-cross", threads=1)
        scheduler = BatchScheduler(model, token_budget=4096, max_batch_size=4)
        scheduler.start()
        done: list[str] = []

        async def request(name: str, seqs: list[Sequence]) -> None:
            await scheduler.run(seqs)
            done.append(name)

        a = [_seq(10 + i, 11 + i) for i in range(40)]  # 10 batches
        b = [_seq(*range(100, 110 + i)) for i in range(4)]  # one batch, longer sequences
        c = [_seq(*range(150, 170 + i)) for i in range(4)]
        await asyncio.gather(request("a", a), request("b", b), request("c", c))
        await scheduler.stop()
        return done

    assert asyncio.run(go())[-1] == "a"  # b and c finish while a still has batches to run
