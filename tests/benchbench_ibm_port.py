"""A step-by-step port of IBM BenchBench's z-score path (IBM/benchbench @ 1dfd46a), for tests.

It follows ``examples/newbench_example.py`` with ``n_models_taken = 0`` (all shared models):
``Benchmark.load_local_catalog`` (``assign_df`` per file) -> ``add_aggregate`` (mean win rate
over ``scenarios_for_aggregate.txt``, models in at least len // 3 of them) -> ``extend`` with the
uploaded benchmark -> ``clear_repeated_scenarios`` -> keep ``scenarios_of_intereset`` +
aggregate + the uploaded scenario -> ``Tester.all_vs_all_agreement_testing`` (pairs with the
aggregate only: its ``single_source_scenario`` option) -> ``Reporter.get_all_z_scores``.

Written independently of ``leaderboards.validity``; upstream's quirks are kept on purpose
(``source_to_keep in Series`` tests the index; the kept scenario__source is matched as a
substring; the aggregate is built before repeated scenarios are cleared). One deviation:
``lvbench_241189_longcontext.csv`` names its first column ``llm_model``, on which upstream's
own loader raises, so the port renames the first column to ``model`` as a user would.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau


class IbmCatalog:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.pretty = json.loads((self.root / "prettified_bencmark_names.json").read_text())
        self.lower = [ln.replace("\n", "") + ".csv" for ln in
                      (self.root / "lower_is_better_benchmarks.txt").open().readlines()]
        self.df = None

    # --- Benchmark.standardize_* ---------------------------------------------------------
    def scenario_name(self, name: str) -> str:
        name = (name.strip().lower().replace("   ", "-").replace("  ", "-").replace(" ", "-")
                .replace("(", "").replace(")", "").replace("gsm-8k", "gsm8k")
                .replace("open-book", "open").replace("closed-book", "closed")
                .replace("agi-eval", "agieval").replace("alpacaeval2-wr", "alpacav2")
                .replace("alpacav2,-len-adj", "alpacaeval2-lc").replace("hswag", "hellaswag")
                .replace("obqa", "openbookqa").replace("winogrande", "winog")
                .replace("winog", "winogrande").replace("-", "_"))
        return self.pretty.get(name, name)

    @staticmethod
    def model_name(name: str) -> str:
        return (name.strip().lower().replace("   ", "-").replace("  ", "-").replace(" ", "-")
                .replace("(", "").replace(")", "").replace("β", "beta")
                .replace("command-r+", "command-r-plus").replace("dbrx-inst", "dbrx-instruct")
                .replace("-hf", "").replace("-", "_").replace("llama_3", "llama3")
                .replace("ul2", "flan-ul2").split("/")[-1].replace("meta_", "")
                .replace(".", "_").replace("v01", "v0_1").replace("v02", "v0_2")
                .replace("v03", "v0_3").replace("wml/", ""))

    # --- Benchmark.assign_df ---------------------------------------------------------------
    def assign_df(self, df: pd.DataFrame, source: str) -> pd.DataFrame:
        df = df.rename(columns={df.columns[0]: "model"})
        df = pd.melt(df, id_vars=["model"], var_name="scenario", value_name="score")
        df = df.replace("-", np.nan)
        df["score"] = df["score"].astype(float)
        df["model"] = df["model"].apply(self.model_name)
        df["scenario"] = df["scenario"].apply(self.scenario_name)
        df["source"] = source
        if df.duplicated(subset=["model", "scenario", "source"], keep=False).any():
            df = df.groupby(["model", "scenario", "source"], as_index=False)["score"].max()
        df = df.dropna()
        if source in self.lower:  # normalize_scores_per_scenario(lower_is_better=True)
            def normalize(group):
                lo, hi = group["score"].min(), group["score"].max()
                group = group.copy()
                group["score"] = 1 if hi == lo else (group["score"] - lo) / (hi - lo)
                return group
            df = pd.concat([normalize(g) for _, g in df.groupby("scenario")])
            df["score"] = 1 - df["score"]
        return df[["model", "scenario", "score", "source"]]

    def load_local_catalog(self) -> None:
        folder = self.root / "catalog"
        frames = [self.assign_df(pd.read_csv(folder / f), f) for f in sorted(os.listdir(folder))]
        self.df = pd.concat(frames)

    def extend(self, df: pd.DataFrame, source: str) -> None:
        self.df = pd.concat([self.df, self.assign_df(df, source)])

    # --- Benchmark.add_aggregate (mwr, whitelist) -------------------------------------------
    def add_aggregate(self, whitelist: list[str], min_scen: int) -> None:
        def calculate_win_rate(series):
            return series.transform(
                lambda x: sum(1 for value in series if x > value) / (len(series) - 1))

        df_for_agg = self.df.query("scenario in @whitelist")
        min_scen = min(min_scen, len(df_for_agg["scenario"].unique()))
        counts = df_for_agg.groupby(["model"])["scenario"].count().to_frame()
        models = counts.query("scenario>=@min_scen").index.to_list()
        df_for_agg = df_for_agg.query("model in @models").copy()
        df_for_agg["wr"] = df_for_agg.groupby(["scenario"])["score"].transform(calculate_win_rate)
        mean_df = df_for_agg.groupby(["model"]).agg({"score": "mean", "wr": "mean"}).reset_index()
        mean_df["score"] = mean_df["wr"]
        mean_df["scenario"] = "aggregate"
        mean_df["source"] = "aggregate"
        self.df = pd.concat([self.df, mean_df.drop(columns=["wr"])])

    # --- Benchmark.clear_repeated_scenarios --------------------------------------------------
    def clear_repeated_scenarios(self, source_to_keep: str | None = None) -> None:
        df = self.df.copy()
        df["scenario__source"] = df["scenario"] + "__" + df["source"]
        cross = pd.crosstab(df["scenario__source"], df["model"])
        totals = cross.dot(cross.T).sum(axis=1)
        df["scenario__source_counts"] = df["scenario__source"].map(totals)
        to_drop = []
        for _, sdf in df.drop_duplicates(["scenario", "source"]).groupby("scenario"):
            if len(sdf) > 1:
                if source_to_keep and source_to_keep in sdf["source"]:  # index test, as upstream
                    keep = sdf.query("source!=@source_to_keep")["scenario__source"]
                else:
                    keep = sdf.iloc[sdf["scenario__source_counts"].argmax()]["scenario__source"]
                to_drop += [s for s in sdf["scenario__source"].unique().tolist() if s not in keep]
        df = df.query("scenario__source not in @to_drop")
        self.df = df.drop(columns=["scenario__source", "scenario__source_counts"])


def agreements_with(df: pd.DataFrame, single: str = "aggregate", min_models: int = 5
                    ) -> pd.DataFrame:
    """Tester.all_vs_all_agreement_testing, kendall, random strategy, all shared models, 1 exp."""
    used = df["scenario"].unique().tolist()
    pairs = [(a, b) for i, a in enumerate(used) for b in used[i + 1:] if single in (a, b)]
    rows = []
    for s1, s2 in pairs:
        cur = df.query("scenario == @s1 or scenario == @s2")
        counts = cur["model"].value_counts()
        inter = counts[counts == 2].index.tolist()
        if len(inter) < min_models:
            continue
        random.seed(0)
        taken = random.sample(inter, k=len(inter))
        piv = cur[cur["model"].isin(taken)][["model", "scenario", "score"]].pivot(
            index="model", columns="scenario", values="score")
        corr = piv.corr(method=lambda x, y: kendalltau(x, y)[0]).iloc[0, 1]
        pval = (piv.corr(method=lambda x, y: kendalltau(x, y)[1])
                - np.eye(len(piv.columns))).iloc[0, 1]
        rows.append({"scenario": s1, "ref_scenario": s2, "correlation": corr, "p_value": pval,
                     "model_subset_size_requested": 0})
    out = pd.DataFrame(rows)
    rev = out.rename(columns={"scenario": "ref_scenario", "ref_scenario": "scenario"})
    return pd.concat([out, rev]).reset_index(drop=True)


def get_z_score(agreements: pd.DataFrame, observed: str) -> tuple[float, float]:
    """Reporter.get_z_score: (z, observed correlation)."""
    ref = (agreements.dropna().query("ref_scenario=='aggregate'").groupby(["scenario"])
           .agg(correlation_mean=("correlation", "mean")))
    obs = float(agreements.query("scenario==@observed and ref_scenario=='aggregate'")
                ["correlation"].mean())
    return float((obs - ref["correlation_mean"].mean()) / ref["correlation_mean"].std()), obs


def read_scenarios(path: Path) -> list[str]:
    """examples/newbench_example.py's load_scenarios."""
    return [ln.strip() for ln in path.open() if ln.strip() and not ln.strip().startswith("#")]


def ibm_zscores(root: str | Path, interest: list[str] | None = None,
                uploaded: tuple[pd.DataFrame, str] | None = None) -> pd.DataFrame:
    """Every z-score IBM's example computes: for each scenario of the catalog, the z-score it
    gets when it is the benchmark under test (upstream filters to scenarios of interest + the
    aggregate + the tested one, so only that scenario joins the reference set)."""
    root = Path(root)
    cat = IbmCatalog(root)
    cat.load_local_catalog()
    agg = read_scenarios(root / "scenarios_for_aggregate.txt")
    cat.add_aggregate(agg, max(1, len(agg) // 3))
    if uploaded is not None:
        cat.extend(*uploaded)
    cat.clear_repeated_scenarios(source_to_keep=uploaded[1] if uploaded else None)
    interest = read_scenarios(root / "scenarios_of_intereset.txt") if interest is None else interest
    agreements = agreements_with(cat.df)
    rows = []
    for scen in agreements["scenario"].unique():
        if scen == "aggregate":
            continue
        keep = [*interest, "aggregate", scen]
        sub = agreements[agreements["scenario"].isin(keep) & agreements["ref_scenario"].isin(keep)]
        if not len(sub.dropna().query("scenario==@scen and ref_scenario=='aggregate'")):
            continue
        z, corr = get_z_score(sub, scen)
        rows.append({"scenario": scen, "z_score": z, "corr_with_agg": corr})
    return pd.DataFrame(rows).set_index("scenario")
