"""`genrank import-lm-eval` on samples of lm-eval's own tasks (not exported by genrank).

The samples are written here in lm-eval 0.4's logged layout from the real ARC-Challenge file
(docs as the HF dataset rows, per-option log-likelihoods as filtered_resps), for a stand-in
model that picks the answer key on the first 20 items and the next option on the rest.
"""

from __future__ import annotations

import json

from genrank.cli import main
from harness.runstore import RunDir

N, RIGHT = 30, 20


def _arc_samples(raw_path, out):
    rows = []
    for i, line in enumerate(raw_path.read_text(encoding="utf-8").splitlines()[:N]):
        r = json.loads(line)
        labels = [c["label"] for c in r["question"]["choices"]]
        texts = [c["text"] for c in r["question"]["choices"]]
        pick = labels.index(r["answerKey"]) if i < RIGHT else \
            (labels.index(r["answerKey"]) + 1) % len(labels)
        lls = [[str(-1.0 if j == pick else -5.0), "False"] for j in range(len(labels))]
        doc = {"id": r["id"], "question": r["question"]["stem"],
               "choices": {"text": texts, "label": labels}, "answerKey": r["answerKey"]}
        rows.append({"doc_id": i, "doc": doc, "target": labels.index(r["answerKey"]),
                     "arguments": {f"gen_args_{j}": {"arg_0": f"Question: {doc['question']}\n"
                                                     "Answer:", "arg_1": f" {t}"}
                                   for j, t in enumerate(texts)},
                     "resps": [[x] for x in lls], "filtered_resps": lls, "filter": "none"})
    out.mkdir(parents=True)
    (out / "samples_arc_challenge_2026-11-30T09-00-00.jsonl").write_text(
        "\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    (out / "samples_hellaswag_2026-11-30T09-00-00.jsonl").write_text(
        json.dumps({"doc_id": 0, "doc": {"ctx": "x"}, "filtered_resps": [["-1", "False"]]}) + "\n")
    (out / "results_2026-11-30T09-00-00.json").write_text(json.dumps(
        {"config": {"model": "hf", "model_args": "pretrained=org/stand-in"}}))


def test_lm_eval_own_arc_samples_are_imported(tmp_path, data_file, capsys):
    raw = data_file("easy2hard/sources/arc_challenge/ARC-Challenge-Test.jsonl")
    _arc_samples(raw, tmp_path / "out" / "org__stand-in")
    assert main(["import-lm-eval", str(tmp_path / "out"), "-o", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "skipped samples_hellaswag" in out and "no genrank task declares" in out
    run = RunDir(tmp_path / "runs" / "stand-in")
    assert run.read_scores()["e2h_src_arc_challenge"]["accuracy"] == RIGHT / N
    rec = run.read_records("e2h_src_arc_challenge")
    assert rec["score"].tolist() == [1.0] * RIGHT + [0.0] * (N - RIGHT)
    assert rec["prompt"].str.startswith("Question: ").all()


def test_samples_of_other_data_are_skipped_with_the_reason(tmp_path, data_file, capsys):
    raw = data_file("easy2hard/sources/arc_challenge/ARC-Challenge-Test.jsonl")
    _arc_samples(raw, tmp_path / "out")
    path = next((tmp_path / "out").glob("samples_arc_*"))
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows[0]["doc"]["id"] = "not-an-arc-id"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["import-lm-eval", str(tmp_path / "out"), "-o", str(tmp_path / "runs")]) == 0
    assert "1 of 30 docs match no item of e2h_src_arc_challenge" in capsys.readouterr().out
    assert not (tmp_path / "runs").exists()
