"""HALoGEN's three figures from per-item records (every published row counted)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harness.registry import metric


@metric("halogen_scores")
def halogen_scores(records: pd.DataFrame, **_) -> dict[str, float]:
    """hallucination_score: mean rate over non-abstained responses; response_ratio:
    non-abstained / all responses; utility_score: mean utility over all responses."""
    rows = [r for d in records["detail"] if isinstance(d, dict) and not d.get("absent")
            for r in d.get("rows", [])]
    if not rows:
        return {}
    rates = [r[1] for r in rows if not r[0]]
    return {"hallucination_score": float(np.mean(rates)) if rates else math.nan,
            "response_ratio": len(rates) / len(rows),
            "utility_score": float(np.mean([r[2] for r in rows])),
            "n_responses": float(len(rows))}
