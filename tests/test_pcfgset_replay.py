"""Replaying the published PCFG SET predictions reproduces the published accuracies."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from harness.errors import GenrankError
from harness.replay import score_predictions
from harness.runstore import RunDir
from harness.spec import load_specs

ARCHS = {"lstms2s": 0.79, "convs2s": 0.85, "transformer": 0.92}  # Hupkes et al. (2020)
PRED = "pcfgset/model_predictions/{arch}/pcfgset/run={run}.txt"


@pytest.fixture(scope="module")
def pcfg_runs(tmp_path_factory):
    from tests.conftest import data_path

    out = tmp_path_factory.mktemp("runs")
    spec = load_specs()["pcfgset_test"]
    for arch in ARCHS:
        for run in (1, 2, 3):
            score_predictions(spec, data_path(PRED.format(arch=arch, run=run)), out,
                              model_name=arch, seed=run)
    return out


def test_leaderboard_reproduces_published_means(pcfg_runs, tmp_path):
    csv = tmp_path / "lb.csv"
    subprocess.run([sys.executable, "-m", "genrank.cli", "leaderboard", str(pcfg_runs),
                    "-o", str(csv)], check=True, capture_output=True)
    lb = pd.read_csv(csv).set_index("model")
    for arch, published in ARCHS.items():
        assert lb.loc[arch, "pcfgset_test:score"] == pytest.approx(published, abs=0.006)
        assert lb.loc[arch, "pcfgset_test:n_seeds"] == 3
        assert lb.loc[arch, "pcfgset_test:metric"] == "accuracy"
        assert bool(lb.loc[arch, "pcfgset_test:higher_is_better"]) is True
        lo, hi = lb.loc[arch, ["pcfgset_test:ci_low", "pcfgset_test:ci_high"]]
        assert lo < lb.loc[arch, "pcfgset_test:score"] < hi and hi - lo < 0.03
    assert list(lb["pcfgset_test:rank"].sort_values().index) == ["transformer", "convs2s", "lstms2s"]
    assert lb.loc["transformer", "mean_win_rate"] == 1.0
    assert lb.loc["lstms2s", "mean_win_rate"] == 0.0


def test_run_directory_format(pcfg_runs, data_file):
    run = RunDir(pcfg_runs / "transformer__seed1")
    meta = run.read_metadata()
    assert meta["backend"]["name"] == "replay" and meta["seed"] == 1
    assert meta["tasks"]["pcfgset_test"]["spec_hash"] == load_specs()["pcfgset_test"].spec_hash
    rec = run.read_records("pcfgset_test")
    assert len(rec) == 9721 and rec["item_id"].is_unique
    # the score is recomputed from the published prediction, not copied
    raw = pd.read_csv(data_file(PRED.format(arch="transformer", run=1)), sep="\t",
                      quoting=3, dtype=str, keep_default_na=False)
    same = (raw["prediction"].str.replace(" ", "") == raw["target"].str.replace(" ", ""))
    assert rec["score"].mean() == pytest.approx(same.mean())
    assert {"prompt_hash", "prediction_hash", "target_hash"} <= set(rec.columns)


def test_score_cli_writes_a_run(data_file, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "genrank.cli", "score", "--task", "pcfgset_test", "--predictions",
         str(data_file(PRED.format(arch="convs2s", run=2))), "--model-name", "convs2s-run2",
         "-o", str(tmp_path)], capture_output=True, text=True, check=True)
    assert "convs2s-run2" in out.stdout
    scores = json.loads((tmp_path / "convs2s-run2" / "scores.json").read_text())
    assert scores["pcfgset_test"]["accuracy"] == pytest.approx(0.8397, abs=1e-4)


def test_mismatched_predictions_stop_before_writing(data_file, tmp_path):
    rows = data_file(PRED.format(arch="lstms2s", run=1)).read_text().splitlines()
    spec = load_specs()["pcfgset_test"]
    cases = {
        "missing_column.tsv": ["source\ttarget"] + [r.rsplit("\t", 1)[0] for r in rows[1:50]],
        "truncated.tsv": rows[:100],
        "foreign.tsv": rows[:1] + ["not a pcfg input\tA\tA"] + rows[2:],
    }
    for name, lines in cases.items():
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(GenrankError) as err:
            score_predictions(spec, path, tmp_path / "runs", model_name="m")
        assert err.value.file == str(path) and err.value.task == "pcfgset_test", name
    assert not (tmp_path / "runs").exists()
