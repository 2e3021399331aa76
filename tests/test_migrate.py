"""Old runs keep working: a run directory written by genrank 0.1 (made here by that
version's own code) is read, and `genrank migrate` upgrades it after verifying it,
keeping every original file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from harness.errors import GenrankError
from harness.runstore import RunDir
from harness.spec import load_specs
from leaderboards import db
from leaderboards.leaderboard import build

ROOT = Path(__file__).resolve().parent.parent
#: genrank 0.1: the last commit before runs carried per-item metric terms
V01 = "56364db"


@pytest.fixture(scope="module")
def old_run(tmp_path_factory) -> Path:
    """A PCFG SET replay (published convs2s outputs, seed 1) scored by genrank 0.1."""
    from tests.conftest import data_path

    preds = data_path("pcfgset/model_predictions/convs2s/pcfgset/run=1.txt")
    base = tmp_path_factory.mktemp("v01")
    archive = base / "v01.tar"
    made = subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), V01],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"genrank 0.1 ({V01}) is not in this checkout's git history")
    with tarfile.open(archive) as tar:
        tar.extractall(base / "src", filter="data")
    env = {**os.environ, "PYTHONPATH": str(base / "src"), "OMP_NUM_THREADS": "1"}
    env.pop("GENRANK_TASKS", None)
    out = base / "runs"
    subprocess.run([sys.executable, "-m", "genrank.cli", "score", "--task", "pcfgset_test",
                    "--predictions", str(preds), "--model-name", "convs2s", "--seed", "1",
                    "-o", str(out)], cwd=base / "src", env=env, check=True,
                   capture_output=True)
    return out / "convs2s__seed1"


def snapshot(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def genrank(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genrank.cli", *args], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True)


def test_old_run_is_read_then_migrated_without_loss(old_run, tmp_path):
    import shutil

    run = tmp_path / "runs" / old_run.name
    shutil.copytree(old_run, run)
    original = snapshot(run)
    meta = json.loads((run / "metadata.json").read_text())
    assert "terms" not in meta["tasks"]["pcfgset_test"]  # really 0.1's format
    # read as it is: the accuracy column needs nothing new
    before = build([run]).set_index("model").loc["convs2s"]
    assert before["pcfgset_test:ci_method"] == "wilson"
    with pytest.raises(GenrankError, match="genrank migrate"):  # not verifiable yet
        db.ingest(tmp_path / "lb.sqlite", run)

    res = genrank("migrate", str(tmp_path / "runs"))
    assert res.returncode == 0 and "upgraded pcfgset_test" in res.stdout, res.stderr
    after = snapshot(run)
    # nothing lost: every original file is kept byte for byte; scores.json is untouched
    for rel in ("metadata.json", "records/pcfgset_test.parquet"):
        assert after[f".genrank-0.1/{rel}"] == original[rel]
    assert after["scores.json"] == original["scores.json"]
    spec = load_specs()["pcfgset_test"]
    tmeta = RunDir(run).read_metadata()["tasks"]["pcfgset_test"]
    assert tmeta["spec_hash"] == spec.spec_hash and tmeta["legacy_spec_hash"] != spec.spec_hash
    assert tmeta["runspec"]["items"]["n_evaluated"] == tmeta["n_items"] == 9721
    upgraded = build([run]).set_index("model").loc["convs2s"]
    assert upgraded["pcfgset_test:score"] == before["pcfgset_test:score"]
    assert db.ingest(tmp_path / "lb.sqlite", run).added == ["pcfgset_test"]
    again = genrank("migrate", str(run))
    assert again.returncode == 0 and "already current" in again.stdout
    assert snapshot(run) == after


def test_inconsistent_old_run_is_left_untouched(old_run, tmp_path):
    import shutil

    run = tmp_path / old_run.name
    shutil.copytree(old_run, run)
    scores = json.loads((run / "scores.json").read_text())
    scores["pcfgset_test"]["accuracy"] = 0.99  # claims more than its records give
    (run / "scores.json").write_text(json.dumps(scores))
    original = snapshot(run)
    res = genrank("migrate", str(run))
    assert res.returncode == 2 and "scores.json does not follow from the records" in res.stdout
    assert snapshot(run) == original
