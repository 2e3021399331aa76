"""Agreement with an aggregate reference, BenchBench style ("Benchmark Agreement Testing Done Right").

The aggregate is the mean win rate over chosen scenarios; each benchmark's agreement with it is a
Kendall tau over shared models, turned into a z-score against a reference set's agreements (IBM's
"scenarios of interest") so that a new benchmark is judged relative to how well established ones
agree, not against an absolute bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leaderboards.validity.concordance import kendall_tau_b, why_undefined

AGGREGATE = "aggregate"


def win_rates(column: pd.Series) -> pd.Series:
    """Share of the other models beaten outright (ties count 0), divided by n - 1."""
    v = column.dropna()
    if len(v) < 2:
        return pd.Series(np.nan, index=v.index)
    arr = v.to_numpy(float)
    wins = (arr[:, None] > arr[None, :]).sum(axis=1)
    return pd.Series(wins / (len(arr) - 1), index=v.index)


def mean_win_rate(wide: pd.DataFrame, scenarios: list[str],
                  min_share: float | None = None) -> pd.Series:
    """Aggregate score: mean win rate over ``scenarios`` (those missing from ``wide`` are ignored).

    A model enters only when it appears in at least ``len(scenarios) // 3`` of the requested
    scenarios (at least 1, at most the number present), BenchBench's rule; win rates are computed
    among the entering models.
    """
    present = [s for s in scenarios if s in wide.columns]
    if not present:
        raise ValueError("none of the aggregate scenarios is in the table")
    need = max(1, len(scenarios) // 3) if min_share is None else max(1, int(min_share * len(scenarios)))
    need = min(need, len(present))
    sub = wide[present]
    sub = sub[sub.notna().sum(axis=1) >= need]
    rates = pd.DataFrame({s: win_rates(sub[s]) for s in present})
    return rates.mean(axis=1).rename(AGGREGATE)


def with_aggregate(wide: pd.DataFrame, scenarios: list[str]) -> pd.DataFrame:
    """The table with an ``aggregate`` column added."""
    return wide.join(mean_win_rate(wide, scenarios), how="left")


def agreement_with_reference(wide: pd.DataFrame, reference: str = AGGREGATE, *,
                             min_models: int = 5,
                             reference_set: list[str] | None = None) -> pd.DataFrame:
    """Per benchmark: shared models with the reference, Kendall tau-b, Pearson r and z-score.

    The z-score standardises a benchmark's tau against the taus of a reference set of
    benchmarks, as IBM BenchBench does with its "scenarios of interest": benchmark b is judged
    against ``reference_set`` plus b itself (IBM adds the benchmark under test to the set),
    mean and std (ddof=1) over those with at least ``min_models`` shared models and a defined
    tau. ``reference_set=None`` uses every benchmark of the table. ``in_reference`` marks
    the set's members; a benchmark whose tau is undefined gets no z-score.
    """
    ref = wide[reference]
    rows = []
    for col in wide.columns:
        if col == reference:
            continue
        sub = pd.concat([wide[col], ref], axis=1).dropna()
        x, y = sub.iloc[:, 0].to_numpy(float), sub.iloc[:, 1].to_numpy(float)
        why = why_undefined(x, y, min_models=min_models, names=(col, reference))
        tau = r = np.nan
        if why is None:
            tau = kendall_tau_b(x, y)
            r = float(np.corrcoef(x, y)[0, 1])
        rows.append({"benchmark": col, "n": len(sub), "kendall_tau": tau, "pearson_r": r,
                     "undefined": why})
    out = pd.DataFrame(rows)
    members = set(out["benchmark"]) if reference_set is None else set(reference_set)
    out["in_reference"] = out["benchmark"].isin(members)
    taus = out.set_index("benchmark")["kendall_tau"]
    base = taus[out["in_reference"].to_numpy()].dropna()
    out["z_score"] = [_zscore(t, base if b in base.index else pd.concat([base, taus[[b]]]))
                      if not np.isnan(t) else np.nan
                      for b, t in taus.items()]
    return out.sort_values("z_score").reset_index(drop=True)


def _zscore(value: float, population: pd.Series) -> float:
    """(value - mean) / std (ddof=1) of the population; undefined below two members or no spread."""
    if len(population) < 2 or population.std(ddof=1) == 0:
        return np.nan
    return float((value - population.mean()) / population.std(ddof=1))


def _subset(n: int, k: int, strategy: str, rng: np.random.Generator) -> np.ndarray:
    """Positions of k models among n sorted best first by the reference."""
    if strategy == "top":
        return np.arange(k)
    if strategy == "bottom":
        return np.arange(n - k, n)
    if strategy == "adjacent":
        start = int(rng.integers(0, n - k + 1))
        return np.arange(start, start + k)
    if strategy == "random":
        return rng.choice(n, size=k, replace=False)
    raise ValueError(f"unknown model-subset strategy {strategy!r}")


def granularity(wide: pd.DataFrame, ks: list[int], *, reference: str = AGGREGATE,
                strategies: tuple[str, ...] = ("random", "top", "bottom", "adjacent"),
                n_draws: int = 50, seed: int = 0, min_models: int = 5) -> pd.DataFrame:
    """Agreement with the reference recomputed on subsets of k shared models.

    Top/bottom subsets (by the reference) are deterministic, one draw; random and adjacent (a
    random window of k consecutive models in reference order) use ``n_draws`` draws. Returns one
    row per benchmark, strategy, k and draw.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for col in wide.columns:
        if col == reference:
            continue
        sub = wide[[col, reference]].dropna().sort_values(reference, ascending=False)
        x, y = sub[col].to_numpy(float), sub[reference].to_numpy(float)
        if len(sub) < min_models:
            continue
        for k in ks:
            if k < 2 or k > len(sub):
                continue
            for strategy in strategies:
                for d in range(1 if strategy in ("top", "bottom") else n_draws):
                    pos = _subset(len(sub), k, strategy, rng)
                    rows.append((col, strategy, k, d, kendall_tau_b(x[pos], y[pos])))
    return pd.DataFrame(rows, columns=["benchmark", "strategy", "k", "draw", "kendall_tau"])


def granularity_summary(draws: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread (std, 5-95 % range) of agreement per strategy and k."""
    g = draws.groupby(["strategy", "k"])["kendall_tau"]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "q05": g.quantile(0.05),
                         "q95": g.quantile(0.95), "n": g.count()}).reset_index()
