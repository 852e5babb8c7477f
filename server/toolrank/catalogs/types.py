"""Typed, frozen values of the catalogs layer: what transports pass in and get back.

Protobuf never gets here (``toolrank.api.grpc_catalogs`` converts); candidates are
:class:`toolrank.types.Candidate`, usage and timing the engine's own dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from toolrank.types import Candidate, Timing, Usage

DEFAULT_TOP_K = 10
DEFAULT_RERANK_DEPTH = 50

# Stage-one scoring modes: "fused" is what Select serves; the other two exist for `toolrank eval --catalog`.
FUSED, DENSE, BM25 = "fused", "dense", "bm25"


@dataclass(frozen=True, slots=True)
class PutCatalogRequest:
    """Create a catalog or upsert into it by candidate id (ids required and unique in one put).

    ``replace`` swaps the whole catalog for ``candidates`` atomically; ``delete_ids`` removes
    entries (unknown ids are ignored and not counted). ``model``: the bi-encoder to embed with
    (empty: the catalog's current model, else the server's default bi-encoder); putting with
    another model than the catalog's embeds every entry again for it.
    """

    catalog: str
    candidates: tuple[Candidate, ...] = ()
    replace: bool = False
    delete_ids: tuple[str, ...] = ()
    model: str = ""
    learn: bool | None = None  # switch learning on/off for this catalog (None: leave as is; docs/learning.md)


@dataclass(frozen=True, slots=True)
class PutOutcome:
    catalog: str
    version: int
    size: int
    added: int
    updated: int  # ids that existed with other content (unchanged re-puts count in neither)
    deleted: int
    usage: Usage  # candidate_tokens / truncated / fallbacks / cache_hits of what was embedded


@dataclass(frozen=True, slots=True)
class SelectQuery:
    """A Select as the catalogs layer sees it. ``min_score`` None = no minimum.

    ``context``: earlier conversation turns, oldest first, weighted below the query.
    ``instruction``: prepended to the query for the dense (bi-encoder) stage only.
    ``rerank_depth``: stage one's top candidates that stage two rescores (0 = 50);
    ``stage_one_only`` skips stage two even when a cross-encoder is served.
    ``rerank_model``: the cross-encoder for stage two (empty = the first served one).
    ``scoring``: FUSED (served), DENSE or BM25 (for evaluation).
    ``per_step``: a multi-step query (engine/steps.py) gets a set that covers each step: each step's
    best candidate first, the other slots by the fused score.
    ``split_steps``: score a multi-step query per step too (False: whole only; for evaluation).
    """

    catalog: str
    query: str
    top_k: int = DEFAULT_TOP_K
    min_score: float | None = None
    pinned_ids: tuple[str, ...] = ()
    filter: Mapping[str, str] = field(default_factory=dict)
    instruction: str = ""
    return_candidates: bool = False
    return_text: bool = False
    model: str = ""
    context: tuple[str, ...] = ()
    rerank_depth: int = 0
    stage_one_only: bool = False
    rerank_model: str = ""
    scoring: str = FUSED
    learn: bool = True  # False: this request ignores learned examples and feedback (evaluation, comparison)
    max_tokens: int = 0  # 0 = no budget; else the best results whose candidates fit this many tokens
    adaptive: bool = False  # top_k is a maximum: stop where the scores fall off (toolrank.catalogs.cut)
    per_step: bool = False
    split_steps: bool = True


@dataclass(frozen=True, slots=True)
class SelectHit:
    """One selected candidate; ``text``/``candidate`` only when asked for."""

    id: str
    score: float
    pinned: bool = False
    text: str | None = None
    candidate: Candidate | None = None
    step: int = 0  # per_step: the 1-based step this hit was chosen for; 0 = by score


@dataclass(frozen=True, slots=True)
class SelectOutcome:
    results: tuple[SelectHit, ...]
    version: int  # the one catalog version every result came from
    usage: Usage
    timing: Timing
    model: str  # the bi-encoder of stage one ("" when the catalog has no dense stage)
    rerank_model: str = ""  # the cross-encoder of stage two ("" when it did not run)
    no_match: bool = False  # even the best candidate is below the calibrated threshold (toolrank.catalogs.no_match)
    steps: tuple[str, ...] = ()  # the steps a multi-step query was split into (empty: one step)


@dataclass(frozen=True, slots=True)
class CatalogInfo:
    catalog: str
    version: int
    size: int
    model: str  # the bi-encoder its embeddings belong to ("" = none served: BM25 only)
    examples: int = 0  # example requests its candidates carry
    feedback: int = 0  # feedback records it holds
    learn: bool = True  # whether Select uses them (per catalog and server-wide)


@dataclass(frozen=True, slots=True)
class FeedbackRequest:
    """A past request and what was chosen for it (and, optionally, rejected); ids must be in the catalog."""

    catalog: str
    query: str
    chosen_ids: tuple[str, ...] = ()
    rejected_ids: tuple[str, ...] = ()
    source: str = ""  # who says so: "mcp-proxy", "user", an application name (kept, at most 64 characters)


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    catalog: str
    feedback: int  # records the catalog holds now
    dropped: int  # oldest records dropped to stay within the limit
