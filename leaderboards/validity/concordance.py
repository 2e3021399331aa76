"""Pairwise concordance between benchmarks (or splits) over the models they share.

Kendall tau-b is computed with numpy on the shared models (identical to ``scipy.stats.kendalltau``,
checked in the tests) because the snapshots have thousands of pairs; p-values come from scipy.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats


def _pair_signs(v: np.ndarray) -> np.ndarray:
    """sign(v_i - v_j) for all i, j."""
    return np.sign(v[:, None] - v[None, :])


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau-b (tie-corrected), same value as scipy.stats.kendalltau."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < 2:
        return float("nan")
    sx, sy = _pair_signs(x), _pair_signs(y)
    s = (sx * sy).sum() / 2
    n0 = n * (n - 1) / 2
    tx = (sx == 0).sum() - n
    ty = (sy == 0).sum() - n
    denom = np.sqrt((n0 - tx / 2) * (n0 - ty / 2))
    return float(s / denom) if denom > 0 else float("nan")


def shared(wide: pd.DataFrame, a: str, b: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Scores of two columns over the models that have both."""
    sub = wide[[a, b]].dropna()
    return sub[a].to_numpy(float), sub[b].to_numpy(float), sub.index.tolist()


def pairwise(wide: pd.DataFrame, *, min_models: int = 3, pvalues: bool = False,
             columns: list[str] | None = None) -> pd.DataFrame:
    """Every pair of columns: n shared models, Kendall tau-b, Pearson r (and p-values on request)."""
    cols = list(columns or wide.columns)
    values = wide[cols].to_numpy(float)
    present = ~np.isnan(values)
    rows = []
    for i, j in itertools.combinations(range(len(cols)), 2):
        mask = present[:, i] & present[:, j]
        n = int(mask.sum())
        row = {"a": cols[i], "b": cols[j], "n": n, "kendall_tau": np.nan, "pearson_r": np.nan}
        if n >= min_models:
            x, y = values[mask, i], values[mask, j]
            row["kendall_tau"] = kendall_tau_b(x, y)
            if x.std() > 0 and y.std() > 0:
                row["pearson_r"] = float(np.corrcoef(x, y)[0, 1])
            if pvalues:
                row["kendall_p"] = float(stats.kendalltau(x, y).pvalue)
                row["pearson_p"] = (float(stats.pearsonr(x, y).pvalue)
                                    if x.std() > 0 and y.std() > 0 else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def matrix(pairs: pd.DataFrame, value: str = "kendall_tau") -> pd.DataFrame:
    """Symmetric matrix (diagonal 1) from a pairwise table."""
    names = sorted(set(pairs["a"]) | set(pairs["b"]))
    m = pairs.pivot(index="a", columns="b", values=value).reindex(index=names, columns=names)
    m = m.combine_first(m.T)
    for name in names:
        m.loc[name, name] = 1.0
    return m


def pooled_vectors(scores: pd.DataFrame, split_a: str, split_b: str,
                   split: str = "task") -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) vectors of the seed-pooled comparison: per model, all seed x seed pairs.

    ``scores`` has columns ``model, seed, <split>, value`` (genrank's long scores).
    """
    a = scores[scores[split] == split_a][["model", "seed", "value"]]
    b = scores[scores[split] == split_b][["model", "seed", "value"]]
    joined = a.merge(b, on="model", suffixes=("_a", "_b"))
    return joined["value_a"].to_numpy(float), joined["value_b"].to_numpy(float)


def seed_pooled_tau(scores: pd.DataFrame, split_a: str, split_b: str,
                    split: str = "task") -> tuple[float, int]:
    """The Validity paper's pooled tau between two splits: (tau-b, number of pooled pairs)."""
    xs, ys = pooled_vectors(scores, split_a, split_b, split)
    return kendall_tau_b(xs, ys), len(xs)


def chance_tau(scores: pd.DataFrame, split_a: str, split_b: str, *, n_sim: int = 2000,
               seed: int = 0, split: str = "task") -> dict[str, float]:
    """What pooled tau arises by chance at the observed score ranges.

    Each simulation draws every (model, seed) score independently and uniformly within the
    observed range of its split, keeps the pooling structure, and computes the pooled tau. Returns
    the observed tau, the null's mean and 2.5/97.5 % quantiles, and the one-sided p-value.
    """
    a = scores[scores[split] == split_a][["model", "value"]].reset_index(drop=True)
    b = scores[scores[split] == split_b][["model", "value"]].reset_index(drop=True)
    pairs = a[["model"]].reset_index().merge(b[["model"]].reset_index(), on="model")
    ia, ib = pairs["index_x"].to_numpy(), pairs["index_y"].to_numpy()
    observed = kendall_tau_b(a["value"].to_numpy(float)[ia], b["value"].to_numpy(float)[ib])
    rng = np.random.default_rng(seed)
    ra = rng.uniform(a["value"].min(), a["value"].max(), (n_sim, len(a)))
    rb = rng.uniform(b["value"].min(), b["value"].max(), (n_sim, len(b)))
    sims = np.array([kendall_tau_b(ra[k, ia], rb[k, ib]) for k in range(n_sim)])
    return {"observed": observed, "null_mean": float(np.nanmean(sims)),
            "null_lo": float(np.nanquantile(sims, 0.025)),
            "null_hi": float(np.nanquantile(sims, 0.975)),
            "p_value": float((1 + np.sum(sims >= observed)) / (1 + n_sim)),
            "n_pairs": len(ia)}


def pooled_concordance(scores: pd.DataFrame, splits: list[str] | None = None, *,
                       n_sim: int = 2000, seed: int = 0, split: str = "task") -> pd.DataFrame:
    """Seed-pooled tau with chance calibration for every pair of splits."""
    splits = splits or sorted(scores[split].unique())
    rows = []
    for a, b in itertools.combinations(splits, 2):
        cal = chance_tau(scores, a, b, n_sim=n_sim, seed=seed, split=split)
        rows.append({"a": a, "b": b, "pooled_tau": cal.pop("observed"), **cal})
    return pd.DataFrame(rows)
