"""Pairwise concordance between benchmarks (or splits) over the models they share.

Kendall tau-b is computed with numpy on the shared models (identical to ``scipy.stats.kendalltau``,
checked in the tests) because the snapshots have thousands of pairs; p-values come from scipy.
"""

from __future__ import annotations

import itertools
import math

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


def why_undefined(x: np.ndarray, y: np.ndarray, *, min_models: int = 2,
                  names: tuple[str, str] = ("a", "b")) -> str | None:
    """Why a rank correlation of (x, y) is undefined, or None when it is defined.

    Kendall tau-b and Pearson r need at least two observations and some spread in both
    vectors; below ``min_models`` shared models a figure is not reported either.
    """
    n = len(x)
    if n < max(2, min_models):
        return f"{n} shared models, fewer than {max(2, min_models)}"
    for values, name in zip((x, y), names):
        if np.all(values == values[0]):
            return f"every model has the same score on {name}"
    return None


def shared(wide: pd.DataFrame, a: str, b: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Scores of two columns over the models that have both."""
    sub = wide[[a, b]].dropna()
    return sub[a].to_numpy(float), sub[b].to_numpy(float), sub.index.tolist()


def pairwise(wide: pd.DataFrame, *, min_models: int = 3, pvalues: bool = False,
             columns: list[str] | None = None) -> pd.DataFrame:
    """Every pair of columns: n shared models, Kendall tau-b, Pearson r (and p-values on request).

    A pair whose statistics are undefined gets NaN figures, no p-value, and the reason in
    ``undefined``.
    """
    cols = list(columns or wide.columns)
    values = wide[cols].to_numpy(float)
    present = ~np.isnan(values)
    rows = []
    for i, j in itertools.combinations(range(len(cols)), 2):
        mask = present[:, i] & present[:, j]
        x, y = values[mask, i], values[mask, j]
        why = why_undefined(x, y, min_models=min_models, names=(cols[i], cols[j]))
        row = {"a": cols[i], "b": cols[j], "n": int(mask.sum()), "kendall_tau": np.nan,
               "pearson_r": np.nan, "undefined": why}
        if pvalues:
            row.update(kendall_p=np.nan, pearson_p=np.nan)
        if why is None:
            row["kendall_tau"] = kendall_tau_b(x, y)
            row["pearson_r"] = float(np.corrcoef(x, y)[0, 1])
            if pvalues:
                row["kendall_p"] = float(stats.kendalltau(x, y).pvalue)
                row["pearson_p"] = float(stats.pearsonr(x, y).pvalue)
        rows.append(row)
    return pd.DataFrame(rows, columns=["a", "b", "n", "kendall_tau", "pearson_r", "undefined",
                                       *(["kendall_p", "pearson_p"] if pvalues else [])])


def summarize(pairs: pd.DataFrame, value: str = "kendall_tau") -> str:
    """"median X over N pairs (U undefined, skipped)": a summary that never averages undefined
    figures in and says how many it left out."""
    defined = pairs[value].dropna()
    skipped = len(pairs) - len(defined)
    med = f"{defined.median():.3f}" if len(defined) else "undefined"
    return (f"median {value.replace('_', ' ')} {med} over {len(defined)} pairs"
            + (f" ({skipped} undefined, skipped)" if skipped else ""))


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


def _model_blocks(scores: pd.DataFrame, name: str, split: str) -> dict[str, np.ndarray]:
    """Each model's defined values (one per seed) on one split; models without any are left out."""
    sub = scores[(scores[split] == name) & scores["value"].notna()]
    return {m: g["value"].to_numpy(float) for m, g in sub.groupby("model", sort=True)}


def _pooled(a: dict[str, np.ndarray], b: dict[str, np.ndarray],
            pairing: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Pooled vectors: for each (model on a, model on b), all seed x seed pairs."""
    xs = [np.repeat(a[ma], len(b[mb])) for ma, mb in pairing]
    ys = [np.tile(b[mb], len(a[ma])) for ma, mb in pairing]
    return np.concatenate(xs), np.concatenate(ys)


def _permutations(n: int, n_sim: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """All n! orderings when there are at most ``n_sim`` (exact), else ``n_sim`` random ones."""
    if math.factorial(n) <= n_sim:
        return np.array(list(itertools.permutations(range(n)))), True
    return np.array([rng.permutation(n) for _ in range(n_sim)]), False


def chance_tau(scores: pd.DataFrame, split_a: str, split_b: str, *, n_sim: int = 2000,
               seed: int = 0, split: str = "task") -> dict:
    """The pooled tau against what chance gives with these models' own seed spreads.

    Null: the two splits order the models independently. Each model keeps its block of seed
    scores on each split (its own spread and ties); only which model's block on ``split_b``
    meets which on ``split_a`` is permuted: all permutations when there are at most ``n_sim``
    (an exact test: with 3 models the smallest p-value is 1/6), else ``n_sim`` random ones.
    (Permuting seeds within a model alone changes nothing: pooling takes every seed pair.)
    Also returns a 95 % interval of the observed tau from resampling each model's seeds with
    replacement on both splits (NaN when every model has one seed). An undefined observed tau
    gets its reason and no p-value.
    """
    a, b = _model_blocks(scores, split_a, split), _model_blocks(scores, split_b, split)
    models = sorted(set(a) & set(b))
    x, y = _pooled(a, b, [(m, m) for m in models]) if models else (np.array([]), np.array([]))
    base = {"n_pairs": len(x), "n_models": len(models)}
    why = why_undefined(x, y, min_models=2, names=(split_a, split_b))
    if why is None and len(models) < 2:
        why = f"{len(models)} shared model, fewer than 2"
    if why is not None:
        return {"observed": np.nan, **base, "null_mean": np.nan, "null_lo": np.nan,
                "null_hi": np.nan, "p_value": np.nan, "exact": False, "tau_lo": np.nan,
                "tau_hi": np.nan, "undefined": why}
    observed = kendall_tau_b(x, y)
    rng = np.random.default_rng(seed)
    perms, exact = _permutations(len(models), n_sim, rng)
    null = np.array([kendall_tau_b(*_pooled(a, b, [(models[i], models[j])
                                                   for i, j in enumerate(p)])) for p in perms])
    null = null[~np.isnan(null)]
    hits = int(np.sum(null >= observed - 1e-12))
    p_value = hits / len(null) if exact else (1 + hits) / (1 + len(null))
    boot = []
    several = any(len(a[m]) > 1 or len(b[m]) > 1 for m in models)  # one seed each: no spread
    for _ in range(n_sim if several else 0):
        ra = {m: rng.choice(a[m], len(a[m])) for m in models}
        rb = {m: rng.choice(b[m], len(b[m])) for m in models}
        bx, by = _pooled(ra, rb, [(m, m) for m in models])
        if why_undefined(bx, by) is None:
            boot.append(kendall_tau_b(bx, by))
    lo, hi = (np.quantile(boot, [0.025, 0.975]) if boot else (np.nan, np.nan))
    return {"observed": observed, **base, "null_mean": float(null.mean()),
            "null_lo": float(np.quantile(null, 0.025)), "null_hi": float(np.quantile(null, 0.975)),
            "p_value": float(p_value), "exact": exact, "tau_lo": float(lo), "tau_hi": float(hi),
            "undefined": None}


def pooled_concordance(scores: pd.DataFrame, splits: list[str] | None = None, *,
                       n_sim: int = 2000, seed: int = 0, split: str = "task") -> pd.DataFrame:
    """Seed-pooled tau with chance calibration for every pair of splits."""
    splits = splits or sorted(scores[split].unique())
    rows = []
    for a, b in itertools.combinations(splits, 2):
        cal = chance_tau(scores, a, b, n_sim=n_sim, seed=seed, split=split)
        rows.append({"a": a, "b": b, "pooled_tau": cal.pop("observed"), **cal})
    return pd.DataFrame(rows)
