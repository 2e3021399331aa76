"""HALoGEN's three figures from per-item records (every published row counted)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harness.registry import metric, terms_of


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


@terms_of(halogen_scores)
def item_terms(records: pd.DataFrame, **_) -> dict[str, tuple]:
    """Per item (numerator, denominator) of each figure: the figure of any sample of
    items is sum(num) / sum(den) over it (lets leaderboards bootstrap in one numpy step)."""
    n = len(records)
    rate_sum, answered, responses, utility = (np.zeros(n) for _ in range(4))
    for i, d in enumerate(records["detail"]):
        if not isinstance(d, dict) or d.get("absent"):
            continue
        for abstained, rate, util in d.get("rows", []):
            responses[i] += 1
            utility[i] += util
            if not abstained:
                answered[i] += 1
                rate_sum[i] += rate
    if not responses.any():  # as halogen_scores: no figures without a response
        return {}
    return {"hallucination_score": (rate_sum, answered), "response_ratio": (answered, responses),
            "utility_score": (utility, responses), "n_responses": (responses, responses, "sum")}
