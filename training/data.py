"""The data side of training, torch-free: texts, hard negatives and conflict-free batches.

Requests are kept as the datasets wrote them; tools are rendered by toolrank's own
normalizer (:func:`toolrank.normalize.normalize`), so the model learns the compact text the
server embeds. Everything here is deterministic for a given seed: the same files give the
same batches in the same order.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from toolrank.candidates import content_from_json
from toolrank.engine.lexical import bm25_scores, lexical_tokens
from toolrank.normalize import normalize

PROVENANCE_KEYS = frozenset({"origin_file"})
"""Keys the dataset builders added to a tool (where they read it from): not part of any real schema."""

LICENSED_SOURCES = ("apibank", "toolalpaca", "restbench_tmdb", "restbench_spotify", "teval")
"""The permissively licensed sources of ../shared/train (its README); research-only data is opt-in."""


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool of a source's list, as the server would embed it."""

    key: str  # "<source>/<tool_id>": unique across sources
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class Pair:
    """A request and one tool it needs."""

    request: str  # the request text, as written
    tool: str  # Tool.key
    source: str


@dataclass
class TrainingData:
    """Pairs, every source's tool list, and each request's full set of right tools."""

    pairs: list[Pair]
    tools: dict[str, Tool]
    positives: dict[str, frozenset[str]]  # request -> every tool key it needs (never a negative for it)
    fallbacks: int = 0  # tools the normalizer could only keep as raw text
    by_source: dict[str, list[str]] = field(default_factory=dict)  # source -> its tool keys, in file order

    def counts(self) -> dict[str, dict[str, int]]:
        """Per source: pairs, distinct requests, tools in the list, tools used (for the model card)."""
        out: dict[str, dict[str, int]] = {}
        for source, keys in sorted(self.by_source.items()):
            pairs = [p for p in self.pairs if p.source == source]
            out[source] = {"pairs": len(pairs), "requests": len({p.request for p in pairs}),
                           "tools": len(keys), "tools_used": len({p.tool for p in pairs})}
        return out


def render_tool(tool: Mapping[str, object]) -> tuple[str, bool]:
    """The normalizer's text for a tool schema (provenance keys dropped) and whether it fell back."""
    clean = {k: v for k, v in tool.items() if k not in PROVENANCE_KEYS}
    result = normalize(content_from_json({"tool": clean}))
    return result.text, result.fallback


def _read_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load(train_dir: str | Path, sources: Sequence[str] = LICENSED_SOURCES, research_only: bool = False) -> TrainingData:
    """Read ``pairs.jsonl`` and ``tools/<source>.jsonl`` (and ``research-only/`` when asked)."""
    roots = [Path(train_dir)] + ([Path(train_dir) / "research-only"] if research_only else [])
    tools: dict[str, Tool] = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    pairs: list[Pair] = []
    fallbacks = 0
    wanted = set(sources)
    for root in roots:
        for path in sorted((root / "tools").glob("*.jsonl")):
            for row in _read_jsonl(path):
                source = str(row["source"])
                if root == Path(train_dir) and source not in wanted:
                    continue
                key = f"{source}/{row['tool_id']}"
                if key in tools:
                    continue
                text, fell_back = render_tool(row["tool"])
                fallbacks += fell_back
                tools[key] = Tool(key, source, text)
                by_source[source].append(key)
        for row in _read_jsonl(root / "pairs.jsonl"):
            source = str(row["source"])
            key = f"{source}/{row['tool_id']}"
            if key not in tools:  # a source not asked for, or a tool missing from its list
                continue
            pairs.append(Pair(str(row["q"]), key, source))
    seen: set[tuple[str, str]] = set()
    unique = []
    for pair in pairs:
        if (pair.request, pair.tool) not in seen:
            seen.add((pair.request, pair.tool))
            unique.append(pair)
    positives: dict[str, set[str]] = defaultdict(set)
    for pair in unique:
        positives[pair.request].add(pair.tool)
    return TrainingData(unique, tools, {q: frozenset(t) for q, t in positives.items()}, fallbacks, dict(by_source))


def cap_per_tool(pairs: Sequence[Pair], cap: int, seed: int) -> list[Pair]:
    """At most ``cap`` pairs per tool (a fixed random choice), so a few tools with many requests
    (T-Eval: 2,104 pairs over 50 tools) do not dominate; order otherwise kept. ``cap`` 0 = all."""
    if cap <= 0:
        return list(pairs)
    by_tool: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_tool[pair.tool].append(i)
    rng = random.Random(seed)
    keep: set[int] = set()
    for tool in sorted(by_tool):
        idx = by_tool[tool]
        keep.update(idx if len(idx) <= cap else rng.sample(idx, cap))
    return [p for i, p in enumerate(pairs) if i in keep]


# A scorer ranks one source's tools for many requests: (requests, tool texts) -> [len(requests), len(tools)].
Scorer = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def bm25_scorer(requests: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """BM25 with toolrank's own lexical tokens (the ones Rerank's lexical fusion uses)."""
    docs = [lexical_tokens(t) for t in texts]
    return np.stack([bm25_scores(lexical_tokens(q), docs) for q in requests]) if requests else np.zeros((0, len(texts)))


def mine_negatives(data: TrainingData, scorer: Scorer, k: int) -> dict[str, list[str]]:
    """For each request: the ``k`` tools of its own source that ``scorer`` ranks highest but are wrong.

    Ties break by the source's list order, so the result is deterministic.
    """
    requests_by_source: dict[str, list[str]] = defaultdict(list)
    for pair in data.pairs:
        if pair.request not in requests_by_source[pair.source]:
            requests_by_source[pair.source].append(pair.request)
    out: dict[str, list[str]] = {}
    for source in sorted(requests_by_source):
        keys = data.by_source[source]
        requests = requests_by_source[source]
        scores = np.asarray(scorer(requests, [data.tools[key].text for key in keys]), dtype=np.float64)
        for request, row in zip(requests, scores):
            order = np.argsort(-row, kind="stable")
            wrong = [keys[j] for j in order if keys[j] not in data.positives[request]]
            out.setdefault(request, [])
            for key in wrong[:k]:
                if key not in out[request]:
                    out[request].append(key)
    return out


def merge_negatives(*rankings: Mapping[str, Sequence[str]], k: int) -> dict[str, list[str]]:
    """Interleave several miners' lists (BM25's first, the model's first, BM25's second, ...), first ``k`` distinct."""
    requests = sorted({q for ranking in rankings for q in ranking})
    out: dict[str, list[str]] = {}
    for request in requests:
        lists = [list(ranking.get(request, ())) for ranking in rankings]
        merged: list[str] = []
        for i in range(max((len(x) for x in lists), default=0)):
            for lst in lists:
                if i < len(lst) and lst[i] not in merged:
                    merged.append(lst[i])
        out[request] = merged[:k]
    return out


def build_batches(pairs: Sequence[Pair], batch_size: int, seed: int) -> list[list[Pair]]:
    """One epoch of batches: shuffled with ``seed``, no two pairs of one request or one tool in a batch.

    A pair that would collide waits for a later batch (first fit), so every pair is used once;
    the last batches may be smaller, and a pair that fits nowhere else gets a batch of its own.
    """
    order = list(pairs)
    random.Random(seed).shuffle(order)
    batches: list[list[Pair]] = []
    used: list[tuple[set[str], set[str]]] = []
    open_from = 0  # batches before this one are full
    for pair in order:
        for b in range(open_from, len(batches)):
            requests, tools = used[b]
            if len(batches[b]) < batch_size and pair.request not in requests and pair.tool not in tools:
                batches[b].append(pair)
                requests.add(pair.request)
                tools.add(pair.tool)
                break
        else:
            batches.append([pair])
            used.append(({pair.request}, {pair.tool}))
        while open_from < len(batches) and len(batches[open_from]) >= batch_size:
            open_from += 1
    return batches


def batch_stream(pairs: Sequence[Pair], batch_size: int, seed: int) -> Iterator[list[Pair]]:
    """Epoch after epoch of :func:`build_batches` (epoch ``e`` shuffled with ``seed + e``)."""
    epoch = 0
    while True:
        yield from build_batches(pairs, batch_size, seed + epoch)
        epoch += 1


def pick_negatives(batch: Sequence[Pair], negatives: Mapping[str, Sequence[str]], rng: random.Random,
                   top: int) -> list[str | None]:
    """One hard negative per pair: a random one of its request's ``top`` mined tools (None when it has none).

    Tools already in the batch as a positive are skipped, so a column is never duplicated.
    """
    in_batch = {pair.tool for pair in batch}
    out: list[str | None] = []
    for pair in batch:
        choices = [t for t in list(negatives.get(pair.request, ()))[:top] if t not in in_batch]
        pick = rng.choice(choices) if choices else None
        out.append(pick)
        if pick is not None:
            in_batch.add(pick)
    return out


def false_negative_mask(batch: Sequence[Pair], columns: Sequence[str], positives: Mapping[str, Iterable[str]]) -> np.ndarray:
    """[len(batch), len(columns)] True where a column is another right tool of that row's request.

    Column ``i`` is pair ``i``'s own positive and is never masked; any other column holding a
    tool the request needs would be a false negative in the contrastive loss.
    """
    mask = np.zeros((len(batch), len(columns)), dtype=bool)
    for i, pair in enumerate(batch):
        right = set(positives.get(pair.request, ())) | {pair.tool}
        for j, key in enumerate(columns):
            if j != i and key in right:
                mask[i, j] = True
    return mask


def texts_for(keys: Iterable[str], tools: Mapping[str, Tool]) -> list[str]:
    return [tools[key].text for key in keys]
