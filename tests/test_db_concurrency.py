"""Eight processes submitting to one database at once lose nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from leaderboards import db
from tests.test_db import TASK, make_run

ROOT = Path(__file__).resolve().parent.parent
N_PROC, N_MODELS, SEEDS = 8, 8, (1, 2, 3)

WORKER = """
import json, sys, time
from leaderboards import db
start = float(sys.argv[2])
while time.time() < start:   # every process starts ingesting at the same moment
    time.sleep(0.005)
out = []
for run in sys.argv[3:]:
    t = time.perf_counter()
    res = db.ingest(sys.argv[1], run)
    out.append({"run": run, "added": res.added, "lock_wait_s": res.lock_wait_s,
                "recomputed": res.recomputed,
                "seconds": time.perf_counter() - t})
print(json.dumps(out))
"""


@pytest.mark.slow
def test_eight_concurrent_submitters_lose_nothing(tmp_path):
    runs = {(m, s): make_run(tmp_path / "runs", f"model{m}", correct=3 + 3 * m + s, seed=s)
            for m in range(N_MODELS) for s in SEEDS}
    # process p ingests model p seed 1, model p+1 seed 2, model p+2 seed 3: every model's
    # seeds (one leaderboard cell) arrive from three different processes at once
    plan = [[runs[((p + i) % N_MODELS, s)] for i, s in enumerate(SEEDS)] for p in range(N_PROC)]
    path = tmp_path / "lb.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.time() + 15  # time for every interpreter to import pandas first
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(start),
                               *map(str, runs_)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for runs_ in plan]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        results.extend(json.loads(out.strip().splitlines()[-1]))
    wall = time.time() - start

    conn = db.connect(path)
    assert db.counts(conn) == {"models": N_MODELS, "runs": N_MODELS * len(SEEDS), "tasks": 1,
                               "scores": N_MODELS * len(SEEDS), "cells": N_MODELS}
    assert sorted(r["run"] for r in results) == sorted(str(r.resolve()) for r in runs.values())
    assert all(r["added"] == [TASK] for r in results)
    cells = pd.read_sql("SELECT label, score, n_seeds FROM cells", conn).set_index("label")
    for m in range(N_MODELS):  # each cell averages all three seeds, whoever wrote last
        assert cells.loc[f"model{m}", "n_seeds"] == 3
        assert cells.loc[f"model{m}", "score"] == pytest.approx(
            sum(3 + 3 * m + s for s in SEEDS) / 3 / 30)
    assert all(db.check_regeneration(conn).values())
    waits = sorted(r["lock_wait_s"] for r in results)
    print(f"\nconcurrency: {N_PROC} processes, {len(results)} runs ingested in {wall:.1f}s; "
          f"lock wait median {waits[len(waits) // 2]:.3f}s, max {waits[-1]:.3f}s; "
          f"per-run ingest max {max(r['seconds'] for r in results):.2f}s; cells recomputed under "
          f"the lock after a concurrent change: {sum(r['recomputed'] for r in results)}")
