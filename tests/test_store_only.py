"""Analysis from the run store alone: with tasks.yaml gone and no suite importable,
`genrank leaderboard`, `ingest`, `site` and `validity` give byte-identical outputs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harness.replay import score_predictions
from harness.spec import load_specs

ROOT = Path(__file__).resolve().parent.parent
#: run the CLI with every ``suites`` import failing (as if the families were not installed)
NO_SUITES = ("import sys; sys.modules['suites'] = None; from genrank.cli import main; "
             "sys.exit(main(sys.argv[1:]))")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, request):
    """Real replayed runs: HALoGEN code (a lower-is-better ratio metric, 14 models) and
    PCFG SET (accuracy, seeds)."""
    from tests.conftest import data_path

    out = tmp_path_factory.mktemp("store") / "runs"
    specs = load_specs()
    score_predictions(specs["halogen_code"], data_path("halogen/model_hallucinations/code"), out)
    for arch, seed in (("convs2s", 1), ("convs2s", 2), ("lstms2s", 1)):
        pred = data_path(f"pcfgset/model_predictions/{arch}/pcfgset/run={seed}.txt")
        score_predictions(specs["pcfgset_test"], pred, out, model_name=arch, seed=seed)
    return out


def genrank(out: Path, *args: str, store_only: bool) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "genrank.cli", *args]
    if store_only:
        env["GENRANK_TASKS"] = str(out / "no-tasks.yaml")  # tasks.yaml renamed away
        cmd = [sys.executable, "-c", NO_SUITES, *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]


def build(runs: Path, out: Path, *, store_only: bool) -> Path:
    out.mkdir()
    genrank(out, "leaderboard", str(runs), "-o", str(out / "leaderboard.csv"),
            store_only=store_only)
    genrank(out, "ingest", str(runs), "--db", str(out / "db.sqlite"), "--csv-dir",
            str(out / "csv"), "--site", str(out / "site"), store_only=store_only)
    genrank(out, "validity", str(runs), "-o", str(out / "validity"), "--n-boot", "20",
            "--n-sim", "20", "--skip", "stability,irt,labels", store_only=store_only)
    return out


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def db_rows(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows, without the wall-clock columns (ingested, first_seen)."""
    conn = sqlite3.connect(path)
    out = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")
                if r[1] not in ("ingested", "first_seen")]
        out[table] = sorted(conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall(),
                            key=repr)
    conn.close()
    return out


def test_analysis_needs_neither_tasks_yaml_nor_suites(runs, tmp_path):
    with_spec = build(runs, tmp_path / "with", store_only=False)
    store_only = build(runs, tmp_path / "without", store_only=True)
    a, b = with_spec / "leaderboard.csv", store_only / "leaderboard.csv"
    assert a.read_bytes() == b.read_bytes()
    # the halogen column is a real bootstrap interval from the stored per-item terms
    header, *rows = a.read_text().splitlines()
    assert "halogen_code:ci_method" in header and ",bootstrap," in rows[0] + rows[-1]
    assert files(with_spec / "csv") == files(store_only / "csv") != {}
    assert files(with_spec / "site") == files(store_only / "site") != {}
    assert db_rows(with_spec / "db.sqlite") == db_rows(store_only / "db.sqlite")
    assert (with_spec / "validity" / "summary.md").read_bytes() == \
        (store_only / "validity" / "summary.md").read_bytes()
