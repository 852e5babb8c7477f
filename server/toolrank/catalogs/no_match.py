""""Nothing fits": thresholds on the best stage-one score, calibrated per model and candidate kind on data.

The thresholds are data (``no_match.json`` beside this file, written by ``python bench/no_match.py
--write``: per model and kind, the score below which a query's best candidate is, with the stated
precision, not what it asks for). A model or kind without a calibrated threshold never reports
no_match: a guess would be worse than saying nothing.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Mapping

log = logging.getLogger(__name__)

DATA_FILE = Path(__file__).resolve().parent / "no_match.json"


@lru_cache(maxsize=8)
def load_thresholds(path: str = str(DATA_FILE)) -> Mapping[str, Mapping[str, float]]:
    """``{model: {kind: threshold}}`` from a calibration file; empty when it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {model: {kind: float(v["threshold"]) for kind, v in entry.get("kinds", {}).items()}
                for model, entry in data.get("models", {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("no_match thresholds %s unreadable (%s): no_match is off", path, exc)
        return {}


def is_no_match(best_score: float | None, model: str, kind: str,
                thresholds: Mapping[str, Mapping[str, float]]) -> bool:
    """Whether the best candidate (its stage-one score and kind) is below the calibrated threshold."""
    if best_score is None:
        return False
    threshold = thresholds.get(model, {}).get(kind)
    return threshold is not None and best_score < threshold
