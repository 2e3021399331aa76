"""results.json: each run's figures in lm-eval's results layout, with standard errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from harness.replay import score_predictions
from harness.spec import load_specs


def test_pcfg_results_json_is_lm_eval_layout(tmp_path, data_file):
    pred = data_file("pcfgset/model_predictions/convs2s/pcfgset/run=1.txt")
    (run,) = score_predictions(load_specs()["pcfgset_test"], pred, tmp_path,
                               model_name="convs2s", seed=1)
    res = json.loads((run.path / "results.json").read_text())
    row = res["results"]["pcfgset_test"]
    scores = run.read_records("pcfgset_test")["score"].to_numpy(float)
    assert row["accuracy,none"] == pytest.approx(scores.mean(), abs=1e-12)
    # lm-eval's mean_stderr: sample standard deviation / sqrt(n)
    assert row["accuracy_stderr,none"] == pytest.approx(
        scores.std(ddof=1) / math.sqrt(len(scores)), rel=1e-9)
    assert res["higher_is_better"]["pcfgset_test"]["accuracy"] is True
    assert res["n-samples"]["pcfgset_test"]["effective"] == len(scores) == 9721
    assert res["n-shot"]["pcfgset_test"] == 4
    assert res["versions"]["pcfgset_test"] == run.read_metadata()["tasks"]["pcfgset_test"][
        "spec_hash"]


def test_ratio_metric_stderr_by_the_delta_method(tmp_path, data_file):
    folder = data_file("halogen/model_hallucinations")
    runs = score_predictions(load_specs()["halogen_code"], folder, tmp_path)
    run = next(r for r in runs if r.path.name == "gpt_4_0125_turbo")
    res = json.loads((run.path / "results.json").read_text())["results"]["halogen_code"]
    meta = json.loads((run.path / "results.json").read_text())["higher_is_better"]
    assert meta["halogen_code"]["hallucination_score"] is False
    # independent: per answered item, its hallucinated share; the ratio's delta-method SE
    import pandas as pd
    rec = pd.read_parquet(run.records_path("halogen_code"))  # the stored per-item terms
    terms = rec["term_num"].tolist(), rec["term_den"].tolist()
    figures = run.read_metadata()["tasks"]["halogen_code"]["terms"]["figures"]
    i = figures.index("hallucination_score")
    num = np.array([t[i] for t in terms[0]]), np.array([t[i] for t in terms[1]])
    keep = num[1] != 0
    r = num[0].sum() / num[1].sum()
    n = keep.sum()
    se = math.sqrt(n / (n - 1) * ((num[0] - r * num[1])[keep] ** 2).sum()) / num[1].sum()
    assert res["hallucination_score,none"] == pytest.approx(r, abs=1e-12)
    assert res["hallucination_score_stderr,none"] == pytest.approx(se, rel=1e-9) and se > 0
