"""lm-eval export of multiple-choice tasks: the gold index is the right option, never a silent 0."""

from __future__ import annotations

import json

import pytest

from genrank.cli import main

N = 40


def test_arc_export_gold_index_is_the_answer_key(tmp_path, data_file):
    raw = data_file("easy2hard/sources/arc_challenge/ARC-Challenge-Test.jsonl")
    expected = {}
    for line in raw.read_text(encoding="utf-8").splitlines()[:N]:
        row = json.loads(line)
        labels = [c["label"] for c in row["question"]["choices"]]
        expected[row["id"]] = labels.index(row["answerKey"])
    assert main(["export-lm-eval", str(tmp_path), "--task", "e2h_src_arc_challenge",
                 "--limit", str(N)]) == 0
    docs = [json.loads(x) for x in (tmp_path / "e2h_src_arc_challenge.jsonl").read_text(
        encoding="utf-8").splitlines()]
    got = {d["item_id"]: d["gold_index"] for d in docs}
    assert got == {k: expected[k] for k in got} and len(got) == N
    assert len(set(got.values())) > 1  # the old bug wrote 0 for every item
    assert "sys.path" not in (tmp_path / "utils.py").read_text()  # imports the installed genrank


def test_unmappable_target_is_an_error(tmp_path):
    from harness.errors import GenrankError
    from harness.interop.lm_eval import gold_index
    from harness.spec import load_specs
    from harness.types import Item

    spec = load_specs()["e2h_src_arc_challenge"]
    item = Item("x", {"choices": ["red", "blue"], "labels": ["A", "B"]}, "E", {})
    with pytest.raises(GenrankError, match="neither an option label"):
        gold_index(spec, item, ["red", "blue"])
    assert gold_index(spec, Item("y", {"choices": ["red", "blue"]}, "blue", {}), ["red", "blue"]) == 1
