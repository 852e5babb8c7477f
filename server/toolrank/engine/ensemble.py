"""Ensembles: a served model that is a weighted fusion of served models and BM25.

Why: models fail differently (a bi-encoder blurs identifiers, a web-search
cross-encoder misreads code, BM25 reads only words), and their scales differ
(a cosine moves by hundredths, an ms-marco logit by tens). So members are fused
on per-request z-scores, never on their activations:

    fused(c) = sum over members m of  w_m[kind(c)] * z_m(c)

where ``z_m`` standardizes member ``m``'s raw scores (cosine or logit; BM25 over
the normalized text for the ``bm25`` member) over the request's candidates
(mean 0, standard deviation 1; all equal -> 0), and ``w_m[kind]`` is the
member's weight for the candidate's kind (tool, sql, code, text): a member whose
weight is 0 for every kind in a request is not run at all. The returned score is
``sigmoid(fused / W)`` with ``W`` the sum of the model members' weights for that
kind, so it lies in (0, 1), 0.5 for a candidate at the request's mean; it ranks
within a request and is not comparable across requests. ``raw_scores`` returns
``fused`` itself.

An ensemble is declared as data, in a manifest (``toolrank.json`` with
``"kind": "ensemble"``, in a directory served with ``--model``) or with
``--ensemble NAME=MODEL:W,MODEL:W,bm25:W`` (one weight for every kind)::

    {"name": "tools-stack", "kind": "ensemble",
     "members": [{"model": "all-MiniLM-L6-v2", "weight": 1},
                 {"model": "bge-small-en-v1.5", "weight": 1, "weights": {"code": 0}},
                 {"model": "bm25", "weight": 0.3, "weights": {"code": 0}}]}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from toolrank.engine.lexical import zscore
from toolrank.errors import ConfigError

BM25_MEMBER = "bm25"
ENSEMBLE_KIND = "ensemble"
KINDS = ("tool", "sql", "code", "text")


@dataclass(frozen=True)
class Member:
    """One model (or ``bm25``) in an ensemble, with its weight, per candidate kind where it differs."""

    model: str
    weight: float
    weights: Mapping[str, float] = field(default_factory=dict)

    def weight_for(self, kind: str) -> float:
        return float(self.weights.get(kind, self.weight))


@dataclass(frozen=True)
class EnsembleSpec:
    """A named weighted fusion of served models and BM25 (see the module docstring)."""

    name: str
    members: tuple[Member, ...]

    @property
    def models(self) -> tuple[str, ...]:
        """The served models it fuses (BM25 is computed, not served)."""
        return tuple(m.model for m in self.members if m.model != BM25_MEMBER)

    def active(self, kinds: Sequence[str]) -> tuple[Member, ...]:
        """Members with a non-zero weight for some candidate of these kinds: only they run."""
        present = set(kinds)
        return tuple(m for m in self.members if any(m.weight_for(k) for k in present))


def with_lexical_weight(spec: EnsembleSpec, weight: float) -> EnsembleSpec:
    """``spec`` with one BM25 weight for every kind: a request's ``lexical_weight`` overrides the stack's
    (0: no BM25), as it does for a single model (engine/lexical.py)."""
    members = tuple(m for m in spec.members if m.model != BM25_MEMBER)
    return EnsembleSpec(spec.name, members + ((Member(BM25_MEMBER, weight),) if weight else ()))


def _weight(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: a weight must be a finite number >= 0, got {value!r}")
    return float(value)


def parse_ensemble(data: Mapping[str, Any], where: str = "ensemble") -> EnsembleSpec:
    """An :class:`EnsembleSpec` from its JSON form; ConfigError naming the bad field."""
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: name must be a non-empty string")
    raw_members = data.get("members")
    if not isinstance(raw_members, list) or not raw_members:
        raise ConfigError(f"{where}: members must be a non-empty list")
    members = []
    for i, m in enumerate(raw_members):
        at = f"{where}: members[{i}]"
        if not isinstance(m, Mapping) or not isinstance(m.get("model"), str) or not m["model"].strip():
            raise ConfigError(f"{at}: expected {{\"model\": NAME, \"weight\": W}}")
        per_kind = m.get("weights") or {}
        if not isinstance(per_kind, Mapping) or set(per_kind) - set(KINDS):
            raise ConfigError(f"{at}.weights: keys must be among {', '.join(KINDS)}")
        members.append(Member(m["model"].strip(), _weight(m.get("weight", 1.0), f"{at}.weight"),
                              {k: _weight(v, f"{at}.weights.{k}") for k, v in per_kind.items()}))
    if len({m.model for m in members}) != len(members):
        raise ConfigError(f"{where}: a member is listed twice")
    if not any(m.model != BM25_MEMBER for m in members):
        raise ConfigError(f"{where}: needs at least one served model besides bm25")
    return EnsembleSpec(name.strip(), tuple(members))


def parse_ensemble_flag(arg: str) -> EnsembleSpec:
    """``NAME=MODEL:W,MODEL:W,bm25:W`` (``:W`` optional, 1 by default)."""
    name, sep, rest = arg.partition("=")
    if not sep:
        raise ConfigError(f"--ensemble {arg!r}: expected NAME=MODEL:W,MODEL:W,bm25:W")
    members = []
    for part in rest.split(","):
        model, _, weight = part.strip().rpartition(":") if ":" in part else (part.strip(), "", "1")
        try:
            w = float(weight)
        except ValueError:
            raise ConfigError(f"--ensemble {arg!r}: weight {weight!r} of {model!r} is not a number") from None
        members.append({"model": model, "weight": w})
    return parse_ensemble({"name": name, "members": members}, f"--ensemble {name}")


def read_ensemble(path: str | Path) -> EnsembleSpec | None:
    """The ensemble a model directory declares (``toolrank.json`` with kind ensemble), else None."""
    manifest = Path(path) / "toolrank.json"
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {manifest}: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != ENSEMBLE_KIND:
        return None
    return parse_ensemble(data, str(manifest))


def fuse_z(spec: EnsembleSpec, columns: Mapping[str, np.ndarray], kinds: Sequence[str]) -> np.ndarray:
    """``sum_m w_m[kind] * z(column_m)`` per candidate; ``columns`` holds each active member's raw scores."""
    total = np.zeros(len(kinds), dtype=np.float64)
    for member in spec.active(kinds):
        w = np.array([member.weight_for(k) for k in kinds], dtype=np.float64)
        total += w * zscore(columns[member.model])
    return total


def model_weight(spec: EnsembleSpec, kinds: Sequence[str]) -> np.ndarray:
    """Per candidate, the sum of its kind's model weights (BM25 left out): the scale of ``fused``."""
    return np.array([sum(m.weight_for(k) for m in spec.members if m.model != BM25_MEMBER) for k in kinds],
                    dtype=np.float64)


def to_unit(spec: EnsembleSpec, fused: np.ndarray, kinds: Sequence[str]) -> np.ndarray:
    """``sigmoid(fused / W)``: a score in (0, 1), 0.5 at the request's mean."""
    scale = np.maximum(model_weight(spec, kinds), 1e-12)
    return 1.0 / (1.0 + np.exp(-fused / scale))


STAGE_ONE_WEIGHT = 1.0
"""Catalog Select's stage two: the cross-encoder's weight is 1, stage one's (bi-encoder + BM25) this."""


def fuse_two_stages(cross_raw: np.ndarray, stage_one: np.ndarray, stage_one_weight: float = STAGE_ONE_WEIGHT,
                    boost: np.ndarray | None = None) -> np.ndarray:
    """Select's final score over stage two's pool: ``sigmoid((z(logit) + w z(stage one) + b) / (1 + w))``.

    The cross-encoder's logits and stage one's scores (a cosine/BM25 blend) live on unrelated
    scales, so they meet as z-scores over the pool, like an ensemble's members. ``boost``, in
    stage-one units (what learning from feedback adds), counts again at full strength in the
    cross-encoder's z units: ``b = boost / std(stage one)``, so feedback moves stage two too.
    """
    fused = zscore(cross_raw) + stage_one_weight * zscore(stage_one)
    if boost is not None and stage_one.size > 1:
        fused = fused + boost / max(float(np.asarray(stage_one, dtype=np.float64).std()), 1e-6)
    return 1.0 / (1.0 + np.exp(-fused / (1.0 + stage_one_weight)))


__all__ = ["BM25_MEMBER", "fuse_two_stages", "ENSEMBLE_KIND", "EnsembleSpec", "Member", "fuse_z", "model_weight", "parse_ensemble", "with_lexical_weight",
           "parse_ensemble_flag", "read_ensemble", "to_unit"]
