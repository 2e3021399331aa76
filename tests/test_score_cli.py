"""`genrank score`: a folder of runs scores every file, a glob scores every matching task."""

from __future__ import annotations

import json

from genrank.cli import main
from harness.runstore import RunDir


def test_folder_scores_each_run_file_with_its_seed(tmp_path, data_file):
    folder = data_file("pcfgset/model_predictions/convs2s/pcfgset/run=1.txt").parent
    assert main(["score", "--task", "pcfgset_test", "--model-name", "convs2s",
                 "--predictions", str(folder), "-o", str(tmp_path / "folder")]) == 0
    for seed in (1, 2, 3):
        assert main(["score", "--task", "pcfgset_test", "--model-name", "convs2s", "--seed",
                     str(seed), "--predictions", str(folder / f"run={seed}.txt"),
                     "-o", str(tmp_path / f"file{seed}")]) == 0
        one = RunDir(tmp_path / f"file{seed}" / f"convs2s__seed{seed}").read_scores()
        assert RunDir(tmp_path / "folder" / f"convs2s__seed{seed}").read_scores() == one
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == [
        "convs2s__seed1", "convs2s__seed2", "convs2s__seed3"]


def test_folder_with_no_matching_file_is_one_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    assert main(["score", "--task", "pcfgset_test", "--model-name", "m",
                 "--predictions", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "predictions.files" in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_glob_scores_every_matching_task(tmp_path, data_file):
    preds = data_file("realmistake/detector_predictions.csv.gz")
    data_file("realmistake/data.zip")
    assert main(["score", "--task", "realmistake_*", "--predictions", str(preds),
                 "-o", str(tmp_path)]) == 0
    tasks = set()
    for meta in tmp_path.glob("*/metadata.json"):
        tasks |= set(json.loads(meta.read_text())["tasks"])
    assert tasks == {f"realmistake_{t}_{m}" for t in ("mathgen", "fgfactv", "anscls")
                     for m in ("gpt4", "llama2")}
