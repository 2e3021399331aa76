"""Validity analysis on IBM BenchBench's 41 public leaderboard snapshots."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leaderboards.validity import aggregate, concordance, stability, tables

BB = "leaderboards/benchbench"


@pytest.fixture(scope="module")
def catalog():
    from tests.conftest import data_path
    root = data_path(BB)
    long, agg = tables.benchbench_catalog(root)
    return root, long, agg, tables.to_wide(long)


def test_catalog_loads_every_snapshot_and_llm_model_column(catalog):
    root, long, _, wide = catalog
    files = sorted((root / "catalog").glob("*.csv"))
    assert len(files) >= 40 and long["source"].nunique() == len(files)
    n_cols = sum(pd.read_csv(f, nrows=0).shape[1] - 1 for f in files)
    assert wide.shape[1] == n_cols  # every scenario column kept, none merged by mistake
    lv = pd.read_csv(root / "catalog" / "lvbench_241189_longcontext.csv")
    assert lv.columns[0] == "llm_model"
    assert set(long[long["source"] == "lvbench_241189_longcontext.csv"]["model"]) == {
        tables.normalize_model_name(m) for m in lv["llm_model"]}


def test_model_name_normalisation_matches_across_boards():
    n = tables.normalize_model_name
    assert n("meta-llama/Meta-Llama-3-8B-Instruct") == n("Meta-Llama-3-8B-Instruct")
    assert n("Llama 2 (70B)") == n("llama-2-70b")


def test_pairwise_equals_scipy_on_shared_models(catalog):
    root, long, _, wide = catalog
    pairs = concordance.pairwise(wide, pvalues=True)
    usable = pairs[pairs["n"] >= 5]
    assert len(usable) > 1000
    # recompute every pair independently from the long frame with scipy
    by_scen = {s: g.set_index("model")["score"] for s, g in long.groupby("scenario")}
    for row in usable.itertuples():
        a, b = by_scen[row.a], by_scen[row.b]
        common = a.index.intersection(b.index)
        assert len(common) == row.n
        x, y = a[common].to_numpy(), b[common].to_numpy()
        ref = stats.kendalltau(x, y)
        assert row.kendall_tau == pytest.approx(ref.statistic, abs=1e-12, nan_ok=True)
        assert row.kendall_p == pytest.approx(ref.pvalue, rel=1e-9, nan_ok=True)
        if np.std(x) > 0 and np.std(y) > 0:
            assert row.pearson_r == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)


@pytest.fixture(scope="module")
def ibm_z(catalog):
    from tests.benchbench_ibm_port import ibm_zscores
    return ibm_zscores(catalog[0])


def _cli_zscores(tmp_path, *args):
    from genrank.cli import main
    assert main(["validity", *args, "-o", str(tmp_path), "--n-boot", "20",
                 "--k", "5", "--skip", "stability"]) == 0
    z = pd.read_csv(tmp_path / "agreement_with_aggregate.csv")
    return z.dropna(subset=["z_score"]).set_index("benchmark"), (tmp_path / "summary.md").read_text()


def test_zscores_equal_ibm_code_path_over_scenarios_of_interest(catalog, ibm_z, tmp_path):
    """Every z-score IBM's newbench example computes (each catalog scenario as the benchmark
    under test, standardised over scenarios_of_intereset.txt + itself) equals genrank's."""
    root, _, _, wide = catalog
    ours, summary = _cli_zscores(tmp_path, str(root))
    assert len(ibm_z) >= 60
    assert sorted(ours.index) == sorted(ibm_z.index)
    np.testing.assert_allclose(ours.loc[ibm_z.index, "kendall_tau"], ibm_z["corr_with_agg"],
                               atol=1e-12)
    np.testing.assert_allclose(ours.loc[ibm_z.index, "z_score"], ibm_z["z_score"], atol=1e-9)
    listed = tables.read_list(root / tables.REFERENCE_FILE)
    missing = [b for b in listed if b not in wide.columns]
    assert missing and all(b in summary for b in missing)  # skipped names are reported
    assert set(ours.index[ours["in_reference"]]) == set(listed) & set(ours.index)


def test_uploaded_benchmark_zscore_equals_ibm_example(catalog, tmp_path):
    """IBM's example: the catalog plus example_my_bench.csv, z-score of the uploaded one."""
    from tests.benchbench_ibm_port import ibm_zscores
    root = catalog[0]
    mine = root / "example_my_bench.csv"
    ref = ibm_zscores(root, uploaded=(pd.read_csv(mine), "uploaded_benchmark"))
    ours, _ = _cli_zscores(tmp_path, str(root), str(mine))
    assert ours.loc["my_bench", "z_score"] == pytest.approx(ref.loc["my_bench", "z_score"],
                                                            abs=1e-9)
    np.testing.assert_allclose(ours.loc[ref.index, "z_score"], ref["z_score"], atol=1e-9)


def test_reference_all_and_explicit_lists(catalog, tmp_path, capsys):
    """--reference all standardises over every benchmark (IBM's path with every scenario of
    interest); an explicit list is used as given, its unknown names skipped and reported."""
    from tests.benchbench_ibm_port import ibm_zscores
    root, _, _, wide = catalog
    everything = ibm_zscores(root, interest=list(wide.columns))
    ours, summary = _cli_zscores(tmp_path / "all", str(root), "--reference", "all")
    np.testing.assert_allclose(ours.loc[everything.index, "z_score"], everything["z_score"],
                               atol=1e-9)
    assert "all" in summary
    chosen = ["Helm Lite", "LMSys Arena", "MMLU Pro", "no such bench"]
    few = ibm_zscores(root, interest=chosen)
    ours, summary = _cli_zscores(tmp_path / "few", str(root), "--reference", ",".join(chosen))
    np.testing.assert_allclose(ours.loc[few.index, "z_score"], few["z_score"], atol=1e-9)
    assert "not in the table: no such bench" in summary
    from genrank.cli import main
    for bad, why in (("lists/missing.txt", "list file not found"),
                     ("nothing,here", "none of the reference benchmarks")):
        assert main(["validity", str(root), "-o", str(tmp_path / "bad"), "--reference", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and why in err[0] and "field=--reference" in err[0]


def test_win_rate_ties_count_zero():
    s = pd.Series([3.0, 3.0, 1.0, 2.0], index=list("abcd"))
    wr = aggregate.win_rates(s)
    expected = [sum(v > w for w in s) / 3 for v in s]
    assert wr.tolist() == expected


def _raw_scores(path, column):
    raw = pd.read_csv(path)
    vals = pd.Series(raw[column].to_numpy(float), index=raw.iloc[:, 0].map(tables.normalize_model_name))
    return vals.groupby(level=0).max()


def test_lower_is_better_uses_ibm_exact_file_name_rule(catalog, tmp_path):
    """IBM's lower_os_better_for_source: ``file_name in [line + ".csv" for line in list]``.

    The list names ``llm_trustworthy_241001`` and ``helm_airbench_240916``; the shipped files
    carry a ``_safety`` suffix, so IBM flips neither, and neither do we.
    """
    root, long, _, _ = catalog
    listed = tables.read_list(root / "lower_is_better_benchmarks.txt")
    files = sorted((root / "catalog").glob("*.csv"))
    for f in files:
        assert tables.is_lower_better(f.stem, listed) == (f.name in [n + ".csv" for n in listed])
    name = "llm_trustworthy_241001_safety.csv"
    got = long[long["source"] == name].set_index("model")["score"]
    raw = _raw_scores(root / "catalog" / name, "trustworthy")
    pd.testing.assert_series_equal(got.sort_index(), raw.sort_index(), check_names=False)
    # the same file under the listed name is min-max normalised and flipped
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "llm_trustworthy_241001.csv").write_bytes(
        (root / "catalog" / name).read_bytes())
    (tmp_path / "lower_is_better_benchmarks.txt").write_text("\n".join(listed))
    flipped, _ = tables.benchbench_catalog(tmp_path)
    expected = 1 - (raw - raw.min()) / (raw.max() - raw.min())
    pd.testing.assert_series_equal(flipped.set_index("model")["score"].sort_index(),
                                   expected.sort_index(), check_names=False)
    # a user can still flip a shipped file by naming its full stem
    extra, _ = tables.benchbench_catalog(root, ["llm_trustworthy_241001_safety"])
    got = extra[extra["source"] == name].set_index("model")["score"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)


def test_bootstrap_tau_equals_scipy_on_resamples(catalog):
    _, _, agg, wide = catalog
    wa = aggregate.with_aggregate(wide, agg)
    sub = wa[["Helm Lite", "aggregate"]].dropna()
    x, y = sub.iloc[:, 0].to_numpy(), sub.iloc[:, 1].to_numpy()
    taus = stability.bootstrap_tau(x, y, n_boot=20, rng=np.random.default_rng(7))
    counts = np.random.default_rng(7).multinomial(len(x), np.full(len(x), 1 / len(x)), size=20)
    ref = [stats.kendalltau(np.repeat(x, c), np.repeat(y, c)).statistic for c in counts]
    np.testing.assert_allclose(taus, ref, atol=1e-12)


def test_kendall_w_agrees_with_friedman(catalog):
    _, _, _, wide = catalog
    block = stability.complete_block(wide)
    full = wide[block].dropna()
    w = stability.kendall_w(full)
    # models are the treatments, benchmarks the blocks
    chi2 = stats.friedmanchisquare(*[row for row in full.to_numpy()]).statistic
    m, n = len(block), len(full)
    assert w["W"] == pytest.approx(chi2 / (m * (n - 1)), rel=1e-10)


def test_granularity_top_and_bottom_subsets(catalog):
    _, _, agg, wide = catalog
    wa = aggregate.with_aggregate(wide, agg)
    draws = aggregate.granularity(wa[["Helm Lite", "aggregate"]], [10], n_draws=5)
    sub = wa[["Helm Lite", "aggregate"]].dropna()
    top = sub.nlargest(10, "aggregate")
    got = draws.query("strategy == 'top'")["kendall_tau"].item()
    assert got == pytest.approx(stats.kendalltau(top["Helm Lite"], top["aggregate"]).statistic)
    bottom = sub.nsmallest(10, "aggregate")
    got = draws.query("strategy == 'bottom'")["kendall_tau"].item()
    assert got == pytest.approx(stats.kendalltau(bottom["Helm Lite"], bottom["aggregate"]).statistic)
    assert draws.groupby("strategy").size().to_dict() == {"adjacent": 5, "bottom": 1,
                                                          "random": 5, "top": 1}


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_cli_writes_report(catalog, tmp_path):
    from genrank.cli import main
    root = catalog[0]
    assert main(["validity", str(root), "-o", str(tmp_path), "--n-boot", "200", "--k", "5,10"]) == 0
    for name in ("pairwise_concordance.csv", "agreement_with_aggregate.csv", "granularity.csv",
                 "kendall_tau_matrix.png", "zscores.png", "summary.md", "summary.html"):
        assert (tmp_path / name).stat().st_size > 0
    z = pd.read_csv(tmp_path / "agreement_with_aggregate.csv")
    assert {"tau_lo", "tau_hi", "z_score"} <= set(z.columns)
