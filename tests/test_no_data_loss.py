"""Nothing the user has is destroyed or corrupted: site folders, run directories under
concurrent writers, hostile model names, incomplete runs, output permissions."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from genrank.cli import main
from harness.runstore import RunDir
from leaderboards import db
from tests.test_db import TASK, make_run


def _db_with(tmp: Path, *names: str) -> Path:
    path = tmp / "lb.sqlite"
    conn = db.connect(path)
    for i, name in enumerate(names):
        db.ingest(conn, make_run(tmp / "runs", name, correct=10 + 5 * i))
    conn.close()
    return path


# -- site -----------------------------------------------------------------------------------

def test_site_refuses_a_folder_it_did_not_build(tmp_path, capsys):
    lb = _db_with(tmp_path, "alpha")
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"precious")
    assert main(["site", "-o", str(mine), "--db", str(lb)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: refusing to replace") and "\n" not in err
    assert f"file={mine}" in err
    assert sorted(p.name for p in mine.iterdir()) == ["holiday.jpg"]
    assert (mine / "holiday.jpg").read_bytes() == b"precious"
    # a file in the way is refused too
    assert main(["site", "-o", str(mine / "holiday.jpg"), "--db", str(lb)]) == 2
    assert (mine / "holiday.jpg").read_bytes() == b"precious"


def test_site_replaces_its_own_build_and_is_readable(tmp_path):
    lb = _db_with(tmp_path, "alpha", "beta")
    site, csvs = tmp_path / "site", tmp_path / "csv"
    os.umask(0o022)
    assert main(["site", "-o", str(site), "--db", str(lb), "--csv-dir", str(csvs)]) == 0
    first = (site / "index.html").read_bytes()
    assert main(["site", "-o", str(site), "--db", str(lb)]) == 0  # its own build: replaced
    assert (site / "index.html").read_bytes() == first
    for p in [site, *site.rglob("*"), csvs, *csvs.iterdir()]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["site", "-o", str(empty), "--db", str(lb)]) == 0  # an empty folder is fine


def test_site_build_clears_what_a_killed_build_left(tmp_path):
    lb = _db_with(tmp_path, "alpha")
    half = tmp_path / ".site-abcd1234"  # a build killed while rendering
    (half / "models").mkdir(parents=True)
    (half / "index.html").write_text("half")
    swapped = tmp_path / ".site.old-abcd1234"  # killed between the two renames
    swapped.mkdir()
    (swapped / ".genrank-site").write_text("{}")
    users = tmp_path / ".site-zzzz9999"  # same shape of name, but not ours
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    assert main(["site", "-o", str(tmp_path / "site"), "--db", str(lb)]) == 0
    assert not half.exists() and not swapped.exists()
    assert (users / "notes.txt").read_text() == "mine"


def test_run_directory_files_are_readable(tmp_path):
    os.umask(0o022)
    run = make_run(tmp_path / "runs", "alpha", correct=3)
    for p in run.rglob("*"):
        if p.is_file():
            assert stat.S_IMODE(p.stat().st_mode) == 0o644, p


def test_hostile_model_names_on_site(tmp_path):
    long = "m" * 250
    bidi = "evil\u202egnp.exe\u0007\u200f"
    lb = _db_with(tmp_path, long, bidi, "../../escape")
    assert all(len(p.name) <= 100 for p in (tmp_path / "runs").iterdir())
    assert sorted(p.parent for p in (tmp_path / "runs").rglob("metadata.json")) == \
        sorted((tmp_path / "runs").iterdir())  # every run stays inside the runs folder
    site = tmp_path / "site"
    assert main(["site", "-o", str(site), "--db", str(lb)]) == 0
    assert main(["ingest", str(tmp_path / "runs"), "--db", str(lb), "--site", str(site)]) == 0
    pages = [p.read_text() for p in site.rglob("*.html")]
    assert not any(c in page for page in pages for c in "\u202e\u200f\u0007")
    assert any("evilgnp.exe" in page for page in pages)
    conn = db.connect(lb, create=False)  # the full names are kept as data
    names = {r[0] for r in conn.execute("SELECT name FROM models")}
    assert {long, bidi, "../../escape"} <= names


@pytest.mark.parametrize("flag", ["--name", "--model-name"])
@pytest.mark.parametrize("name", ["..", ".", " "])
def test_dot_names_refused(tmp_path, capsys, flag, name, data_file):
    if flag == "--name":
        argv = ["run", "--task", TASK, "--limit", "2", "--name", name]
    else:
        preds = data_file("pcfgset/model_predictions/transformer/pcfgset/run=1.txt")
        argv = ["score", "--task", "pcfgset_test", "--predictions", str(preds),
                "--model-name", name]
    out = tmp_path / "a" / "runs"
    assert main([*argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not a usable model name" in err and flag in err
    assert not (tmp_path / "a").exists()


# -- ingest ---------------------------------------------------------------------------------

def test_ingest_skips_incomplete_runs_and_goes_on(tmp_path, capsys):
    make_run(tmp_path / "runs", "alpha", correct=12)
    failed = tmp_path / "runs" / "aaa-failed"  # sorts first: ingest must not stop there
    failed.mkdir()
    (failed / "metadata.json").write_text('{"model": {"name": "x", "content_hash": "y"}, '
                                          '"tasks": {}}')
    lb = tmp_path / "lb.sqlite"
    assert main(["ingest", str(tmp_path / "runs"), "--db", str(lb), "--no-site"]) == 0
    out, err = capsys.readouterr()
    assert f"skipped {failed}: incomplete run" in err and "ingested" in out
    assert db.counts(db.connect(lb, create=False))["scores"] == 1


def test_ingest_initialises_a_database_left_empty_by_a_kill(tmp_path, capsys):
    """A first ingest killed inside sqlite's open leaves an SQLite file with no tables (found
    by benchmarks/kill_resume.py --by-state); the next ingest must initialise it, not refuse."""
    import sqlite3

    make_run(tmp_path / "runs", "alpha", correct=12)
    lb = tmp_path / "lb.sqlite"
    conn = sqlite3.connect(lb)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    assert lb.stat().st_size > 0
    assert main(["ingest", str(tmp_path / "runs"), "--db", str(lb), "--no-site"]) == 0
    assert db.counts(db.connect(lb, create=False))["scores"] == 1


# -- one writer per run directory -------------------------------------------------------------

def _finish_many(args) -> None:
    """A separate process finishing tasks t<k> into one run directory (direct race)."""
    root, worker, n, start_at = args
    os.chdir(root)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import pandas as pd

    import dataclasses

    from harness import registry
    from harness.runs import finish_task, open_run
    from harness.spec import load_specs

    spec = load_specs()[TASK]
    registry.import_suite(spec.suite)
    run = open_run(Path(root) / "run", {"name": "m", "content_hash": "h"}, backend={})
    import time

    time.sleep(max(0.0, start_at - time.time()))  # both processes race from the same moment
    for k in range(n):
        s = dataclasses.replace(spec, name=f"t{worker}_{k}")
        finish_task(run, s, pd.DataFrame({"task": [s.name], "item_id": ["a"], "prompt": ["p"],
                                          "prediction": ["x"], "target": ["x"], "score": [1.0],
                                          "extracted": ["x"], "difficulty": [None], "meta": [{}],
                                          "detail": [{}], "prompt_hash": ["-"],
                                          "prediction_hash": ["-"], "target_hash": ["-"],
                                          "spec_hash": [s.spec_hash]}), {})


def test_concurrent_writers_lose_no_entry(tmp_path):
    import time

    n = 30
    open_run_first = RunDir(tmp_path / "run")
    start_at = time.time() + 20
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_finish_many, [(str(tmp_path), w, n, start_at) for w in range(2)])
    want = {f"t{w}_{k}" for w in range(2) for k in range(n)}
    assert set(open_run_first.read_scores()) == want
    assert set(open_run_first.read_metadata()["tasks"]) == want
    assert not [p for p in (tmp_path / "run").rglob(".*") if p.name != ".lock"]  # no temp left


def test_second_writer_fails_fast(tmp_path):
    run = RunDir(tmp_path / "run")
    code = ("import sys; from harness.runstore import RunDir; from harness.errors import "
            "GenrankError\ntry:\n    RunDir(sys.argv[1]).locked().__enter__()\nexcept "
            "GenrankError as e:\n    print(e.line()); sys.exit(2)")
    with run.locked():
        res = subprocess.run([sys.executable, "-c", code, str(run.path)], capture_output=True,
                             text=True, timeout=60,
                             cwd=Path(__file__).resolve().parent.parent)
    assert res.returncode == 2 and "another genrank process is writing" in res.stdout
    res = subprocess.run([sys.executable, "-c", code, str(run.path)], capture_output=True,
                         text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent)
    assert res.returncode == 0, res.stdout + res.stderr  # released: the next one proceeds
