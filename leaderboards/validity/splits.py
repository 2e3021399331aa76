"""Does a conclusion survive another split? Agreement of system rankings across split
strategies and seeds (the Validity paper's analysis), and Hase et al.'s Supervision Gap
Recovered for easy-to-hard exemplars.

Tasks written by ``genrank split`` carry ``split_of``, ``split_strategy``, ``split_seed``
(and ``exemplars`` for difficulty splits) in their tags, which the runs record.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from leaderboards.validity.concordance import kendall_tau_b


def split_tags(paths) -> pd.DataFrame:
    """task -> split_of, split_strategy, split_seed, exemplars (tasks without them left out)."""
    from leaderboards.runs import find_runs

    rows = {}
    for run in find_runs(paths):
        for task, t in run.read_metadata().get("tasks", {}).items():
            tags = t.get("tags") or {}
            if "split_strategy" in tags:
                rows[task] = {"task": task, "split_of": tags.get("split_of"),
                              "strategy": tags["split_strategy"],
                              "split_seed": int(tags.get("split_seed", 0)),
                              "exemplars": tags.get("exemplars")}
    return pd.DataFrame(rows.values(), columns=["task", "split_of", "strategy", "split_seed",
                                                "exemplars"])


def chance_range(n_models: int, n_seeds: int, *, n_sim: int = 2000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Central interval of the seed-pooled tau between unrelated rankings of n models."""
    rng = np.random.default_rng(seed)
    base = np.arange(n_models, dtype=float)
    sims = [np.mean([kendall_tau_b(base, rng.permutation(n_models)) for _ in range(n_seeds)])
            for _ in range(n_sim)]
    lo, hi = np.quantile(sims, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def verdict(tau: float, lo: float, hi: float) -> str:
    if np.isnan(tau):
        return "undetermined at this sample size"
    if tau > hi:
        return "ranking survives"
    if tau < lo:
        return "reversed"
    return "undetermined at this sample size"


def strategy_agreement(scores: pd.DataFrame, tags: pd.DataFrame, *, n_sim: int = 2000,
                       seed: int = 0) -> pd.DataFrame:
    """Per pair of strategies (same pool): Kendall tau of the systems' ranking, averaged
    over the seeds both have, with the chance interval for that many systems and seeds."""
    df = scores.drop(columns=["seed"], errors="ignore").merge(
        tags[tags["exemplars"].isna()], on="task")
    rows = []
    for pool, g in df.groupby("split_of"):
        table = g.pivot_table(index="model", columns=["strategy", "split_seed"], values="value").rename_axis(columns=["strategy", "seed"])
        strategies = sorted({s for s, _ in table.columns})
        for a, b in itertools.combinations(strategies, 2):
            seeds = sorted({s for st, s in table.columns if st == a}
                           & {s for st, s in table.columns if st == b})
            taus = []
            for s in seeds:
                pair = table[[(a, s), (b, s)]].dropna()
                if len(pair) >= 2:
                    taus.append(kendall_tau_b(pair.iloc[:, 0].to_numpy(),
                                              pair.iloc[:, 1].to_numpy()))
            n = int(table[[(a, s) for s in seeds]].notna().all(axis=1).sum()) if seeds else 0
            tau = float(np.nanmean(taus)) if taus and not np.all(np.isnan(taus)) else np.nan
            lo, hi = chance_range(n, max(len(taus), 1), n_sim=n_sim, seed=seed) if n >= 2 \
                else (np.nan, np.nan)
            rows.append({"pool": pool, "a": a, "b": b, "n_systems": n, "n_seeds": len(taus),
                         "kendall_tau": tau, "chance_lo": lo, "chance_hi": hi,
                         "verdict": verdict(tau, lo, hi) if n >= 2
                         else "undetermined at this sample size"})
    return pd.DataFrame(rows)


def supervision_gap_recovered(items: pd.DataFrame, tags: pd.DataFrame, *, n_boot: int = 1000,
                              seed: int = 0) -> pd.DataFrame:
    """(easy-exemplar acc - zero-shot) / (hard-exemplar acc - zero-shot) on the hard test
    items, per system and split seed, with a bootstrap interval over test items (the items
    are resampled jointly across the three conditions)."""
    ex = tags[tags["exemplars"].isin(["zero", "easy", "hard"])]
    df = items.drop(columns=["seed"], errors="ignore").merge(ex, on="task")
    rng = np.random.default_rng(seed)
    rows = []
    for (pool, model, s), g in df.groupby(["split_of", "model", "split_seed"]):
        wide = g.pivot_table(index="item_id", columns="exemplars", values="score")
        if not {"zero", "easy", "hard"} <= set(wide.columns):
            continue
        wide = wide[["zero", "easy", "hard"]].dropna().to_numpy(float)

        def sgr(m: np.ndarray) -> float:
            zero, easy, hard = m.mean(axis=0)
            return (easy - zero) / (hard - zero) if hard != zero else np.nan

        point = sgr(wide)
        boots = [sgr(wide[rng.integers(0, len(wide), len(wide))]) for _ in range(n_boot)]
        boots = np.asarray(boots)[~np.isnan(boots)]
        lo, hi = (np.quantile(boots, [0.025, 0.975]) if len(boots) else (np.nan, np.nan))
        zero, easy, hard = wide.mean(axis=0)
        rows.append({"pool": pool, "model": model, "seed": s, "n_items": len(wide),
                     "zero_shot": zero, "easy": easy, "hard": hard, "sgr": point,
                     "sgr_lo": float(lo), "sgr_hi": float(hi),
                     "defined_boot_share": len(boots) / n_boot})
    return pd.DataFrame(rows)


def splits_report(paths, scores: pd.DataFrame, out: Path, *, n_boot: int = 1000,
                  n_sim: int = 2000, seed: int = 0) -> list[str]:
    """Markdown lines (and CSVs in ``out``) for the runs' split tasks."""
    from leaderboards.runs import load_items

    tags = split_tags(paths)
    if tags.empty:
        return ["## Splits", "", "No task of these runs was made by `genrank split`.", ""]
    lines = ["## Does the ranking survive another split?", ""]
    agree = strategy_agreement(scores, tags, n_sim=n_sim, seed=seed)
    agree.to_csv(out / "split_agreement.csv", index=False)
    for r in agree.itertuples():
        lines.append(f"- {r.pool}: {r.a} vs {r.b}: tau {r.kendall_tau:.2f} over {r.n_systems} "
                     f"systems x {r.n_seeds} seeds (chance {r.chance_lo:.2f}..{r.chance_hi:.2f})"
                     f": {r.verdict}")
    survives = agree[agree["verdict"] == "ranking survives"]
    lines += ["", "Strategies that agree: " + (", ".join(
        f"{r.a}~{r.b}" for r in survives.itertuples()) or "none at this sample size"), ""]
    difficulty = tags[tags["exemplars"].notna()]
    if not difficulty.empty:
        items = load_items(paths, tasks=difficulty["task"].tolist())
        sgr = supervision_gap_recovered(items, tags, n_boot=n_boot, seed=seed)
        sgr.to_csv(out / "supervision_gap_recovered.csv", index=False)
        lines += ["## Supervision Gap Recovered (easy exemplars vs hard, on hard items)", ""]
        for r in sgr.itertuples():
            lines.append(f"- {r.pool} {r.model} (seed {r.seed}, {r.n_items} items): zero-shot "
                         f"{r.zero_shot:.3f}, easy {r.easy:.3f}, hard {r.hard:.3f}; SGR "
                         f"{r.sgr:.2f} [{r.sgr_lo:.2f}, {r.sgr_hi:.2f}]")
        lines.append("")
    return lines
