"""The training pipeline's data side (no torch): texts, hard negatives, conflict-free batches."""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training import data as D  # noqa: E402

WEATHER = {"name": "get_weather", "description": "Current weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}},
           "origin_file": "apis/get_weather.py"}
TOOLS = {
    "alpha": [("get_weather", WEATHER),
              ("get_forecast", {"name": "get_forecast", "description": "Weather forecast for the next days in a city.",
                                "parameters": {}}),
              ("send_email", {"name": "send_email", "description": "Send an email message to someone.",
                              "parameters": {}}),
              ("book_flight", {"name": "book_flight", "description": "Book a flight between two airports.",
                               "parameters": {}})],
    "beta": [("convert_currency", {"name": "convert_currency", "description": "Convert money between currencies.",
                                   "parameters": {}}),
             ("stock_price", {"name": "stock_price", "description": "Latest stock price of a ticker.", "parameters": {}})],
}
PAIRS = [
    ("What is the weather in Paris?", "alpha", "get_weather"),
    ("Will it rain in Berlin tomorrow?", "alpha", "get_forecast"),
    ("Email Bob the weather in Rome", "alpha", "get_weather"),
    ("Email Bob the weather in Rome", "alpha", "send_email"),
    ("Fly me from SFO to JFK", "alpha", "book_flight"),
    ("How many euros is 100 dollars?", "beta", "convert_currency"),
    ("Price of AAPL stock", "beta", "stock_price"),
    ("What is the weather in Paris?", "alpha", "get_weather"),  # a duplicate line: dropped
]


def write_train_dir(root: Path, pairs=PAIRS, tools=TOOLS) -> Path:
    (root / "tools").mkdir(parents=True)
    for source, items in tools.items():
        with open(root / "tools" / f"{source}.jsonl", "w") as fh:
            for tool_id, tool in items:
                fh.write(json.dumps({"tool_id": tool_id, "source": source, "tool": tool}) + "\n")
    with open(root / "pairs.jsonl", "w") as fh:
        for i, (q, source, tool_id) in enumerate(pairs):
            tool = dict(tools[source])[tool_id]
            fh.write(json.dumps({"q": q, "tool": tool, "source": source, "tool_id": tool_id, "split": "test",
                                 "qid": f"q{i}"}) + "\n")
    return root


@pytest.fixture
def data(tmp_path: Path) -> D.TrainingData:
    return D.load(write_train_dir(tmp_path / "train"), sources=("alpha", "beta"))


def test_tools_are_rendered_by_the_normalizer_without_provenance(data: D.TrainingData) -> None:
    text = data.tools["alpha/get_weather"].text
    assert text.startswith("get_weather") and "city" in text and "Current weather" in text
    assert "{" not in text  # the normalizer's compact form, not the JSON
    assert "origin" not in text.lower() and "apis/get_weather.py" not in text
    assert data.fallbacks == 0


def test_load_drops_duplicates_and_collects_every_right_tool(data: D.TrainingData) -> None:
    assert len(data.pairs) == 7
    assert data.positives["Email Bob the weather in Rome"] == {"alpha/get_weather", "alpha/send_email"}
    assert data.counts()["alpha"] == {"pairs": 5, "requests": 4, "tools": 4, "tools_used": 4}
    assert data.by_source["beta"] == ["beta/convert_currency", "beta/stock_price"]


def test_sources_not_asked_for_are_left_out(tmp_path: Path) -> None:
    only = D.load(write_train_dir(tmp_path / "t"), sources=("beta",))
    assert {p.source for p in only.pairs} == {"beta"} and set(only.by_source) == {"beta"}


def test_bm25_negatives_come_from_the_same_source_and_are_never_right(data: D.TrainingData) -> None:
    negatives = D.mine_negatives(data, D.bm25_scorer, k=2)
    rome = negatives["Email Bob the weather in Rome"]
    assert rome and not set(rome) & data.positives["Email Bob the weather in Rome"]
    for request, tools in negatives.items():
        source = next(p.source for p in data.pairs if p.request == request)
        assert all(t.startswith(source + "/") for t in tools)
        assert not set(tools) & data.positives[request]
    # BM25 ranks the forecast tool (shares "weather" and "city") above unrelated ones for a weather request
    assert negatives["What is the weather in Paris?"][0] == "alpha/get_forecast"


def test_any_scorer_mines_and_merge_interleaves(data: D.TrainingData) -> None:
    def reverse_list_order(requests, texts):  # a "model" preferring later tools of the list
        return np.tile(np.arange(len(texts), dtype=float), (len(requests), 1))

    model = D.mine_negatives(data, reverse_list_order, k=2)
    assert model["What is the weather in Paris?"] == ["alpha/book_flight", "alpha/send_email"]
    merged = D.merge_negatives({"q": ["a", "b", "c"]}, {"q": ["b", "d"]}, k=3)
    assert merged == {"q": ["a", "b", "d"]}


def test_batches_never_hold_one_request_or_one_tool_twice() -> None:
    rng = random.Random(7)
    pairs = [D.Pair(f"request {rng.randrange(40)}", f"s/tool{rng.randrange(12)}", "s") for _ in range(300)]
    pairs = list(dict.fromkeys(pairs))
    batches = D.build_batches(pairs, batch_size=8, seed=3)
    assert sorted(map(repr, (p for b in batches for p in b))) == sorted(map(repr, pairs))  # each pair once
    for batch in batches:
        assert 1 <= len(batch) <= 8
        assert max(Counter(p.request for p in batch).values()) == 1
        assert max(Counter(p.tool for p in batch).values()) == 1
    assert sum(len(b) == 8 for b in batches) >= len(batches) - 4  # first fit fills almost every batch


def test_batches_are_deterministic_per_seed_and_epochs_differ(data: D.TrainingData) -> None:
    one = D.build_batches(data.pairs, 3, seed=5)
    assert one == D.build_batches(data.pairs, 3, seed=5)
    stream = D.batch_stream(data.pairs, 3, seed=5)
    first_epoch = [next(stream) for _ in range(len(one))]
    assert first_epoch == one
    assert [next(stream) for _ in range(len(one))] == D.build_batches(data.pairs, 3, seed=6)


def test_cap_per_tool_keeps_at_most_cap_and_is_seeded() -> None:
    pairs = [D.Pair(f"r{i}", f"s/t{i % 3}", "s") for i in range(30)]
    capped = D.cap_per_tool(pairs, 4, seed=1)
    assert Counter(p.tool for p in capped) == {"s/t0": 4, "s/t1": 4, "s/t2": 4}
    assert capped == D.cap_per_tool(pairs, 4, seed=1)
    assert D.cap_per_tool(pairs, 0, seed=1) == pairs


def test_picked_negatives_skip_tools_already_in_the_batch() -> None:
    batch = [D.Pair("q1", "s/a", "s"), D.Pair("q2", "s/b", "s")]
    negatives = {"q1": ["s/b", "s/c"], "q2": ["s/c", "s/a"]}
    picked = D.pick_negatives(batch, negatives, random.Random(0), top=2)
    assert picked == ["s/c", None]  # q1 cannot take s/b (a positive column); q2's only other choice is taken


def test_false_negative_mask_hides_other_right_tools_only() -> None:
    batch = [D.Pair("q1", "s/a", "s"), D.Pair("q2", "s/b", "s")]
    columns = ["s/a", "s/b", "s/c", "s/a2"]
    positives = {"q1": frozenset({"s/a", "s/c"}), "q2": frozenset({"s/b"})}
    mask = D.false_negative_mask(batch, columns, positives)
    assert mask.tolist() == [[False, False, True, False], [False, False, False, False]]

