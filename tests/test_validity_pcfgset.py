"""The Validity paper's seed-pooled concurrence on every published PCFG SET prediction file.

The 45 files (3 architectures x 3 runs x 5 splits) are replayed once per module and
``genrank validity`` runs once on them; the checks recompute everything from the raw files.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats

ARCHS = ("lstms2s", "convs2s", "transformer")
RUNS = (1, 2, 3)
SPLITS = {"pcfgset_test": "pcfgset/run={r}.txt",
          "pcfgset_systematicity": "systematicity/run={r}.txt.gz",
          "pcfgset_productivity": "productivity/run={r}.txt.gz",
          "pcfgset_substitutivity_ed": "substitutivity/equally_distributed/run={r}.txt.gz",
          "pcfgset_substitutivity_primitive": "substitutivity/primitive/run={r}.txt.gz"}

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("error::RuntimeWarning")]


def _files():
    from tests.conftest import data_path
    return {(task, arch, r): data_path(f"pcfgset/model_predictions/{arch}/{pat.format(r=r)}")
            for task, pat in SPLITS.items() for arch in ARCHS for r in RUNS}


def _squash(s: pd.Series) -> pd.Series:
    """The paper's rule: first output line, all whitespace removed."""
    return s.str.strip().str.split("\n").str[0].str.replace(r"\s+", "", regex=True)


@pytest.fixture(scope="module")
def pcfg(tmp_path_factory):
    from genrank.cli import main
    from harness.replay import score_predictions
    from harness.spec import load_specs

    files = _files()
    specs = load_specs()
    root = tmp_path_factory.mktemp("pcfg")
    for (task, arch, r), path in files.items():
        score_predictions(specs[task], path, root / "runs", model_name=arch, seed=r)
    assert main(["validity", str(root / "runs"), "-o", str(root / "report"), "--n-sim", "300",
                 "--skip", "stability,significance,irt"]) == 0
    raw = {k: pd.read_csv(p, sep="\t", quoting=csv.QUOTE_NONE, dtype=str,
                          keep_default_na=False) for k, p in files.items()}
    squashed = {k: pd.DataFrame({"source": d["source"], "target": _squash(d["target"]),
                                 "prediction": _squash(d["prediction"])})
                for k, d in raw.items()}
    return root / "report", squashed


def test_replayed_accuracies_match_the_files(pcfg):
    report, raw = pcfg
    got = pd.read_csv(report / "split_scores.csv").set_index(["task", "model"])
    for task in SPLITS:
        for arch in ARCHS:
            accs = [(raw[task, arch, r]["prediction"] == raw[task, arch, r]["target"]).mean()
                    for r in RUNS]
            row = got.loc[(task, arch)]
            assert row["mean"] == pytest.approx(sum(accs) / 3, abs=1e-12)
            assert (row["min"], row["max"]) == pytest.approx((min(accs), max(accs)), abs=1e-12)
    # Hupkes et al. (2020), Table 3: test / systematicity accuracies per architecture
    for arch, (test, syst) in {"lstms2s": (0.79, 0.53), "convs2s": (0.85, 0.56),
                               "transformer": (0.92, 0.72)}.items():
        assert got.loc[("pcfgset_test", arch), "mean"] == pytest.approx(test, abs=0.015)
        assert got.loc[("pcfgset_systematicity", arch), "mean"] == pytest.approx(syst, abs=0.015)


def test_seed_pooled_tau_equals_scipy_on_pooled_vectors(pcfg):
    report, raw = pcfg
    acc = {k: (d["prediction"] == d["target"]).mean() for k, d in raw.items()}
    pooled = pd.read_csv(report / "pooled_concordance.csv")
    assert len(pooled) == 10  # every pair of the 5 splits
    for row in pooled.itertuples():
        x, y = zip(*[(acc[row.a, arch, r1], acc[row.b, arch, r2])
                     for arch in ARCHS for r1, r2 in itertools.product(RUNS, RUNS)])
        assert row.n_pairs == 27  # 3 models x 3 x 3 seed pairs
        assert row.pooled_tau == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


def test_chance_null_permutes_model_seed_blocks_exactly(pcfg):
    """The null keeps each model's own seed scores and permutes which model meets which across
    the two splits: with 3 models, all 6 permutations, an exact p-value (at least 1/6)."""
    report, raw = pcfg
    acc = {k: (d["prediction"] == d["target"]).mean() for k, d in raw.items()}
    pooled = pd.read_csv(report / "pooled_concordance.csv")
    ranges = set()
    for row in pooled.itertuples():
        null = []
        for perm in itertools.permutations(ARCHS):
            x, y = zip(*[(acc[row.a, arch, r1], acc[row.b, other, r2])
                         for arch, other in zip(ARCHS, perm)
                         for r1, r2 in itertools.product(RUNS, RUNS)])
            null.append(stats.kendalltau(x, y).statistic)
        null = np.array(null)
        assert row.exact and row.n_models == 3
        assert row.null_mean == pytest.approx(null.mean(), abs=1e-12)
        assert (row.null_lo, row.null_hi) == pytest.approx(
            tuple(np.quantile(null, [0.025, 0.975])), abs=1e-12)
        assert row.p_value == pytest.approx(np.mean(null >= row.pooled_tau - 1e-12), abs=1e-12)
        assert row.p_value >= 1 / 6
        ranges.add((round(row.null_lo, 9), round(row.null_hi, 9)))
    assert len(ranges) > 1  # the chance range follows each pair's data, not one fixed range


def test_label_screening_matches_votes_in_the_files(pcfg):
    """Flagged = more than half of the 9 runs give one answer that is not the gold one."""
    report, raw = pcfg
    flagged = pd.read_csv(report / "label_issues.csv", dtype={"item_id": str})
    from tests.conftest import data_path
    from harness.spec import load_specs

    specs = load_specs()
    for task in SPLITS:
        # item_id is the line number in the task's source file; files list items in any order,
        # and a repeated source line is matched occurrence by occurrence (as replay does)
        src = pd.DataFrame({"source": data_path(specs[task].source["path"]).read_text()
                            .splitlines()})
        src["occ"] = src.groupby("source").cumcount()
        frames = [src.merge(f.assign(occ=f.groupby("source").cumcount()), on=["source", "occ"],
                            how="left", validate="one_to_one")
                  for f in (raw[task, arch, r] for arch in ARCHS for r in RUNS)]
        gold = frames[0]["target"].tolist()
        answers = pd.concat([f["prediction"] for f in frames], axis=1)
        expected = {}
        for i, row in enumerate(answers.itertuples(index=False)):
            (top, n), = Counter(a for a in row if a).most_common(1) or [("", 0)]
            if n > len(frames) / 2 and top != gold[i]:
                expected[i] = n / len(frames)
        got = flagged[flagged["task"] == task]
        assert sorted(got["item_id"].astype(int)) == sorted(expected)
        assert got["share"].tolist() == pytest.approx([expected[int(i)] for i in got["item_id"]])
        assert (got["n_voters"] == 9).all() and (got["method"] == "consensus").all()
