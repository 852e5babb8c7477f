"""Learning from use: example requests and feedback turned into a score adjustment for Select.

Two sources of *learned examples* per candidate, both past requests embedded like a query:
- example requests the operator put with the candidate (metadata ``examples``: a JSON list of
  strings, or one example a line); they never change the candidate's normalized text;
- feedback (``Catalogs/Feedback``): a request and the ids the caller chose (positive) or rejected
  (negative), kept in the catalog's store, bounded per catalog (oldest dropped first).

Select scores the query against every learned example (one matrix-vector product), keeps the
``NEAREST_K`` nearest feedback requests plus every operator example, and lifts each candidate's
stage-one score ``s`` by ``lift = weight * max(0, sim - gate)`` of its closest positive example, as
``s + (1 - s) * lift`` (scores stay in [0, 1]); its closest rejection lowers it the same way. The gate keeps requests for *other*
tools (similar in wording, below the gate) from moving a candidate: learning must not cost on
traffic it has not seen. The constants were measured with ``python bench/learning.py`` (see
docs/learning.md). Stored as data: nothing here is retrained, any bi-encoder works.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from toolrank.errors import InvalidRequest, RequestTooLarge

EXAMPLES_KEY = "examples"  # candidate metadata key: a JSON list of strings, or one example a line
MAX_EXAMPLES = 64  # per candidate
MAX_EXAMPLE_CHARS = 2048
NEAREST_K = 10  # feedback requests nearest to the query that may move a candidate
GATE = 0.7  # cosine below which a past request says nothing about this one (bench/learning.py --sweep)
WEIGHT = 2.0  # lift per unit of cosine above the gate (bench/learning.py --sweep)
REJECT_WEIGHT = 1.0  # the same for rejections, subtracted
REACH = 1.0  # a lift fading over this distance below the query's best (swept 0.02-1.0: 1.0, i.e. off, best)
MAX_IDS = 64  # chosen_ids / rejected_ids per feedback record
SOURCES = 64  # characters of ``source`` kept


def examples_of(metadata: Mapping[str, str]) -> list[str]:
    """The example requests of a candidate's metadata (empty when none); never raises."""
    raw = metadata.get(EXAMPLES_KEY) if metadata else None
    if not raw:
        return []
    items: list[Any]
    try:
        parsed = json.loads(raw)
        items = parsed if isinstance(parsed, list) else [raw]
    except ValueError:
        items = raw.splitlines()
    out = [str(x).strip() for x in items if isinstance(x, (str, int, float)) and str(x).strip()]
    return list(dict.fromkeys(out))


def encode_examples(examples: Sequence[str]) -> str:
    """The metadata value for a list of example requests (what HTTP bodies and proto fields become)."""
    return json.dumps([str(e) for e in examples], ensure_ascii=False)


def check_examples(metadata: Mapping[str, str], where: str) -> None:
    """InvalidRequest/RequestTooLarge for a candidate whose examples a catalog cannot take."""
    examples = examples_of(metadata)
    if len(examples) > MAX_EXAMPLES:
        raise RequestTooLarge(f"{where}.metadata.examples: {len(examples)} examples, over {MAX_EXAMPLES}")
    for j, e in enumerate(examples):
        if len(e) > MAX_EXAMPLE_CHARS:
            raise RequestTooLarge(f"{where}.metadata.examples[{j}]: over {MAX_EXAMPLE_CHARS} characters")


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One past request: what was asked, what the caller chose and rejected, who said so, when."""

    query: str
    chosen_ids: tuple[str, ...] = ()
    rejected_ids: tuple[str, ...] = ()
    source: str = ""
    at: float = 0.0  # unix seconds

    def to_json(self) -> str:
        return json.dumps({"q": self.query, "c": list(self.chosen_ids), "r": list(self.rejected_ids),
                           "s": self.source, "t": round(self.at, 3)}, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "FeedbackRecord | None":
        """None for a record this version cannot read (skipped, never fatal)."""
        try:
            d = json.loads(text)
            return cls(str(d["q"]), tuple(map(str, d.get("c", ()))), tuple(map(str, d.get("r", ()))),
                       str(d.get("s", "")), float(d.get("t", 0.0)))
        except (ValueError, KeyError, TypeError):
            return None

    def only(self, ids: Mapping[str, int]) -> "FeedbackRecord | None":
        """This record without ids no longer in the catalog; None when nothing is left."""
        chosen = tuple(i for i in self.chosen_ids if i in ids)
        rejected = tuple(i for i in self.rejected_ids if i in ids)
        if not chosen and not rejected:
            return None
        if chosen == self.chosen_ids and rejected == self.rejected_ids:
            return self
        return FeedbackRecord(self.query, chosen, rejected, self.source, self.at)


def feedback_record(query: str, chosen_ids: Sequence[str], rejected_ids: Sequence[str], source: str,
                    row_of: Mapping[str, int], catalog: str, max_query_bytes: int) -> FeedbackRecord:
    """A checked record: a non-empty query, at least one id, every id in the catalog (the field named)."""
    if not query.strip():
        raise InvalidRequest("query: empty")
    if len(query.encode("utf-8", "surrogatepass")) > max_query_bytes:
        raise RequestTooLarge(f"query: over the limit of {max_query_bytes} bytes")
    if not chosen_ids and not rejected_ids:
        raise InvalidRequest("chosen_ids: at least one chosen or rejected id is required")
    for field_name, ids in (("chosen_ids", chosen_ids), ("rejected_ids", rejected_ids)):
        if len(ids) > MAX_IDS:
            raise InvalidRequest(f"{field_name}: {len(ids)} ids, over {MAX_IDS}")
        for i, cid in enumerate(ids):
            if cid not in row_of:
                raise InvalidRequest(f"{field_name}[{i}]: {cid!r} is not in catalog {catalog!r}")
    both = set(chosen_ids) & set(rejected_ids)
    if both:
        raise InvalidRequest(f"rejected_ids: {sorted(both)[0]!r} is also in chosen_ids")
    return FeedbackRecord(query, tuple(dict.fromkeys(chosen_ids)), tuple(dict.fromkeys(rejected_ids)),
                          source[:SOURCES], time.time())


@dataclass(frozen=True)
class LearnedExamples:
    """Every learned example of one catalog version: unit vectors, the row each speaks for, its sign.

    ``operator``: True for examples put with the candidate (always considered), False for feedback
    (only the ``NEAREST_K`` nearest to a query count).
    """

    matrix: np.ndarray  # float32 [m, dim]
    rows: np.ndarray  # int64 [m]
    signs: np.ndarray  # float32 [m]: +1 chosen / example, -1 rejected
    operator: np.ndarray  # bool [m]
    examples: int  # operator examples held
    feedback: int  # feedback records held (after dropping ids no longer in the catalog)

    @property
    def size(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class LearningParams:
    """The measured defaults; the bench sweeps them."""

    gate: float = GATE
    weight: float = WEIGHT
    reject_weight: float = REJECT_WEIGHT
    nearest_k: int = NEAREST_K
    reach: float = REACH  # how far below the best stage-one score a candidate may be lifted from
    fusion: str = "gated"  # "gated": s + w*max(0, sim - gate); "max": max(s, (sim+1)/2) (measured, not served)


def adjustment(learned: LearnedExamples | None, query_vector: np.ndarray | None, scores: np.ndarray,
               params: LearningParams = LearningParams()) -> np.ndarray | None:
    """What learning adds to each row's stage-one score (``scores``) for this query; None when nothing.

    ``reach`` < 1 fades a lift with the candidate's distance below the query's best stage-one score
    (swept 0.02-1.0 in bench/learning.py: no better than none, so the default 1.0 turns it off).
    """
    n = len(scores)
    if learned is None or query_vector is None or learned.size == 0:
        return None
    sims = np.einsum("ij,j->i", learned.matrix, query_vector.astype(np.float32, copy=False))
    keep = learned.operator.copy()
    fb = np.flatnonzero(~learned.operator)
    if len(fb) > params.nearest_k:
        nearest = fb[np.argpartition(-sims[fb], params.nearest_k - 1)[:params.nearest_k]]
        keep[nearest] = True
    else:
        keep[fb] = True
    idx = np.flatnonzero(keep)
    if params.fusion == "max":
        lift = (sims[idx] + 1.0) * 0.5  # an absolute score, fused by max with the row's own (see fuse)
    else:
        lift = np.maximum(sims[idx] - params.gate, 0.0) * params.weight
    pos = np.zeros(n, dtype=np.float32)
    neg = np.zeros(n, dtype=np.float32)
    signs = learned.signs[idx]
    rows = learned.rows[idx]
    np.maximum.at(pos, rows[signs > 0], lift[signs > 0])
    np.maximum.at(neg, rows[signs < 0], lift[signs < 0])
    if not pos.any() and not neg.any():
        return None
    if params.reach < 1.0 and n:
        top = float(np.max(scores))
        pos *= np.clip(1.0 - (top - scores) / max(params.reach, 1e-6), 0.0, 1.0).astype(np.float32)
    if params.fusion == "max":
        return pos - neg  # fuse() reads it as a floor
    return pos - params.reject_weight * neg


def fuse(scores: np.ndarray, adjust: np.ndarray | None, params: LearningParams = LearningParams()) -> np.ndarray:
    """Stage-one scores with learning applied (a new array; ``scores`` untouched)."""
    if adjust is None:
        return scores
    if params.fusion == "max":
        return np.maximum(scores, adjust).astype(np.float32)
    # kept in [0, 1] (Select's contract): a lift moves the score that share of the way to 1, a drop towards 0
    lift = np.clip(adjust, -1.0, 1.0)
    return np.where(lift >= 0, scores + (1.0 - scores) * lift, scores * (1.0 + lift)).astype(np.float32)


def fuse_stage_two(final: dict[int, float], stage_one: np.ndarray, adjust: np.ndarray) -> dict[int, float]:
    """Cross-encoder scores of the pool with learning applied, in the cross-encoder's units.

    Why scaled: the adjustment is in stage-one units ([0, 1]); the cross-encoder's logits spread
    differently, so the adjustment is multiplied by the ratio of the two spreads over the pool.
    """
    rows = list(final)
    if len(rows) < 2:
        return {r: final[r] + float(adjust[r]) for r in rows}
    ce = np.array([final[r] for r in rows], np.float64)
    s1 = stage_one[rows].astype(np.float64)
    scale = float(ce.std()) / max(float(s1.std()), 1e-6)
    return {r: final[r] + float(adjust[r]) * scale for r in rows}


@dataclass
class LearnedState:
    """What a service holds per catalog: the index version and feedback sequence it was built from."""

    version: int
    seq: int
    learn: bool
    records: list[FeedbackRecord]
    examples: LearnedExamples | None


def learned_examples(row_examples: Sequence[Sequence[str]], records: Sequence[FeedbackRecord],
                     row_of: Mapping[str, int], vectors: Mapping[str, np.ndarray]) -> LearnedExamples:
    """Assemble the example matrix (``vectors``: text -> unit vector for every text used)."""
    mats: list[np.ndarray] = []
    rows: list[int] = []
    signs: list[float] = []
    operator: list[bool] = []
    n_examples = 0
    for row, examples in enumerate(row_examples):
        for e in examples:
            mats.append(vectors[e])
            rows.append(row)
            signs.append(1.0)
            operator.append(True)
            n_examples += 1
    held = 0
    for rec in records:
        held += 1
        v = vectors[rec.query]
        for sign, ids in ((1.0, rec.chosen_ids), (-1.0, rec.rejected_ids)):
            for cid in ids:
                target = row_of.get(cid)
                if target is not None:
                    mats.append(v)
                    rows.append(target)
                    signs.append(sign)
                    operator.append(False)
    if not mats:
        return LearnedExamples(np.zeros((0, 1), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32),
                               np.zeros(0, bool), 0, held)
    return LearnedExamples(np.ascontiguousarray(np.stack(mats).astype(np.float32)), np.array(rows, np.int64),
                           np.array(signs, np.float32), np.array(operator, bool), n_examples, held)
