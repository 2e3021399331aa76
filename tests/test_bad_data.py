"""Damaged data and predictions files: one ``error:`` line naming file, task and field, exit 2,
and the model is never loaded."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from genrank.cli import main

SCAN_LINE = "IN: jump twice OUT: I_JUMP I_JUMP\n"
JSONL_ROW = {"question": "What is 1 + 1?", "answer": "1 + 1 = 2\n#### 2"}


def _tasks_yaml(root: Path, loader: str, rel: str) -> Path:
    """A tasks file with one task reading ``rel`` under ``root`` with ``loader``."""
    if loader == "scan_lines":
        body = ("    loader: scan_lines\n    suite: compositional\n"
                "    prompt: '{{ input }}'\n    verifier: exact_match\n")
    else:
        body = ("    loader: easy2hard\n    suite: easy2hard\n"
                "    prompt: '{{ question }}'\n    verifier: math_answer\n")
    config = "" if loader == "scan_lines" else ", config: E2H-GSM8K"  # typed: scan has no config
    path = root / "tasks.yaml"
    path.write_text(f"tasks:\n  - name: broken\n    source: {{path: {rel}{config}}}\n{body}")
    return path


def _truncated_gzip(p: Path) -> None:
    data = gzip.compress((json.dumps(JSONL_ROW) + "\n").encode() * 200)
    p.write_bytes(data[: len(data) // 2])


def _truncated_parquet(p: Path) -> None:
    buf = io.BytesIO()
    pd.DataFrame([JSONL_ROW] * 50).to_parquet(buf)
    p.write_bytes(buf.getvalue()[:-40])


# case -> (loader, file name, how to make it, words the error must contain)
CASES = {
    "truncated gzip": ("easy2hard", "d.jsonl.gz", _truncated_gzip, "truncated or damaged gzip"),
    "not gzip": ("easy2hard", "d.jsonl.gz",
                 lambda p: p.write_text(json.dumps(JSONL_ROW) + "\n"), "not a gzip file"),
    "latin-1": ("scan_lines", "d.txt",
                lambda p: p.write_bytes("IN: saute OUT: I_SAUT\u00c9\n".encode("latin-1")),
                "not UTF-8"),
    "utf-16": ("scan_lines", "d.txt", lambda p: p.write_bytes(SCAN_LINE.encode("utf-16")),
               "UTF-16"),
    "random bytes": ("scan_lines", "d.txt",
                     lambda p: p.write_bytes(b"\xff" + random.Random(0).randbytes(4096)),
                     "not UTF-8"),
    "a directory": ("scan_lines", "d.txt", lambda p: p.mkdir(), "folder"),
    "truncated parquet": ("easy2hard", "d.parquet", _truncated_parquet, "malformed file"),
    "invalid json": ("easy2hard", "d.json", lambda p: p.write_text('[{"question": '),
                     "malformed file"),
    "invalid jsonl": ("easy2hard", "d.jsonl",
                      lambda p: p.write_text(json.dumps(JSONL_ROW) + "\n{not json\n"),
                      "malformed file"),
}


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if anything tries to load a model."""
    def refuse(*a, **k):
        raise AssertionError("the model was loaded for bad input")
    monkeypatch.setattr("harness.backends.load_backend", refuse)


@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_data_file(tmp_path, monkeypatch, capsys, no_model, case):
    loader, name, make, words = CASES[case]
    root = tmp_path / "data"
    root.mkdir()
    make(root / name)
    monkeypatch.setenv("GENRANK_DATA", str(root))
    monkeypatch.setenv("GENRANK_TASKS", str(_tasks_yaml(tmp_path, loader, name)))
    out = tmp_path / "runs"
    assert main(["run", "--task", "broken", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert words in err and f"file={root / name}" in err, err
    assert "task=broken" in err and "field=source.path" in err, err
    assert not out.exists() or not any(out.iterdir())


def _pcfg_spec():
    from harness.spec import load_specs

    return load_specs()["pcfgset_test"]


def test_prediction_field_over_csv_limit(tmp_path, capsys):
    pytest.importorskip("suites.compositional")
    preds = tmp_path / "run=1.txt"
    huge = "x" * (csv.field_size_limit() + 10)
    preds.write_text(f"source\ttarget\tprediction\na b\tc\t{huge}\n")
    assert main(["score", "--task", "pcfgset_test", "--predictions", str(preds),
                 "--model-name", "m", "-o", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert f"file={preds}" in err and "task=pcfgset_test" in err and "field=" in err, err
    assert "field larger than field limit" in err
    assert not (tmp_path / "runs").exists()


def test_truncated_gzip_predictions(tmp_path, capsys, data_file):
    src = data_file("pcfgset/model_predictions/transformer/systematicity/run=1.txt.gz")
    preds = tmp_path / "run=1.txt.gz"
    data = src.read_bytes()
    preds.write_bytes(data[: len(data) // 2])
    assert main(["score", "--task", "pcfgset_systematicity", "--predictions", str(preds),
                 "--model-name", "m", "-o", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "truncated or damaged gzip" in err and f"file={preds}" in err, err
    assert "task=pcfgset_systematicity" in err and "field=predictions" in err, err
    assert not (tmp_path / "runs").exists()
