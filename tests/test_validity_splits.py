"""genrank validity --splits: verdicts on rankings that agree, reverse or are unrelated, the
chance range against Kendall's exact critical value, and Supervision Gap Recovered as
Hase et al. define it ((easy - zero-shot) / (hard - zero-shot))."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leaderboards.validity.splits import (chance_range, strategy_agreement,
                                          supervision_gap_recovered)


def _frames(rankings: dict[str, list[list[float]]]):
    scores, tags = [], []
    for strategy, per_seed in rankings.items():
        for seed, values in enumerate(per_seed):
            task = f"scan_{strategy}_s{seed}"
            tags.append({"task": task, "split_of": "scan", "strategy": strategy,
                         "split_seed": seed, "exemplars": None})
            scores += [{"model": f"m{i}", "task": task, "value": v, "seed": None}
                       for i, v in enumerate(values)]
    return pd.DataFrame(scores), pd.DataFrame(tags)


def test_chance_range_matches_kendalls_critical_value():
    # n = 8: two-sided 5% critical |tau| is 0.571 (tables of Kendall's tau); the simulated
    # central 95% interval of one seed's tau must sit at about that value
    lo, hi = chance_range(8, 1, n_sim=4000, seed=1)
    assert 0.45 <= hi <= 0.65 and -0.65 <= lo <= -0.45
    lo3, hi3 = chance_range(8, 3, n_sim=4000, seed=1)
    assert hi3 < hi  # pooling seeds narrows the chance range


def test_verdicts():
    base = np.arange(8, dtype=float)
    rng = np.random.default_rng(0)
    frames = _frames({
        "random": [base + 0.1 * s for s in range(3)],
        "length": [base * 2 for _ in range(3)],
        "mcd": [-base for _ in range(3)],
        "template": [rng.permutation(8).astype(float) for _ in range(3)],
    })
    table = strategy_agreement(*frames, n_sim=1000).set_index(["a", "b"])
    assert table.loc[("length", "random"), "verdict"] == "ranking survives"
    assert table.loc[("length", "random"), "kendall_tau"] == pytest.approx(1.0)
    assert table.loc[("mcd", "random"), "verdict"] == "reversed"
    assert table.loc[("length", "random"), "n_seeds"] == 3


def test_supervision_gap_recovered():
    rows, tags = [], []
    accuracy = {"zero": 0.2, "easy": 0.5, "hard": 0.6}
    for ex, acc in accuracy.items():
        task = f"lichess_difficulty_s0_{ex}"
        tags.append({"task": task, "split_of": "lichess", "strategy": "difficulty",
                     "split_seed": 0, "exemplars": ex})
        hits = int(acc * 100)
        rows += [{"model": "m", "task": task, "item_id": str(i), "score": float(i < hits),
                  "seed": None} for i in range(100)]
    out = supervision_gap_recovered(pd.DataFrame(rows), pd.DataFrame(tags), n_boot=300)
    r = out.iloc[0]
    assert r["sgr"] == pytest.approx((0.5 - 0.2) / (0.6 - 0.2))
    assert r["sgr_lo"] < r["sgr"] < r["sgr_hi"]
