"""Undefined statistics are reported as undefined, with why, and never carry a p-value."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leaderboards.validity import aggregate, concordance, report

pytestmark = pytest.mark.filterwarnings("error")  # no numpy RuntimeWarning may leak


def _wide() -> pd.DataFrame:
    models = [f"m{i}" for i in range(8)]
    return pd.DataFrame({"good": np.arange(8.0), "also_good": [0, 2, 1, 3, 5, 4, 7, 6.0],
                         "noisy": [3, 0, 1, 7, 2, 6, 4, 5.0],
                        "flat": np.full(8, 0.5),  # every model has the same score
                         "sparse": [1.0, 2.0] + [np.nan] * 6},  # only two models
                        index=pd.Index(models, name="model"))


def test_constant_and_sparse_benchmarks_are_undefined_without_p_values():
    pairs = concordance.pairwise(_wide(), pvalues=True).set_index(["a", "b"])
    good = pairs.loc[("good", "also_good")]
    assert pd.isna(good["undefined"]) and good["kendall_p"] < 0.05
    flat = pairs.loc[("good", "flat")]
    assert flat["undefined"] == "every model has the same score on flat"
    assert np.isnan(flat[["kendall_tau", "pearson_r", "kendall_p", "pearson_p"]].astype(float)).all()
    sparse = pairs.loc[("good", "sparse")]
    assert sparse["undefined"] == "2 shared models, fewer than 3"
    assert np.isnan(float(sparse["kendall_p"]))
    w = _wide()
    taus = [stats.kendalltau(w[a], w[b]).statistic
            for a, b in (("good", "also_good"), ("good", "noisy"), ("also_good", "noisy"))]
    assert concordance.summarize(pairs) == (
        f"median kendall tau {np.median(taus):.3f} over 3 pairs (7 undefined, skipped)")


def test_agreement_with_aggregate_says_why_and_gives_no_zscore():
    wa = aggregate.with_aggregate(_wide(), ["good", "also_good"])
    z = aggregate.agreement_with_reference(wa).set_index("benchmark")
    assert z.loc["flat", "undefined"] == "every model has the same score on flat"
    assert "fewer than 5" in z.loc["sparse", "undefined"]
    assert z.loc[["flat", "sparse"], "z_score"].isna().all()
    assert z.loc[["good", "also_good", "noisy"], "z_score"].notna().all()


def test_pooled_concordance_on_a_flat_task_is_undefined_in_the_summary(tmp_path):
    rows = [{"model": m, "seed": s, "task": t, "metric": "accuracy",
             "value": v + 0.01 * s if t != "flat" else 0.3}
            for m, v in (("a", 0.2), ("b", 0.5), ("c", 0.9)) for s in (1, 2, 3)
            for t in ("one", "two", "flat")]
    lines = report.items_report(pd.DataFrame(rows), pd.DataFrame(), tmp_path, n_sim=50)
    text = "\n".join(lines)
    assert "flat vs one: undefined (every model has the same score on flat)" in text
    assert "2 of 3 task pairs undefined" in text
    pooled = pd.read_csv(tmp_path / "pooled_concordance.csv")
    flat = pooled[pooled["a"] == "flat"]
    assert flat["p_value"].isna().all() and flat["pooled_tau"].isna().all()
    assert "nan" not in text.lower()


def test_wide_table_report_skips_undefined_pairs_in_its_median(tmp_path):
    from genrank.cli import main
    table = tmp_path / "board.csv"
    _wide().reset_index().to_csv(table, index=False)
    assert main(["validity", str(table), "-o", str(tmp_path / "r"), "--n-boot", "20"]) == 0
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert "undefined, skipped" in summary and "nan" not in summary.lower()


def test_pooled_concordance_leaves_out_undefined_scores():
    """A model whose score on a split is undefined (NaN) is left out of that comparison."""
    rows = [{"model": m, "seed": 0, "task": t, "metric": "m",
             "value": np.nan if (m == "c" and t == "x") else v + (0.0 if t == "x" else k)}
            for k, (m, v) in enumerate([("a", .1), ("b", .5), ("c", .9), ("d", .3)])
            for t in ("x", "y")]
    row = concordance.pooled_concordance(pd.DataFrame(rows), n_sim=50).iloc[0]
    x = [0.1, 0.5, 0.3]
    y = [0.1, 1.5, 3.3]
    assert row["n_models"] == 3 and row["exact"]
    assert row["pooled_tau"] == pytest.approx(stats.kendalltau(x, y).statistic)
    assert row["p_value"] == pytest.approx(np.mean([
        stats.kendalltau(x, [y[i] for i in p]).statistic >= row["pooled_tau"] - 1e-12
        for p in itertools.permutations(range(3))]))
