"""Paired significance between models scored on the same items.

Leaderboards order models by a mean over a finite test set; adjacent ranks are often within noise.
Paired tests (bootstrap on item differences; McNemar's exact test for binary scores) with
Benjamini-Hochberg over all pairs say which adjacent ranks the data actually separate.
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, n_boot: int = 10000,
                     seed: int = 0) -> dict[str, float]:
    """Two-sided paired bootstrap test of mean(a) - mean(b) over the same items.

    The p-value is twice the smaller tail share of bootstrap differences at or beyond zero.
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    rng = np.random.default_rng(seed)
    n = len(d)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    boots = counts @ d / n
    p = 2 * min((boots <= 0).mean(), (boots >= 0).mean())
    return {"diff": float(d.mean()), "ci_lo": float(np.quantile(boots, 0.025)),
            "ci_hi": float(np.quantile(boots, 0.975)), "p_value": float(min(1.0, p))}


def paired_metric_bootstrap(terms_a: dict[str, np.ndarray], terms_b: dict[str, np.ndarray],
                            metric: Callable[[dict[str, np.ndarray]], np.ndarray], *,
                            n_boot: int = 10000, seed: int = 0) -> dict[str, float]:
    """Two-sided paired bootstrap of metric(a) - metric(b) for a metric of item-level terms.

    ``terms_a`` / ``terms_b``: per-item arrays (same items, same order) of each term, e.g.
    ``{"num": 2TP_i, "den": 2TP_i + FP_i + FN_i}`` for F1. Each draw resamples the items
    (the same draw for both models), sums every term over the drawn items and recomputes the
    metric from the sums for both models: ``metric`` maps ``{term: sums}`` (arrays over draws)
    to the figure. Draws where either figure is undefined (NaN) are left out. With the item
    mean as the metric this is ``paired_bootstrap`` (same draws; same p-value up to float
    rounding of exact ties).
    """
    names = sorted(terms_a)
    a = np.vstack([np.asarray(terms_a[k], float) for k in names])
    b = np.vstack([np.asarray(terms_b[k], float) for k in names])
    n = a.shape[1]
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    fa = metric(dict(zip(names, a @ counts.T)))
    fb = metric(dict(zip(names, b @ counts.T)))
    point = float(metric(dict(zip(names, a.sum(1))))) - float(metric(dict(zip(names, b.sum(1)))))
    diffs = (fa - fb)[~(np.isnan(fa) | np.isnan(fb))]
    if not len(diffs) or np.isnan(point):
        return {"diff": point, "ci_lo": np.nan, "ci_hi": np.nan, "p_value": np.nan,
                "n_draws": len(diffs)}
    p = 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())
    return {"diff": point, "ci_lo": float(np.quantile(diffs, 0.025)),
            "ci_hi": float(np.quantile(diffs, 0.975)), "p_value": float(min(1.0, p)),
            "n_draws": len(diffs)}


def mcnemar_exact(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """McNemar's exact test for paired binary outcomes: binomial test on the discordant pairs."""
    a, b = np.asarray(a) > 0.5, np.asarray(b) > 0.5
    n10, n01 = int((a & ~b).sum()), int((~a & b).sum())
    p = 1.0 if n10 + n01 == 0 else float(stats.binomtest(n10, n10 + n01, 0.5).pvalue)
    return {"a_only": n10, "b_only": n01, "p_value": p}


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (false-discovery-rate control over all tested pairs)."""
    p = np.asarray(p, float)
    return stats.false_discovery_control(p, method="bh") if len(p) else p


def is_binary(values: np.ndarray) -> bool:
    v = np.asarray(values, float)
    return bool(np.isin(v[~np.isnan(v)], (0.0, 1.0)).all())


def all_pairs(matrix: pd.DataFrame, *, n_boot: int = 10000, seed: int = 0,
              alpha: float = 0.05) -> pd.DataFrame:
    """Every pair of models (rows of a models x items matrix) on their shared items.

    Uses McNemar's exact test when all scores are 0/1, else the paired bootstrap; BH over pairs.
    """
    binary = is_binary(matrix.to_numpy())
    rows = []
    for a, b in itertools.combinations(matrix.index, 2):
        both = matrix.loc[[a, b]].dropna(axis=1)
        x, y = both.loc[a].to_numpy(float), both.loc[b].to_numpy(float)
        res = mcnemar_exact(x, y) if binary else paired_bootstrap(x, y, n_boot=n_boot, seed=seed)
        rows.append({"a": a, "b": b, "n_items": len(x), "diff": float(x.mean() - y.mean()),
                     "test": "mcnemar_exact" if binary else "paired_bootstrap",
                     "p_value": res["p_value"]})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_adj"] = benjamini_hochberg(out["p_value"].to_numpy())
        out["significant"] = out["p_adj"] < alpha
    return out


def leaderboard(matrix: pd.DataFrame, pairs: pd.DataFrame | None = None, *,
                alpha: float = 0.05, **kw) -> pd.DataFrame:
    """Models by mean score, marking whether each is distinguishable from the next one down."""
    pairs = all_pairs(matrix, alpha=alpha, **kw) if pairs is None else pairs
    means = matrix.mean(axis=1).sort_values(ascending=False)
    lookup = {frozenset((a, b)): p for a, b, p in pairs[["a", "b", "p_adj"]].itertuples(index=False)}
    rows = []
    for i, (model, score) in enumerate(means.items()):
        nxt = means.index[i + 1] if i + 1 < len(means) else None
        p = lookup.get(frozenset((model, nxt)), np.nan) if nxt is not None else np.nan
        rows.append({"rank": i + 1, "model": model, "score": float(score), "p_adj_vs_next": p,
                     "distinct_from_next": bool(p < alpha) if nxt is not None else None})
    return pd.DataFrame(rows)
