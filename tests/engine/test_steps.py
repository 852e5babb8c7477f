"""The step splitter (engine/steps.py): real multi-step requests split, single-step ones do not; fusion and cover."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from conftest import TINY
from toolrank.engine.engine import Engine
from toolrank.engine.steps import MAX_SPLIT_CHARS, MAX_STEPS, cover_steps, fuse_steps, split_steps
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput

MULTI = [
    ("find the free slot, then book it and send the invite", ("find the free slot", "book it", "send the invite")),
    ("open a PR and ask alice to review", ("open a PR", "ask alice to review")),
    ("Create a Jira ticket for the login bug and assign it to bob",
     ("Create a Jira ticket for the login bug", "assign it to bob")),
    ("Download report.pdf; upload it to the shared drive", ("Download report.pdf", "upload it to the shared drive")),
    ("1. create a branch\n2. commit the fix\n3. open a pull request",
     ("create a branch", "commit the fix", "open a pull request")),
    ("Check the weather in Berlin. Then book a table for two.", ("Check the weather in Berlin", "book a table for two")),
    ("Post the summary to #general and email it to the team", ("Post the summary to #general", "email it to the team")),
    ("I need to upload the logs and then create an incident", ("I need to upload the logs", "create an incident")),
    ("Read the latest email from carol and reply", ("Read the latest email from carol", "reply")),
    ("Transfer $50 to my savings. Secondly, tell me my balance.", ("Transfer $50 to my savings", "tell me my balance")),
    ("what is the capital of Peru, and what is the population of Chile?",
     ("what is the capital of Peru", "what is the population of Chile?")),
    ("deploy the api -> notify #ops", ("deploy the api", "notify #ops")),
]

SINGLE = [
    "search for flights from Paris and London",
    "compare X and Y",
    "Compare the prices of AAPL and MSFT",
    "Find and delete old files",  # verbs sharing one object: one step
    "Search issues and pull requests about login",  # "pull" followed by a noun is not a new action
    "Get the list of open issues and the list of PRs",
    "Show me the next meeting and the one after",  # "next" inside a noun phrase
    "Find hotels in Rome and Milan for next week",
    "Calculate the sum and the average of these numbers",
    "My laptop is slow. Check the CPU usage.",  # context, then the request: one step
    "Tell the team in #eng-announcements that the v2.3 release is live",
    "what time is it in Tokyo",
    "Who are the reviewers and approvers on PR 42",
    "",
    "   ",
]


@pytest.mark.parametrize("text, steps", MULTI)
def test_multi_step_requests_split_into_their_steps(text, steps):
    assert split_steps(text).steps == steps
    assert split_steps(text).multi


@pytest.mark.parametrize("text", SINGLE)
def test_single_step_requests_stay_whole(text):
    out = split_steps(text)
    assert out.steps == (text,) and not out.multi


def test_long_texts_and_many_steps_are_bounded():
    log = "Open the file and read it. " * 40
    assert len(log) > MAX_SPLIT_CHARS and not split_steps(log).multi
    many = "; ".join(f"create file{i}.txt" for i in range(10))
    assert len(split_steps(many).steps) == MAX_STEPS


def test_the_splitter_is_deterministic():
    text = MULTI[0][0]
    assert {split_steps(text).steps for _ in range(5)} == {MULTI[0][1]}


def _z(x):
    return (x - x.mean()) / x.std()


def test_fuse_steps_mixes_z_scores_of_the_whole_and_the_best_step():
    whole = np.array([0.9, 0.2, 0.1, 0.3])
    steps = [np.array([0.1, 0.8, 0.0, 0.2]), np.array([0.0, 0.1, 1.0, 0.2])]
    mixed = 0.5 * _z(whole) + 0.5 * np.maximum(_z(steps[0]), _z(steps[1]))
    np.testing.assert_allclose(fuse_steps(whole, steps, 0.5), whole.mean() + whole.std() * mixed)
    # each step's own best candidate now ranks above the whole's second best (row 3)
    fused = fuse_steps(whole, steps, 0.5)
    assert fused[1] > fused[3] and fused[2] > fused[3]
    np.testing.assert_allclose(fuse_steps(whole, [], 0.5), whole)
    np.testing.assert_allclose(fuse_steps(whole, steps, 0.0), whole)
    clipped = fuse_steps(np.array([0.99, 0.0, 0.0, 0.0]), [np.array([0.0, 0.0, 0.0, 1.0])], 0.9, clip=True)
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0


def test_cover_steps_takes_each_steps_best_first():
    fused = np.array([0.9, 0.8, 0.7, 0.1])
    steps = [np.array([0.9, 0.8, 0.0, 0.0]), np.array([0.0, 0.1, 0.2, 0.95])]
    # by fused alone the top 2 are rows 0 and 1 (both step 1); cover puts step 2's row 3 in
    assert cover_steps(fused, steps, 2) == [(0, 1), (3, 2)]
    assert cover_steps(fused, steps, 3) == [(0, 1), (1, 0), (3, 2)]
    # a row that may not be chosen (a filter) is skipped for its step
    eligible = np.array([True, True, True, False])
    assert cover_steps(fused, steps, 2, eligible) == [(0, 1), (2, 2)]


def _engine_scores(query: str, docs: list[str], **kw) -> tuple[dict[int, float], object]:
    async def run():
        async with Engine(Settings(), [LoadedModel(TINY / "tiny-bert-bi", threads=1)]) as engine:
            return await engine.rerank(RerankQuery(query, tuple(Candidate(TextInput(d)) for d in docs), **kw))

    out = asyncio.run(run())
    return {r.index: r.score for r in out.results}, out


def test_the_engine_fuses_steps_with_the_whole():
    docs = ["book a meeting room", "send an email invite", "find a free calendar slot", "weather forecast"]
    query = "find the free slot, then book it and send the invite"
    fused, out = _engine_scores(query, docs)
    whole, _ = _engine_scores(query, docs, split_steps=False)
    per_step = [_engine_scores(s, docs, split_steps=False)[0] for s in split_steps(query).steps]
    assert out.usage.steps == 3
    order = range(len(docs))
    expected = fuse_steps(np.array([whole[i] for i in order]), [np.array([s[i] for i in order]) for s in per_step],
                          clip=True)
    for i in order:
        assert fused[i] == pytest.approx(expected[i], abs=1e-6)
        assert 0.0 <= fused[i] <= 1.0


def test_a_single_step_request_scores_as_before():
    docs = ["book a meeting room", "send an email invite"]
    a, out = _engine_scores("search for flights from Paris and London", docs)
    b, _ = _engine_scores("search for flights from Paris and London", docs, split_steps=False)
    assert a == b and out.usage.steps == 0


def test_top_n_applies_after_the_fusion():
    docs = ["book a meeting room", "send an email invite", "find a free calendar slot", "weather forecast"]
    query = "find the free slot, then book it and send the invite"
    full, _ = _engine_scores(query, docs)
    top, out = _engine_scores(query, docs, top_n=2)
    best = sorted(full, key=lambda i: (-full[i], i))[:2]
    assert list(top) == best and len(out.results) == 2


def test_an_ensemble_fuses_steps_too_and_counts_one_request():
    settings = Settings(models=(("", str(TINY / "tiny-bert-bi")), ("", str(TINY / "tiny-bert-cross"))),
                        ensembles=("mix=tiny-bert-bi:1,tiny-bert-cross:1,bm25:0.3",))
    docs = ["book a meeting room", "send an email invite", "find a free calendar slot", "weather forecast"]
    query = "find the free slot, then book it and send the invite"

    async def go():
        async with Engine.from_settings(settings) as engine:
            cands = tuple(Candidate(TextInput(d)) for d in docs)
            before = engine.counters.requests
            split = await engine.rerank(RerankQuery(query, cands, model="mix"))
            counted = engine.counters.requests - before
            whole = await engine.rerank(RerankQuery(query, cands, model="mix", split_steps=False))
            steps = [await engine.rerank(RerankQuery(s, cands, model="mix", split_steps=False))
                     for s in split_steps(query).steps]
            return split, counted, whole, steps

    split, counted, whole, steps = asyncio.run(go())
    assert split.usage.steps == 3 and counted == 1 and split.model == "mix"

    def column(out):
        return np.array([{r.index: r.score for r in out.results}[i] for i in range(len(docs))])

    expected = fuse_steps(column(whole), [column(s) for s in steps], clip=True)
    np.testing.assert_allclose(column(split), expected, atol=1e-6)
