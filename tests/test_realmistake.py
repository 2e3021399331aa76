"""ReaLMistake: replaying the published detector outputs reproduces the paper's tables.

Everything is computed from the real (password-protected) zip in memory; the tests
assert numbers only and never print or store an example.
"""

from __future__ import annotations

import gzip
import json

import pytest

from harness.errors import GenrankError
from harness.replay import score_predictions
from harness.spec import load_specs
from suites.realmistake.report import easy_baseline, max_difference, performance_table
from suites.realmistake.verdict import parse_verdict

PREDS = "realmistake/detector_predictions.csv.gz"


def _specs():
    return [s for n, s in load_specs().items() if n.startswith("realmistake_")]


def test_six_tasks_declared():
    names = sorted(s.name for s in _specs())
    assert len(names) == 6 and all(s.loader == "realmistake" for s in _specs())


@pytest.mark.parametrize("text, verdict", [
    ("... Therefore, the model response contains an error.", "error"),
    ("... Therefore, the model response contains no error.", "no_error"),
    ("Therefore, the model response is not valid.", "error"),
    ("Therefore, the model response is valid.", "no_error"),
    ("It is valid at first sight. Therefore, the model response is not valid.", "error"),
    ("I cannot decide.", None), ("", None), (None, None), ("no_error", "no_error"),
])
def test_parse_verdict(text, verdict):
    assert parse_verdict(text) == verdict


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    from tests.conftest import data_path
    preds = data_path(PREDS)
    data_path("realmistake/data.zip")
    out = tmp_path_factory.mktemp("runs")
    runs = set()
    for spec in _specs():
        runs.update(str(r.path) for r in score_predictions(spec, preds, out))
    return sorted(runs)


def test_items_read_in_memory(data_file):
    from harness.items import load_items
    data_file("realmistake/data.zip")
    sizes = {s.name: len(load_items(s)) for s in _specs()}
    assert sum(sizes.values()) == 900  # 3 tasks x (140 GPT-4 + 160 Llama-2 responses)


def test_simple_prompt_baseline_reproduced(replayed, data_file):
    published = json.loads(data_file("realmistake/performance/"
                                     "performance_simple_prompt_baseline.json").read_text())
    ours = performance_table(replayed, "simple_prompt_baseline")
    worst, cells, missing = max_difference(ours, published)
    assert not missing
    assert cells == 3 * 2 * 12 * (4 * 11 + 16 + 2) + 2 * 12 * 18 + 0  # every published number
    assert worst <= 1e-9
    gpt4 = ours["average"]["initial_model=gpt-4-0613"]["baseline_model=gpt-4-0613"]["average"]
    assert gpt4["metrics"]["f1"]["average"] == pytest.approx(0.3193968, abs=1e-7)


def test_easy_baselines_reproduced(replayed, data_file):
    """Always-error and random detectors: upstream's easy_baseline/performance.json, every
    number, and the per-run metrics carry the same F1."""
    from harness.runstore import RunDir
    published = json.loads(data_file("realmistake/performance/"
                                     "performance_easy_baseline.json").read_text())
    worst, cells, missing = max_difference(easy_baseline(replayed), published)
    assert not missing and cells == 3 * 2 * (3 + 8 + 8) and worst == 0.0
    full_runs, partial = 0, 0
    for run in map(RunDir, replayed):
        for task, scores in run.read_scores().items():
            records = run.read_records(task)
            meta = records["meta"].iloc[0]
            pub = published[meta["task"]][f"initial_model={meta['response_model']}"]
            if len(records) < pub["baseline_model=always_error"]["total_num"]:
                partial += 1  # self-consistency: the first 50 responses only
                continue
            full_runs += 1
            for name in ("always_error", "random"):
                assert scores[f"{name}_f1"] == pub[f"baseline_model={name}"]["metrics"]["f1"]
    assert partial == 3 * 3 and full_runs > 300  # 3 detectors x 3 tasks


def _published_cell(published: dict, task: str, model: str, column: str, key: str, metric: str):
    """A detector's published value for a table cell, found by the column's short name."""
    by_detector = published[task][f"initial_model={model}"]
    (det,) = [d for d in by_detector if d.split("=", 1)[1].split("/")[-1] == column]
    value = by_detector[det][key]["metrics"][metric]
    return value["average"] if key == "average" else value


def test_report_command_tables(replayed, data_file, tmp_path, capsys):
    """`genrank report realmistake` on the replayed runs: the paper's simple-prompt tables
    (each metric, each prompt and the average over prompts), every detector cell and both
    baselines equal upstream's published performance files (x 100)."""
    import pandas as pd

    from genrank.cli import main
    folder = {str(__import__("pathlib").Path(r).parent) for r in replayed}
    out = tmp_path / "report"
    assert main(["report", "realmistake", *sorted(folder), "-o", str(out)]) == 0
    simple = json.loads(data_file("realmistake/performance/"
                                  "performance_simple_prompt_baseline.json").read_text())
    easy = json.loads(data_file("realmistake/performance/"
                                "performance_easy_baseline.json").read_text())
    full = {"gpt-4-0613": "gpt-4-0613", "Llama-2-70b-chat-hf": "meta-llama/Llama-2-70b-chat-hf"}
    tasks = {"MathGen": "math_word_problem_generation", "FgFactV": "finegrained_fact_verification",
             "AnsCls": "answerability_classification"}
    prompts = [f"baseline_errordetection_prompt_{i}" for i in range(1, 5)]
    cells, worst = 0, 0.0
    for metric in ("accuracy", "f1", "precision", "recall"):
        for prompt in prompts + ["average"]:
            key = "average" if prompt == "average" else f"prompt={prompt}"
            table = pd.read_csv(out / "simple_prompt_baseline" / f"{metric}_{prompt}.csv")
            assert list(table.columns[:2]) == ["initial model", "dataset"]
            assert list(table.columns[-2:]) == ["always error", "random"]
            assert len(table.columns) == 2 + 12 + 2 and len(table) == 6
            for _, row in table.iterrows():
                task, model = tasks[row["dataset"]], full[row["initial model"]]
                for column in table.columns[2:-2]:
                    expected = _published_cell(simple, task, model, column, key, metric)
                    worst = max(worst, abs(row[column] - 100 * expected))
                    cells += 1
                for column, name in (("always error", "always_error"), ("random", "random")):
                    expected = easy[task][f"initial_model={model}"][f"baseline_model={name}"]
                    worst = max(worst, abs(row[column] - 100 * expected["metrics"][metric]))
                    cells += 1
    assert cells == 4 * 5 * 6 * 14 and worst < 1e-9
    for name, pub in (("simple_prompt_baseline", simple), ("easy_baseline", easy)):
        ours = json.loads((out / name / "performance.json").read_text())
        assert max_difference(ours, pub)[0] == 0.0 and not max_difference(ours, pub)[2]
    md = (out / "simple_prompt_baseline" / "tables.md").read_text()
    assert md.count("| always error | random |") == 20 and "human performance is not" in md
    assert "report realmistake: " in capsys.readouterr().out


def test_report_command_bad_input(replayed, tmp_path, capsys):
    from genrank.cli import main
    (tmp_path / "empty").mkdir()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep")
    other = tmp_path / "other_run"  # a run of another suite: no ReaLMistake records
    other.mkdir()
    (other / "metadata.json").write_text(json.dumps({"model": {"name": "m"}, "variant": None}))
    for args, field in ((["missing_dir"], "file="), ([str(tmp_path / "empty")], "no run"),
                        ([str(other)], "no ReaLMistake"),
                        ([replayed[0], "-o", str(tmp_path / "taken")], "--output")):
        if "-o" not in args:
            args = args + ["-o", str(tmp_path / "out")]
        assert main(["report", "realmistake", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and field in err
    assert (tmp_path / "taken" / "mine.txt").read_text() == "keep"
    assert not (tmp_path / "out").exists()


def test_bad_predictions_file(tmp_path, data_file):
    data_file("realmistake/data.zip")
    spec = load_specs()["realmistake_mathgen_gpt4"]
    bad = tmp_path / "bad.csv.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write("method,task,initial_model,detector,prompt,instance_id\n")
    with pytest.raises(GenrankError) as err:
        score_predictions(spec, bad, tmp_path / "runs")
    assert "prediction" in str(err.value) and "bad.csv.gz" in str(err.value)
    assert not (tmp_path / "runs").exists()


def test_self_consistency_replayed(replayed):
    """Upstream scores self-consistency on the first 50 GPT-4 responses of each task, one
    prompt, three detectors; replay keeps that subset (the spec's ``partial``)."""
    table = performance_table(replayed, "self_consistency")
    assert sorted(table) == sorted(["average", "math_word_problem_generation",
                                    "finegrained_fact_verification",
                                    "answerability_classification"])
    for task, by_model in table.items():
        assert list(by_model) == ["initial_model=gpt-4-0613"]
        detectors = by_model["initial_model=gpt-4-0613"]
        assert list(detectors) == ["baseline_model=mistralai/Mixtral-8x7B-Instruct-v0.1",
                                   "baseline_model=gpt-3.5-turbo-0125",
                                   "baseline_model=gpt-4-0125-preview"]
        for block in detectors.values():
            assert block["average"]["total_num"] == (150 if task == "average" else 50)
            if task != "average":
                assert list(block) == ["prompt=baseline_errordetection_prompt_1", "average"]
                assert block["average"]["metrics"]["f1"]["stdev"] == 0.0
    # upstream error_detection_performance/performance/self_consistency/performance.json
    # (psunlpgroup/ReaLMistake@14193637), average over the three tasks
    avg = table["average"]["initial_model=gpt-4-0613"]
    published = {"mistralai/Mixtral-8x7B-Instruct-v0.1": (0.6060698484816615, 0.13725203470257263),
                 "gpt-3.5-turbo-0125": (0.6511130456410894, 0.1294449341836891),
                 "gpt-4-0125-preview": (0.42992821294708095, 0.28572526626711764)}
    for det, (f1, sd) in published.items():
        f1s = avg[f"baseline_model={det}"]["average"]["metrics"]["f1"]
        assert f1s["average"] == pytest.approx(f1, abs=1e-12)
        assert f1s["stdev"] == pytest.approx(sd, abs=1e-12)


def test_partial_coverage_only_where_declared(tmp_path, data_file):
    """Only the declared method may cover a subset of a task's items."""
    import dataclasses
    spec = load_specs()["realmistake_mathgen_gpt4"]
    preds = data_file(PREDS)
    strict = dataclasses.replace(spec, predictions={**spec.predictions, "partial": []})
    with pytest.raises(GenrankError) as err:
        score_predictions(strict, preds, tmp_path / "runs")
    assert "cover 50 of the task's 140 items" in str(err.value)
    assert not (tmp_path / "runs").exists()
