"""Long queries fitted to the model's window (engine/query_window.py), and the engine serving them."""

from __future__ import annotations

import asyncio

import pytest

from conftest import TINY
from toolrank.engine.engine import Engine
from toolrank.engine.query_window import (HEAD, HEAD_TAIL, REQUEST, STRATEGIES, TAIL, fit_query, query_budget,
                                          request_likeness)
from toolrank.errors import RequestTooLarge
from toolrank.models.loader import LoadedModel
from toolrank.settings import Settings
from toolrank.types import Candidate, RerankQuery, TextInput

BI = LoadedModel(TINY / "tiny-bert-bi", threads=1)
CROSS = LoadedModel(TINY / "tiny-bert-cross", threads=1)
LOG = "\n".join(f"2026-12-05 13:{i % 60:02d}:07 ERROR worker-{i} timeout after 30s on /api/v1/orders/{i}"
                for i in range(300))
REQUEST_TEXT = "Please open a GitHub issue about the checkout timeouts and assign it to bob."


def _tokens(text: str) -> int:
    return len(BI.tokenize([text])[0])


def test_a_query_that_fits_is_unchanged():
    window = fit_query("find the weather in Paris", BI.tokenize, 64)
    assert window.text == "find the weather in Paris" and not window.truncated and window.tokens == 5


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_fits_the_budget(strategy):
    window = fit_query(LOG + "\n" + REQUEST_TEXT, BI.tokenize, 40, strategy)
    assert window.truncated and 0 < window.tokens <= 40 and window.tokens == _tokens(window.text)


def test_head_and_tail_keep_their_ends():
    text = LOG + "\n" + REQUEST_TEXT
    assert text.startswith(fit_query(text, BI.tokenize, 30, HEAD).text)
    assert text.endswith(fit_query(text, BI.tokenize, 30, TAIL).text)
    both = fit_query(text, BI.tokenize, 40, HEAD_TAIL).text
    assert text.startswith(both.split("\n")[0]) and text.endswith(both.split("\n")[-1])


@pytest.mark.parametrize("text", [LOG + "\n" + REQUEST_TEXT, REQUEST_TEXT + "\n" + LOG,
                                  LOG[:3000] + "\n" + REQUEST_TEXT + "\n" + LOG[3000:]])
def test_request_keeps_the_request_wherever_it_sits(text):
    budget = _tokens(REQUEST_TEXT) + 10
    window = fit_query(text, BI.tokenize, budget, REQUEST)
    assert REQUEST_TEXT in window.text and window.truncated and window.tokens <= budget


def test_request_likeness_prefers_instructions_to_log_lines():
    assert request_likeness(REQUEST_TEXT) > request_likeness(LOG.splitlines()[0])
    assert request_likeness("can you tell me why this fails?") > request_likeness("Traceback (most recent call last):")


def test_unknown_strategy_is_an_error():
    with pytest.raises(ValueError, match="strategy"):
        fit_query("x " * 100, BI.tokenize, 5, "middle")


def test_query_budget_leaves_room_for_special_tokens():
    assert query_budget(BI) == BI.spec.max_length - 2  # [CLS] ... [SEP]
    assert 0 < query_budget(CROSS) < CROSS.spec.max_query_length


def _rerank(model: LoadedModel, query: str, **kw):
    async def run():
        async with Engine(Settings(), [model]) as engine:
            docs = ("open a github issue", "read the log file", "weather in Paris")
            return await engine.rerank(RerankQuery(query, tuple(Candidate(TextInput(d)) for d in docs), **kw))

    return asyncio.run(run())


@pytest.mark.parametrize("model", [BI, CROSS], ids=["bi", "cross"])
def test_a_20000_character_query_is_served_and_reported(model):
    query = (LOG + "\n" + REQUEST_TEXT)[-20_000:]
    assert len(query) == 20_000
    out = _rerank(model, query, split_steps=False)  # the kept request has two steps: measured whole here
    assert len(out.results) == 3
    assert out.usage.query_truncated and out.usage.truncated >= 1
    assert out.usage.query_tokens <= query_budget(model)


def test_truncate_false_refuses_a_query_over_the_window():
    with pytest.raises(RequestTooLarge, match="query: over the"):
        _rerank(BI, LOG, truncate=False)
    assert not _rerank(BI, REQUEST_TEXT, truncate=False).usage.query_truncated


def test_truncate_false_refuses_a_text_a_bi_encoder_would_cut():
    async def run():
        async with Engine(Settings(), [BI]) as engine:
            docs = (Candidate(TextInput("short")), Candidate(TextInput("word " * 2000)))
            return await engine.rerank(RerankQuery("q", docs, truncate=False))

    with pytest.raises(RequestTooLarge, match=r"candidates\[1\]"):
        asyncio.run(run())


def test_a_1_mib_query_is_served_and_one_byte_more_is_refused():
    ask = "\nPlease open a GitHub issue about the checkout timeouts."
    body = (LOG + "\n") * (((1 << 20) // (len(LOG) + 1)) + 1)
    query = body[: (1 << 20) - len(ask)] + ask
    assert len(query.encode()) == 1 << 20
    out = _rerank(BI, query, split_steps=False)
    assert out.usage.query_truncated and len(out.results) == 3
    with pytest.raises(RequestTooLarge, match="over the limit of 1048576 bytes"):
        _rerank(BI, query + "x")


def test_in_a_transcript_the_last_user_turn_is_the_request():
    turns = "\n".join(f"User: Can you please list the open pull requests in repo {i}?\nAssistant: Done. Let me know "
                      f"if you need anything else.\nTool: {{\"items\": [{i}, {i + 1}]}}" for i in range(300))
    window = fit_query(turns + "\nUser: what is the weather in Paris tomorrow", BI.tokenize, 60, REQUEST)
    assert window.text == "what is the weather in Paris tomorrow"
