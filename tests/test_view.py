"""`genrank view` shows what the model answered, from the run directory alone."""

from __future__ import annotations

import pandas as pd
import pytest

from genrank.cli import main
from harness.replay import score_predictions
from harness.runstore import RunDir
from harness.spec import load_specs

PCFG = "pcfgset/model_predictions/lstms2s/pcfgset/run=1.txt"


@pytest.fixture(scope="module")
def pcfg_run(tmp_path_factory):
    from tests.conftest import data_path
    out = tmp_path_factory.mktemp("runs")
    (run,) = score_predictions(load_specs()["pcfgset_test"], data_path(PCFG), out,
                               model_name="lstms2s", seed=1)
    return run


def test_view_wrong_items_only(pcfg_run, capsys):
    recs = pcfg_run.read_records("pcfgset_test")
    wrong_ids = recs.loc[recs["score"] < 1, "item_id"].astype(str).tolist()
    assert main(["view", str(pcfg_run.path), "--task", "pcfgset_test", "--wrong", "--limit",
                 "4", "--width", "400"]) == 0
    out = capsys.readouterr().out
    body = [line for line in out.splitlines()[3:] if line.strip()]
    shown = [line.split("|")[0].strip() for line in body]
    assert shown == wrong_ids[:4]
    assert all(line.split("|")[5].strip() == "0.00" for line in body)
    assert f"{len(wrong_ids)} wrong" in out


def test_view_bad_input_is_one_line(tmp_path, capsys, pcfg_run):
    from genrank.cli import main as cli
    assert cli(["view", str(tmp_path / "nope")]) == 2
    assert cli(["view", str(pcfg_run.path), "--task", "scan_simple"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("error:") for e in err)


def test_realmistake_examples_never_printed(tmp_path, capsys, data_file):
    preds = data_file("realmistake/detector_predictions.csv.gz")
    data_file("realmistake/data.zip")
    run = score_predictions(load_specs()["realmistake_anscls_gpt4"], preds, tmp_path)[0]
    assert main(["view", str(run.path), "--limit", "0", "--width", "1000"]) == 0
    out = capsys.readouterr().out
    recs = run.read_records()
    assert "not shown" in out and len(recs) > 100
    texts = [" ".join(str(t).split()) for t in pd.concat([recs["prompt"], recs["prediction"]])]
    texts = [t for t in texts if len(t) >= 40]  # replayed predictions are bare verdicts
    assert len(texts) >= len(recs)
    for words in texts:
        assert words[-40:] not in out and words[:40] not in out


def test_extraction_warning(tmp_path):
    """Most answers unextractable -> one warning naming the task and how to look."""
    from leaderboards.answers import extraction_warnings
    from harness.runstore import records_frame

    run = RunDir(tmp_path / "r")
    run.write_metadata({"model": {"name": "m", "content_hash": "x"}, "tasks": {}})
    rows = [{"task": "t", "item_id": str(i), "prompt": "p", "prediction": "?",
             "target": "A", "score": 0.0, "extracted": None if i < 3 else "A",
             "difficulty": None, "meta": {}, "detail": {}} for i in range(4)]
    run.write_records("t", records_frame(rows))
    (line,) = extraction_warnings(run, ["t"])
    assert "1 of 4 answers could be extracted" in line and "--unparsable" in line
    rows = [dict(r, extracted="A") for r in rows]
    run.write_records("t", records_frame(rows))
    assert extraction_warnings(run, ["t"]) == []
