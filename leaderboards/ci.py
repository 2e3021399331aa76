"""Confidence intervals for task scores: Wilson for one run's binary scores, bootstrap otherwise."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Callable

import numpy as np
import pandas as pd


def wilson(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if n == 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # rounding drops float noise such as 5.6e-17 for an all-wrong task
    return max(0.0, round(centre - half, 12)), min(1.0, round(centre + half, 12))


def bootstrap_mean(scores: np.ndarray, confidence: float = 0.95, n_boot: int = 1000,
                   seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap over items of the mean score, averaged over seeds.

    ``scores`` is (n_seeds, n_items): the same items resampled for every seed, so the
    interval reflects item sampling, the variance that matters for benchmark claims.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    n = scores.shape[1]
    if n == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    per_item = scores.mean(axis=0)
    idx = rng.integers(0, n, size=(n_boot, n))
    draws = per_item[idx].mean(axis=1)
    a = (1 - confidence) / 2
    return float(np.quantile(draws, a)), float(np.quantile(draws, 1 - a))


def bootstrap_metric(records: list[pd.DataFrame], metric: Callable[[pd.DataFrame], float],
                     confidence: float = 0.95, n_boot: int = 100, seed: int = 0
                     ) -> tuple[float, float]:
    """Percentile bootstrap of any metric over items (same resample for every seed's records)."""
    n = len(records[0])
    if n == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, size=n)
        draws.append(np.mean([metric(r.iloc[idx]) for r in records]))
    a = (1 - confidence) / 2
    return float(np.nanquantile(draws, a)), float(np.nanquantile(draws, 1 - a))


def bootstrap_ratio(terms: list[tuple[np.ndarray, np.ndarray]], confidence: float = 0.95,
                    n_boot: int = 100, seed: int = 0) -> tuple[float, float]:
    """bootstrap_metric, vectorised, for a metric that is a ratio of per-item sums
    (sum num / sum den over the items drawn): ``terms`` holds each seed's (num, den)
    per item, aligned. Same resamples as bootstrap_metric with the same seed."""
    num = np.vstack([np.asarray(t[0], dtype=float) for t in terms])
    den = np.vstack([np.asarray(t[1], dtype=float) for t in terms])
    n = num.shape[1]
    if n == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = (num[:, idx].sum(axis=2) / den[:, idx].sum(axis=2)).mean(axis=0)
    if np.isnan(draws).all():
        return math.nan, math.nan
    a = (1 - confidence) / 2
    return float(np.nanquantile(draws, a)), float(np.nanquantile(draws, 1 - a))


def interval(scores: np.ndarray, confidence: float = 0.95, n_boot: int = 1000, seed: int = 0
             ) -> tuple[float, float, str]:
    """The interval for a (seeds x items) score matrix, and the method's name."""
    scores = np.atleast_2d(scores)
    if scores.shape[0] == 1 and np.isin(scores, (0.0, 1.0)).all():
        lo, hi = wilson(float(scores.sum()), scores.shape[1], confidence)
        return lo, hi, "wilson"
    lo, hi = bootstrap_mean(scores, confidence, n_boot, seed)
    return lo, hi, "bootstrap"
