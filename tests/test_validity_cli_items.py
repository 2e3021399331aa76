"""``genrank label-errors`` and ``genrank glicko2`` on the real files."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from genrank.cli import main

# cleanlab/label-errors' published "estimated number of errors" (prune_by_noise_rate)
PUBLISHED_COUNTS = {"mnist": 15, "cifar10": 284, "20news": 95, "imdb": 1309}


@pytest.mark.parametrize("name", sorted(PUBLISHED_COUNTS))
def test_label_errors_command_equals_cleanlab(data_file, tmp_path, capsys, name):
    cleanlab_filter = pytest.importorskip("cleanlab.filter")
    probs_path = data_file(f"label_errors/{name}_test_set_pyx.npy")
    labels_path = data_file(f"label_errors/{name}_test_set_original_labels.npy")
    out = tmp_path / "issues.csv"
    assert main(["label-errors", "--probs", str(probs_path), "--labels", str(labels_path),
                 "-o", str(out)]) == 0
    got = pd.read_csv(out)
    # upstream: cleanlab itself on the clipped probabilities
    labels, probs = np.load(labels_path), np.clip(np.load(probs_path), 0, 1)
    expected = np.flatnonzero(cleanlab_filter.find_label_issues(
        labels.astype(int), probs, filter_by="prune_by_noise_rate", n_jobs=1))
    assert sorted(got["index"]) == expected.tolist()
    assert len(got) == PUBLISHED_COUNTS[name]
    assert (got["given_label"] == labels[got["index"]]).all()
    assert np.allclose(got["given_label_prob"], probs[got["index"], got["given_label"]],
                       atol=1e-6)
    assert f"{len(got)} of {len(labels)} items flagged" in capsys.readouterr().out


def test_label_errors_are_screened_without_importing_cleanlab_elsewhere():
    """cleanlab is imported only when a screening runs, not by the CLI or the modules."""
    import subprocess
    code = ("import sys, genrank.cli as c; c.build_parser(); "
            "import leaderboards.validity.label_errors, leaderboards.validity.report; "
            "print('cleanlab' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_label_errors_bad_input_is_one_line(data_file, tmp_path, capsys):
    probs = data_file("label_errors/mnist_test_set_pyx.npy")
    labels = data_file("label_errors/cifar10_test_set_original_labels.npy")
    short = tmp_path / "short.npy"
    np.save(short, np.load(labels)[:10])
    out = tmp_path / "keep.csv"
    out.write_text("precious")
    for argv, field in ((["--probs", str(probs), "--labels", str(short)], "--labels"),
                        (["--probs", str(tmp_path / "none.npy"), "--labels", str(labels)],
                         "--probs"),
                        (["--probs", str(labels), "--labels", str(labels)], "--probs")):
        assert main(["label-errors", *argv, "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and f"field={field}" in err[0]
    assert out.read_text() == "precious"


def _glickman(data_file, tmp_path):
    ex = json.loads(data_file("glicko2/glickman2013_worked_example.json").read_text())
    table = pd.DataFrame({"model": "player", "item": [f"opp{i}" for i in range(3)],
                          "correct": [g["score"] for g in ex["games"]]})
    init = pd.DataFrame([{"kind": "model", "name": "player", **ex["player"]}] + [
        {"kind": "item", "name": f"opp{i}", "rating": g["opponent_rating"],
         "rd": g["opponent_rd"], "volatility": 0.06} for i, g in enumerate(ex["games"])])
    table.to_csv(tmp_path / "games.csv", index=False)
    init.to_csv(tmp_path / "init.csv", index=False)
    return ex


def test_glicko2_command_reproduces_glickman_worked_example(data_file, tmp_path):
    """The worked example as a response table (player = model, opponents = items) and their
    starting ratings; one rating period."""
    ex = _glickman(data_file, tmp_path)
    out = tmp_path / "ratings.csv"
    assert main(["glicko2", str(tmp_path / "games.csv"), "--initial", str(tmp_path / "init.csv"),
                 "--tau", str(ex["tau"]), "-o", str(out)]) == 0
    got = pd.read_csv(out).set_index("name").loc["player"]
    pub = ex["published_result"]
    assert got["rating"] == pytest.approx(pub["rating"], abs=0.01)
    assert got["rd"] == pytest.approx(pub["rd"], abs=0.01)
    assert got["volatility"] == pytest.approx(pub["volatility"], abs=1e-5)


def test_glicko2_wide_and_long_tables_agree(tmp_path):
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.integers(0, 2, (6, 12)), columns=[f"q{i}" for i in range(12)],
                        index=pd.Index([f"m{i}" for i in range(6)], name="system"))
    wide.iloc[0, 3] = np.nan  # no game
    wide.to_csv(tmp_path / "wide.csv")
    long = wide.stack().rename("correct").reset_index().rename(
        columns={"system": "model", "level_1": "item"})
    long[["item", "model", "correct"]].to_csv(tmp_path / "long.csv", index=False)
    for name in ("wide", "long"):
        assert main(["glicko2", str(tmp_path / f"{name}.csv"), "--periods", "3",
                     "-o", str(tmp_path / f"{name}_r.csv")]) == 0
    a, b = (pd.read_csv(tmp_path / f"{n}_r.csv") for n in ("wide", "long"))
    assert len(a) == 18 and set(a["kind"]) == {"model", "item"}
    pd.testing.assert_frame_equal(a, b)
    items = a[a["kind"] == "item"].set_index("name")["rating"]
    solved = wide.mean()  # items more models solve are rated easier (lower)
    assert items.corr(solved, method="kendall") < -0.5


def test_glicko2_bad_scores_are_one_line(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("model,item,correct\na,q1,yes\n")
    assert main(["glicko2", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "field=correct" in err[0]
