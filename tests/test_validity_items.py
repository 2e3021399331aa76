"""Glicko-2, label-error screening, IRT and paired significance on real files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leaderboards.validity import glicko2, irt, label_errors, significance

# "Estimated number of errors" printed by cleanlab/label-errors' tutorial notebook
# (find_label_issues / get_noise_indices with prune_by_noise_rate) for these test sets.
PUBLISHED_COUNTS = {"mnist": 15, "cifar10": 284, "20news": 95, "imdb": 1309}


def test_glicko2_reproduces_glickman_worked_example(data_file):
    ex = json.loads(data_file("glicko2/glickman2013_worked_example.json").read_text())
    games = ex["games"]
    r, rd, vol = glicko2.update(ex["player"]["rating"], ex["player"]["rd"],
                                ex["player"]["volatility"],
                                [g["opponent_rating"] for g in games],
                                [g["opponent_rd"] for g in games],
                                [g["score"] for g in games], tau=ex["tau"])
    pub = ex["published_result"]
    assert r[0] == pytest.approx(pub["rating"], abs=0.01)
    assert rd[0] == pytest.approx(pub["rd"], abs=0.01)
    assert vol[0] == pytest.approx(pub["volatility"], abs=1e-5)


@pytest.mark.parametrize("name", sorted(PUBLISHED_COUNTS))
def test_label_issue_counts_match_published(data_file, name):
    pytest.importorskip("cleanlab")
    labels = np.load(data_file(f"label_errors/{name}_test_set_original_labels.npy"),
                     allow_pickle=True)
    probs = np.load(data_file(f"label_errors/{name}_test_set_pyx.npy"), allow_pickle=True)
    flags = label_errors.find_issues(labels, probs, filter_by="prune_by_noise_rate")
    assert int(flags.sum()) == PUBLISHED_COUNTS[name]
    # every flagged item's given label is not the model's top class
    assert (probs[flags].argmax(1) != labels[flags]).all()


def test_vote_screening_flags_confidently_contradicted_items():
    pytest.importorskip("cleanlab")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(300):
        gold = "ab"[i % 2]
        wrong_label = i < 6  # first six items carry the other class as their label
        for m in range(9):
            pred = gold if rng.uniform() < 0.9 else "ba"["ab".index(gold)]
            rows.append({"item_id": i, "model": m, "prediction": pred,
                         "target": ("ba"["ab".index(gold)] if wrong_label else gold)})
    flagged = label_errors.screen_votes(pd.DataFrame(rows))
    found = set(flagged["item_id"])
    assert len(found & set(range(6))) >= 4 and found <= set(range(6))


def test_mcnemar_and_bh_against_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(size=500) < 0.7, rng.uniform(size=500) < 0.6
    res = significance.mcnemar_exact(a, b)
    n10, n01 = int((a & ~b).sum()), int((~a & b).sum())
    assert res["p_value"] == pytest.approx(stats.binomtest(n10, n10 + n01).pvalue)
    p = np.array([0.01, 0.04, 0.03, 0.2])
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    manual = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(p)
    out[order] = manual
    np.testing.assert_allclose(significance.benjamini_hochberg(p), out)


def test_irt_recovers_simulated_parameters_and_1pl_orders_by_accuracy():
    rng = np.random.default_rng(0)
    theta, b = rng.normal(size=200), rng.normal(size=400)
    a = rng.lognormal(0, 0.3, size=400)
    y = (rng.uniform(size=(200, 400)) < 1 / (1 + np.exp(-a * (theta[:, None] - b)))).astype(float)
    fit2 = irt.fit(pd.DataFrame(y), "2pl")
    assert fit2.converged
    assert np.corrcoef(fit2.items["difficulty"], b)[0, 1] > 0.9
    assert np.corrcoef(fit2.items["discrimination"], a)[0, 1] > 0.5
    assert np.corrcoef(fit2.abilities["ability"], theta)[0, 1] > 0.95
    fit1 = irt.fit(pd.DataFrame(y), "1pl")
    # under the Rasch model the number correct is sufficient: difficulty is monotone in it
    d = fit1.items["difficulty"].to_numpy()[np.argsort(y.mean(0), kind="stable")]
    assert np.all(np.diff(d) <= 1e-3)
