"""How many results a request needs: an adaptive cut where scores fall off, and a token budget.

Adaptive cut (``SelectQuery.adaptive``): ``top_k`` becomes a maximum; of the best ``top_k`` results
those scoring below ``best - CUT_FRACTION * (best - kth)`` are dropped (``kth``: the ``top_k``-th
score). Relative to the request's own score range, so it holds for stage one's [0, 1] scores and a
cross-encoder's logits alike. ``CUT_FRACTION`` was measured with ``python bench/adaptive_cut.py``
(the fewest results that keep 95% of Recall@10 on the development sets; see docs/learning.md).

Token budget (``SelectQuery.max_tokens``): the best results, in order, while their candidates' tokens
fit; the first that does not fit ends the list. Tokens are estimated as one per ``CHARS_PER_TOKEN``
characters of the candidate's JSON (what an agent is shown): a stated estimate, not a tokenizer,
because the model that reads the schemas is the caller's, not ours.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

CUT_FRACTION = 0.8  # bench/adaptive_cut.py: keeps 94.6% of Recall@10 with 4.5 results of 10 (mean of 4 sets)
CHARS_PER_TOKEN = 4.0


def adaptive_count(scores: Sequence[float], fraction: float = CUT_FRACTION) -> int:
    """How many of ``scores`` (best first) to keep: at least one, those within ``fraction`` of the range."""
    if len(scores) <= 1:
        return len(scores)
    best, last = scores[0], scores[-1]
    floor = best - fraction * (best - last)
    return max(1, sum(1 for s in scores if s >= floor))


def cut_rows(rows: Sequence[int], scores: Sequence[float], pinned: set[int], adaptive: bool, max_tokens: int,
             tokens_of: Callable[[int], int]) -> list[int]:
    """``rows`` (best first, with their ``scores``) after the adaptive cut and the token budget.

    Pinned rows always stay (and use the budget first); the cut and the budget apply to the others."""
    free = [(r, s) for r, s in zip(rows, scores) if r not in pinned]
    if adaptive and free:
        free = free[:adaptive_count([s for _, s in free])]
    if max_tokens > 0:
        left = max_tokens - sum(tokens_of(r) for r in rows if r in pinned)
        free = free[:budget_count([tokens_of(r) for r, _ in free], max(left, 0))]
    keep = {r for r, _ in free} | (set(rows) & pinned)
    return [r for r in rows if r in keep]


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def budget_count(tokens: Sequence[int], budget: int) -> int:
    """How many of the results (best first, their token counts) fit ``budget`` as a prefix."""
    used = 0
    for i, t in enumerate(tokens):
        if used + t > budget:
            return i
        used += t
    return len(tokens)
