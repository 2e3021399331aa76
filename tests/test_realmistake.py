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
from suites.realmistake.report import max_difference, performance_table, random_baseline
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


def test_random_baseline_reproduced(replayed, data_file):
    published = json.loads(data_file("realmistake/performance/"
                                     "performance_easy_baseline.json").read_text())
    ours = random_baseline(replayed)
    for task, by_model in published.items():
        if task == "average":
            continue
        for model, block in by_model.items():
            pub = block["baseline_model=random"]["metrics"]
            for k in ("precision", "recall", "f1", "accuracy"):
                assert ours[task][model][k] == pytest.approx(pub[k], abs=1e-12)


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
