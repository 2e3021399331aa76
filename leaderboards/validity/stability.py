"""Rank stability: Kendall's W across benchmarks and bootstrap intervals for ranks and taus.

Bootstraps are vectorised as multinomial count matrices, so 1,000 draws cost a few matrix
products rather than 1,000 Python loops.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from leaderboards.validity.concordance import kendall_tau_b, why_undefined


def kendall_w(wide: pd.DataFrame) -> dict[str, float]:
    """Kendall's coefficient of concordance (tie-corrected) over models scored by every column.

    Columns are the raters (benchmarks), rows the models; larger scores are better.
    """
    full = wide.dropna()
    n, m = full.shape
    if n < 2 or m < 2:
        return {"W": float("nan"), "n_models": n, "n_benchmarks": m, "chi2": float("nan"),
                "p_value": float("nan")}
    ranks = np.column_stack([stats.rankdata(full[c].to_numpy(float)) for c in full.columns])
    r = ranks.sum(axis=1)
    s = ((r - r.mean()) ** 2).sum()
    ties = sum(((cnt ** 3) - cnt).sum() for cnt in
               (np.unique(ranks[:, j], return_counts=True)[1] for j in range(m)))
    w = 12 * s / (m ** 2 * (n ** 3 - n) - m * ties)
    chi2 = m * (n - 1) * w
    return {"W": float(w), "n_models": n, "n_benchmarks": m, "chi2": float(chi2),
            "p_value": float(stats.chi2.sf(chi2, n - 1))}


def complete_block(wide: pd.DataFrame, min_models: int = 8) -> list[str]:
    """Greedy set of columns whose complete-case models stay >= ``min_models`` (for Kendall's W).

    Public leaderboards rarely share every model, so W over all columns is usually undefined;
    this starts from the best-covered column and adds the column keeping the most models.
    """
    present = wide.notna()
    cols = [present.sum().idxmax()]
    rows = present[cols[0]]
    while True:
        rest = [c for c in wide.columns if c not in cols]
        if not rest:
            return cols
        kept = {c: int((rows & present[c]).sum()) for c in rest}
        best = max(kept, key=kept.get)
        if kept[best] < min_models:
            return cols
        cols.append(best)
        rows = rows & present[best]


def _quantiles(draws: np.ndarray, lo_q: float, hi_q: float) -> tuple[float, float]:
    """Quantiles of the defined draws; NaN (no warning) when no draw is defined."""
    ok = draws[~np.isnan(draws)]
    return (float(np.quantile(ok, lo_q)), float(np.quantile(ok, hi_q))) if len(ok) else (
        np.nan, np.nan)


def _mean_defined(stack: np.ndarray) -> np.ndarray:
    """Mean over axis 0 of the defined values; NaN (no warning) where none is defined."""
    defined = ~np.isnan(stack)
    count = defined.sum(axis=0)
    total = np.where(defined, stack, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """Bootstrap multiplicities: each row is one draw of n indices with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def _ranks_desc(scores: np.ndarray) -> np.ndarray:
    """Rank 1 = best along axis 0 (models), ties share the best rank."""
    return stats.rankdata(-scores, axis=0, method="min")


def item_matrix(items: pd.DataFrame, task: str) -> pd.DataFrame:
    """models x items score matrix of one task (seeds and variants averaged)."""
    sub = items[items["task"] == task]
    return sub.groupby(["model", "item_id"])["score"].mean().unstack()


def item_bootstrap(items: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0,
                   level: float = 0.95) -> dict[str, pd.DataFrame]:
    """Resample each task's items (the same draw for all models) and recompute scores and ranks.

    ``items``: long ``model, task, item_id, score`` (genrank records). Returns ``ranks`` (model,
    task incl. ``overall`` = mean over tasks, score, rank, rank_lo, rank_hi) and ``taus`` (task pair,
    tau, tau_lo, tau_hi).
    """
    rng = np.random.default_rng(seed)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    tasks = sorted(items["task"].unique())
    models = sorted(items["model"].unique())
    draws, point = {}, {}
    for task in tasks:
        mat = item_matrix(items, task).reindex(models)
        vals, mask = np.nan_to_num(mat.to_numpy(float)), mat.notna().to_numpy(float)
        c = _counts(rng, vals.shape[1], n_boot)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws[task] = (vals @ c.T) / (mask @ c.T)
        point[task] = mat.mean(axis=1).to_numpy(float)
    if len(tasks) > 1:
        draws["overall"] = _mean_defined(np.stack([draws[t] for t in tasks]))
        point["overall"] = _mean_defined(np.stack([point[t] for t in tasks]))
    rank_rows = []
    for task, d in draws.items():
        ranks = _ranks_desc(np.nan_to_num(d, nan=-np.inf))
        p_rank = _ranks_desc(np.nan_to_num(point[task], nan=-np.inf))
        for i, model in enumerate(models):
            rank_rows.append({"task": task, "model": model, "score": point[task][i],
                              "rank": int(p_rank[i]),
                              "rank_lo": float(np.quantile(ranks[i], lo_q)),
                              "rank_hi": float(np.quantile(ranks[i], hi_q))})
    tau_rows = []
    for a, b in itertools.combinations(tasks, 2):
        ok = ~np.isnan(point[a]) & ~np.isnan(point[b])
        why = why_undefined(point[a][ok], point[b][ok], names=(a, b))
        row = {"a": a, "b": b, "n": int(ok.sum()), "kendall_tau": np.nan, "tau_lo": np.nan,
               "tau_hi": np.nan, "undefined": why}
        if why is None:
            taus = np.array([kendall_tau_b(draws[a][ok, k], draws[b][ok, k])
                             for k in range(n_boot)])
            row["kendall_tau"] = kendall_tau_b(point[a][ok], point[b][ok])
            row["tau_lo"], row["tau_hi"] = _quantiles(taus, lo_q, hi_q)
        tau_rows.append(row)
    return {"ranks": pd.DataFrame(rank_rows), "taus": pd.DataFrame(tau_rows)}


def bootstrap_tau(x: np.ndarray, y: np.ndarray, *, n_boot: int = 1000,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Kendall tau-b of (x, y) under ``n_boot`` resamplings of the paired observations.

    Copies of the same observation form tied pairs in both x and y, exactly as when the
    resampled vectors are passed to scipy; all draws are evaluated as quadratic forms at once.
    """
    rng = rng or np.random.default_rng(0)
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    sx, sy = np.sign(x[:, None] - x[None, :]), np.sign(y[:, None] - y[None, :])
    conc, tx, ty = sx * sy, (sx == 0).astype(float), (sy == 0).astype(float)
    np.fill_diagonal(tx, 0.0)
    np.fill_diagonal(ty, 0.0)
    w = _counts(rng, n, n_boot)
    quad = lambda m: np.einsum("bi,bi->b", w @ m, w) / 2  # noqa: E731 - local shorthand
    self_ties = (w * (w - 1) / 2).sum(axis=1)
    n0 = n * (n - 1) / 2
    n1, n2 = quad(tx) + self_ties, quad(ty) + self_ties
    with np.errstate(invalid="ignore", divide="ignore"):
        return quad(conc) / np.sqrt((n0 - n1) * (n0 - n2))


def reference_tau_intervals(wide: pd.DataFrame, reference: str, *, n_boot: int = 1000,
                            seed: int = 0, min_models: int = 5,
                            level: float = 0.95) -> pd.DataFrame:
    """Per benchmark: bootstrap interval (over shared models) of its tau with the reference."""
    rng = np.random.default_rng(seed)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    for col in wide.columns:
        if col == reference:
            continue
        sub = wide[[col, reference]].dropna()
        x, y = sub[col].to_numpy(float), sub[reference].to_numpy(float)
        if why_undefined(x, y, min_models=min_models) is not None:
            continue
        taus = bootstrap_tau(x, y, n_boot=n_boot, rng=rng)
        lo, hi = _quantiles(taus, lo_q, hi_q)
        defined = taus[~np.isnan(taus)]
        rows.append({"benchmark": col, "n": len(sub), "tau_lo": lo, "tau_hi": hi,
                     "tau_boot_mean": float(defined.mean()) if len(defined) else np.nan})
    return pd.DataFrame(rows, columns=["benchmark", "n", "tau_lo", "tau_hi", "tau_boot_mean"])
