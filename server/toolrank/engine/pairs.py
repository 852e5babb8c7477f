"""Building model inputs from token ids: pairs, windows, single sequences.

Pure functions over lists of ints, so they can be checked by hand. The
windowing follows jina-reranker-v2's ``rerank()``: the query is capped, a
document longer than the window is split into windows of
``max_length - len(query) - specials`` tokens overlapping by
``min(80, window // 4)``, the last window right-aligned, and the document
scores as its best window.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolrank.models.loader import PairTemplate

MAX_OVERLAP = 80


@dataclass(frozen=True, slots=True)
class Sequence:
    """One model input: token ids, and where the second segment (type id 1) starts."""

    ids: tuple[int, ...]
    second_segment: int

    def __len__(self) -> int:
        return len(self.ids)


def cap_query(query_ids: list[int], template: PairTemplate, max_query_length: int) -> list[int]:
    """The query's ids cut so that ``prefix + query + closing separator`` fits ``max_query_length``."""
    closing = 1 if template.middle else 0
    limit = max(1, max_query_length - len(template.prefix) - closing)
    return query_ids[:limit]


def window_size(query_len: int, template: PairTemplate, max_length: int) -> int:
    """Document tokens that fit beside a query of ``query_len`` tokens."""
    specials = len(template.prefix) + len(template.middle) + len(template.suffix)
    return max(1, max_length - query_len - specials)


def split_windows(doc_ids: list[int], window: int) -> list[list[int]]:
    """Overlapping windows over ``doc_ids``; a short document is one window.

    The stride is ``window - min(80, window // 4)``; the last window is
    right-aligned so that it is full length.
    """
    if len(doc_ids) <= window:
        return [doc_ids]
    overlap = min(MAX_OVERLAP, window // 4)
    windows: list[list[int]] = []
    start = 0
    while start < len(doc_ids):
        end = start + window
        if end >= len(doc_ids):
            windows.append(doc_ids[-window:])
            break
        windows.append(doc_ids[start:end])
        start = end - overlap
    return windows


def build_pair(query_ids: list[int], doc_ids: list[int], template: PairTemplate) -> Sequence:
    """``prefix + query + middle + document + suffix`` with its segment boundary."""
    ids = (*template.prefix, *query_ids, *template.middle, *doc_ids, *template.suffix)
    second = len(template.prefix) + len(query_ids) + template.middle_first_segment
    return Sequence(ids, second)


def build_single(ids: list[int], template: PairTemplate, max_length: int) -> tuple[Sequence, bool]:
    """One text as a sequence for a bi-encoder, truncated to ``max_length``; True if cut."""
    room = max(1, max_length - len(template.single_prefix) - len(template.single_suffix))
    cut = len(ids) > room
    body = ids[:room]
    seq = (*template.single_prefix, *body, *template.single_suffix)
    return Sequence(seq, len(seq)), cut


def pair_windows(query_ids: list[int], doc_ids: list[int], template: PairTemplate,
                 max_length: int) -> list[Sequence]:
    """Every window of one document as a pair with the (already capped) query."""
    window = window_size(len(query_ids), template, max_length)
    return [build_pair(query_ids, w, template) for w in split_windows(doc_ids, window)]
