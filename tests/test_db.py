"""The leaderboard database: ingest verifies, never scores twice, regenerates CSVs exactly."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness import registry, terms
from harness.errors import GenrankError
from harness.items import load_items, render_prompts
from harness.runs import finish_task, open_run, run_name
from harness.runstore import RunDir, make_record
from harness.spec import load_specs
from harness.types import stable_hash
from leaderboards import db
from leaderboards.leaderboard import build, write

TASK = "scangen_simple"  # generated SCAN-grammar items: real items, no data files needed


def make_run(out: Path, model: str, *, correct: int, seed: int | None = None, n: int = 30,
             task: str = TASK, spec=None, wrong_every: int | None = None) -> Path:
    """A real run directory: real items and verifier, predictions right for the first
    ``correct`` items (then wrong), item difficulty = target length."""
    spec = spec or load_specs()[task]
    registry.import_suite(spec.suite)
    items = [dataclasses.replace(it, meta={**it.meta, "difficulty": len(it.target.split())})
             for it in load_items(spec, n)]
    prompts = render_prompts(spec, items)
    preds = [it.target if i < correct else "WALK" for i, it in enumerate(items)]
    verifier = registry.VERIFIERS[spec.verifier.name](**spec.verifier.params)
    scores = verifier.score_many(preds, items)
    records = [make_record(spec.name, spec.spec_hash, it, p, o, s)
               for it, p, o, s in zip(items, prompts, preds, scores)]
    ident = {"name": model, "content_hash": stable_hash({"test-model": model})[:16],
             "path": None}
    run = open_run(out / run_name(model, seed=seed), ident, backend={"name": "test"}, seed=seed)
    finish_task(run, spec, records, {"limit": n})
    return run.path


@pytest.fixture
def runs(tmp_path) -> list[Path]:
    out = tmp_path / "runs"
    return [make_run(out, "alpha", correct=25), make_run(out, "beta", correct=12, seed=1),
            make_run(out, "beta", correct=14, seed=2), make_run(out, "gamma", correct=5)]


def test_ingest_regenerates_csv_byte_identical(tmp_path, runs):
    conn = db.connect(tmp_path / "lb.sqlite")
    for r in runs:
        assert db.ingest(conn, r).added == [TASK]
    assert db.counts(conn) == {"models": 3, "runs": 4, "tasks": 1, "scores": 4, "cells": 3}
    assert db.check_regeneration(conn) == {"leaderboard.csv": True,
                                           "leaderboard_compositional.csv": True}
    # the database's CSV equals `genrank leaderboard` over the same run directories
    written = db.write_csvs(conn, tmp_path / "csv")
    reference = write(build(sorted(runs)), tmp_path / "ref.csv")
    assert written[0].read_bytes() == reference.read_bytes()
    table = pd.read_csv(written[0])
    beta = table.set_index("model").loc["beta"]
    assert beta[f"{TASK}:n_seeds"] == 2 and beta[f"{TASK}:score"] == pytest.approx(13 / 30)
    # per-item records are referenced by path and hash, not copied
    row = conn.execute("SELECT records_path, records_sha256 FROM scores LIMIT 1").fetchone()
    assert Path(row[0]).exists() and db.sha256_file(Path(row[0])) == row[1]


def test_same_model_and_spec_not_scored_twice(tmp_path, runs):
    conn = db.connect(tmp_path / "lb.sqlite")
    db.ingest(conn, runs[0])
    again = db.ingest(conn, runs[0])
    assert again.added == [] and again.unchanged == [TASK]
    copy = tmp_path / "elsewhere" / runs[0].name  # the same model + seed from another folder
    shutil.copytree(runs[0], copy)
    other = make_run(tmp_path / "redo", "alpha", correct=3)  # same model hash, new records
    assert db.ingest(conn, copy).added == []
    assert db.ingest(conn, other).duplicates == [TASK]
    assert db.counts(conn)["scores"] == 1
    assert db.already_scored(tmp_path / "lb.sqlite", stable_hash({"test-model": "alpha"})[:16],
                             {TASK: load_specs()[TASK].spec_hash}) == {TASK: "alpha"}


def test_name_of_another_checkpoint_is_refused(tmp_path, runs):
    conn = db.connect(tmp_path / "lb.sqlite")
    db.ingest(conn, runs[0])
    meta_path = runs[3] / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["model"]["name"] = "alpha"  # gamma's weights under alpha's name
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(GenrankError, match="belongs to another checkpoint"):
        db.ingest(conn, runs[3])


def _rejected(conn, run: Path, match: str, recheck=None) -> None:
    before = db.counts(conn)
    with pytest.raises(GenrankError, match=match) as exc:
        db.ingest(conn, run, recheck=recheck)
    assert exc.value.line().startswith("error: submission rejected")
    assert "\n" not in exc.value.line()
    assert db.counts(conn) == before  # nothing written


def test_tampered_scores_json_rejected(tmp_path, runs):
    conn = db.connect(tmp_path / "lb.sqlite")
    path = runs[2] / "scores.json"
    scores = json.loads(path.read_text())
    scores[TASK]["accuracy"] = 0.99
    path.write_text(json.dumps(scores))
    _rejected(conn, runs[2], "scores.json says accuracy=0.99 but the per-item records give")


def test_truncated_records_rejected(tmp_path, runs):
    conn = db.connect(tmp_path / "lb.sqlite")
    path = RunDir(runs[1]).records_path(TASK)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _rejected(conn, runs[1], "unreadable")


def test_dropped_records_rejected(tmp_path, runs):
    conn = db.connect(tmp_path / "lb.sqlite")
    path = RunDir(runs[1]).records_path(TASK)
    pd.read_parquet(path).iloc[:-3].to_parquet(path, index=False)  # a valid but short file
    _rejected(conn, runs[1], "27 records, but metadata says 30")


def test_edited_item_scores_rejected(tmp_path, runs):
    conn = db.connect(tmp_path / "lb.sqlite")
    path = RunDir(runs[3]).records_path(TASK)
    df = pd.read_parquet(path)
    df.loc[df.index[-5:], "score"] = 1.0  # claim five more items right
    df.to_parquet(path, index=False)
    # the app layer's recheck re-derives the terms with the suite's metric code
    _rejected(conn, runs[3], "per-item records give other metric terms", recheck=terms.recheck)


def test_edited_prediction_rejected(tmp_path, runs):
    conn = db.connect(tmp_path / "lb.sqlite")
    path = RunDir(runs[3]).records_path(TASK)
    df = pd.read_parquet(path)
    df.loc[df.index[-1], "prediction"] = df.loc[df.index[-1], "target"]
    df.to_parquet(path, index=False)
    _rejected(conn, runs[3], "prediction does not match its hash")


def test_records_changed_after_ingest_detected(tmp_path, runs):
    conn = db.connect(tmp_path / "lb.sqlite")
    db.ingest(conn, runs[1])
    path = RunDir(runs[1]).records_path(TASK)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(GenrankError, match="changed or vanished since they were ingested"):
        db.ingest(conn, runs[2])  # same cell (beta): its seed-1 records are re-read


def test_new_spec_version_is_a_new_column(tmp_path, runs, monkeypatch):
    conn = db.connect(tmp_path / "lb.sqlite")
    for r in runs[:2]:
        db.ingest(conn, r)
    old = load_specs()[TASK]
    new = dataclasses.replace(old, prompt=old.prompt + " ",
                              version=2)
    assert new.spec_hash != old.spec_hash
    specs = {**load_specs(), TASK: new}
    monkeypatch.setattr("harness.spec.load_specs", lambda *a, **k: specs)
    newer = make_run(tmp_path / "v2", "alpha", correct=20, spec=new)
    assert db.ingest(conn, newer).added == [TASK]  # alpha again, but a new task version
    table = db.tables(conn)["all"]
    cols = [c for c in table.columns if c.endswith(":score")]
    assert cols == [f"{TASK}@{new.spec_hash[:8]}:score", f"{TASK}@{old.spec_hash[:8]}:score"] \
        or sorted(cols) == sorted([f"{TASK}@{old.spec_hash[:8]}:score",
                                   f"{TASK}@{new.spec_hash[:8]}:score"])
    alpha = table.set_index("model").loc["alpha"]
    assert alpha[f"{TASK}@{old.spec_hash[:8]}:score"] == pytest.approx(25 / 30)
    assert alpha[f"{TASK}@{new.spec_hash[:8]}:score"] == pytest.approx(20 / 30)
    assert db.counts(conn)["tasks"] == 2


def test_old_spec_version_cannot_be_verified(tmp_path, runs):
    meta_path = runs[0] / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["tasks"][TASK]["spec_hash"] = "0123456789abcdef"
    meta_path.write_text(json.dumps(meta))
    _rejected(db.connect(tmp_path / "lb.sqlite"), runs[0], "another task spec")
