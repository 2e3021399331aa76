"""The Validity paper's seed-pooled concurrence on the published PCFG SET predictions."""

from __future__ import annotations

import pytest

from leaderboards.validity import concordance, irt, stability

ARCHS = ("lstms2s", "convs2s", "transformer")
SPLITS = {"pcfgset_test": "pcfgset/run={r}.txt",
          "pcfgset_systematicity": "systematicity/run={r}.txt.gz"}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    from tests.conftest import data_path
    from harness.replay import score_predictions
    from harness.spec import load_specs
    from leaderboards import runs
    specs = load_specs()
    out = tmp_path_factory.mktemp("pcfg_runs")
    for task, pattern in SPLITS.items():
        for arch in ARCHS:
            for r in (1, 2, 3):
                path = data_path(f"pcfgset/model_predictions/{arch}/{pattern.format(r=r)}")
                score_predictions(specs[task], path, out, model_name=arch, seed=r)
    return runs.load_scores([out]), runs.load_items([out])


@pytest.mark.slow
def test_replayed_accuracies_match_published(replayed):
    scores, _ = replayed
    acc = scores[scores["metric"] == "accuracy"].groupby(["task", "model"])["value"].mean()
    for arch, pub in {"lstms2s": 0.79, "convs2s": 0.85, "transformer": 0.92}.items():
        assert acc["pcfgset_test", arch] == pytest.approx(pub, abs=0.015)
    for arch, pub in {"lstms2s": 0.53, "convs2s": 0.56, "transformer": 0.72}.items():
        assert acc["pcfgset_systematicity", arch] == pytest.approx(pub, abs=0.015)


@pytest.mark.slow
def test_seed_pooled_concurrence_with_chance_calibration(replayed):
    scores, items = replayed
    sc = scores[scores["metric"] == "accuracy"]
    res = concordance.pooled_concordance(sc, n_sim=500)
    assert len(res) == 1 and res["n_pairs"].item() == 27  # 3 models x 3 x 3 seed pairs
    xs, ys = concordance.pooled_vectors(sc, "pcfgset_systematicity", "pcfgset_test")
    from scipy import stats
    assert res["pooled_tau"].item() == pytest.approx(stats.kendalltau(ys, xs).statistic)
    assert res["null_lo"].item() < res["null_mean"].item() < res["null_hi"].item()
    boot = stability.item_bootstrap(items, n_boot=200)
    ranks = boot["ranks"]
    assert set(ranks["task"]) == {"pcfgset_test", "pcfgset_systematicity", "overall"}
    assert (ranks["rank_lo"] <= ranks["rank"]).all() and (ranks["rank"] <= ranks["rank_hi"]).all()
    mat = irt.response_matrix(items[items["task"] == "pcfgset_test"])
    assert mat.shape[0] == 3
