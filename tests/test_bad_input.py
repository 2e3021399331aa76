"""Bad input: one clear line naming file, task and field, before model work; runs untouched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def genrank(*args, env=None):
    return subprocess.run([sys.executable, "-m", "genrank.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})})


def one_line_error(res) -> str:
    assert res.returncode == 2, res.stderr
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


@pytest.fixture
def existing_run(tmp_path):
    """A run directory that must survive every failed command byte for byte."""
    run = tmp_path / "runs" / "m"
    (run / "records").mkdir(parents=True)
    (run / "metadata.json").write_text(json.dumps({"model": {"name": "m", "content_hash": "x"}}))
    (run / "records" / "t.parquet").write_bytes(b"precious")
    return run


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_missing_data_file(tmp_path, existing_run):
    before = snapshot(existing_run.parent)
    line = one_line_error(genrank("run", "--task", "scan_simple", "-o", str(existing_run.parent),
                                  env={"GENRANK_DATA": str(tmp_path / "empty")}))
    assert "task=scan_simple" in line and "field=source.path" in line
    assert "tasks_test_simple.txt" in line and "github.com/brendenlake/SCAN" in line
    assert snapshot(existing_run.parent) == before


def test_corrupt_data_file(tmp_path, existing_run, data_file):
    root = tmp_path / "data"
    (root / "cogs" / "data").mkdir(parents=True)
    shutil.copy(data_file("cogs/data/train.tsv"), root / "cogs" / "data" / "train.tsv")
    (root / "cogs" / "data" / "test.tsv").write_text("a sentence\tonly two columns\n")
    before = snapshot(existing_run.parent)
    line = one_line_error(genrank("run", "--task", "cogs_test", "-o", str(existing_run.parent),
                                  env={"GENRANK_DATA": str(root)}))
    assert "test.tsv" in line and "task=cogs_test" in line and "columns" in line
    assert snapshot(existing_run.parent) == before


def test_malformed_tasks_file(tmp_path):
    bad = tmp_path / "tasks.yaml"
    bad.write_text("tasks:\n  - name: x\n    suite: compositional\n    loader: scan_generated\n"
                   "    source: {split: simple}\n    prompt: p\n    verifier: nope\n")
    line = one_line_error(genrank("run", "--task", "x", env={"GENRANK_TASKS": str(bad)}))
    assert "unknown verifier 'nope'" in line and "task=x" in line and str(bad) in line


@pytest.mark.parametrize("make", ["no_config", "garbage_weights"])
def test_unreadable_checkpoint(tmp_path, existing_run, make):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    if make == "garbage_weights":
        (ckpt / "config.json").write_text(json.dumps({"model_type": "llama"}))
        (ckpt / "model.safetensors").write_bytes(b"\x00not safetensors")
    before = snapshot(existing_run.parent)
    line = one_line_error(genrank("run", "--model", str(ckpt), "--task", "scangen_simple",
                                  "--limit", "2", "-o", str(existing_run.parent)))
    assert str(ckpt) in line and "field=--model" in line
    assert snapshot(existing_run.parent) == before


def test_run_dir_of_another_model_is_not_overwritten(tiny_model_dir, existing_run, tmp_path):
    before = snapshot(existing_run.parent)
    out = tmp_path / "renamed"
    shutil.copytree(existing_run.parent, out)
    (out / tiny_model_dir.name).mkdir()
    shutil.copy(existing_run / "metadata.json", out / tiny_model_dir.name / "metadata.json")
    line = one_line_error(genrank("run", "--model", str(tiny_model_dir), "--task",
                                  "scangen_simple", "--limit", "2", "-o", str(out),
                                  env={"GENRANK_CACHE": str(tmp_path / "c")}))
    assert "another model" in line
    assert snapshot(existing_run.parent) == before
