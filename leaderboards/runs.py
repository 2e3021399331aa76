"""Reading many run directories into tidy frames for leaderboards and validity analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from harness.errors import GenrankError
from harness.runstore import RunDir


def find_runs(paths: Iterable[str | Path]) -> list[RunDir]:
    """Run directories named directly, or found (recursively) under the folders named."""
    runs: list[RunDir] = []
    for p in map(Path, paths):
        if (p / "metadata.json").exists():
            runs.append(RunDir(p))
        elif p.is_dir():
            runs.extend(RunDir(m.parent) for m in sorted(p.rglob("metadata.json")))
        else:
            raise GenrankError("not a run directory or a folder of runs", file=str(p))
    if not runs:
        raise GenrankError("no run directories found", file=", ".join(map(str, paths)))
    return runs


def _identity(run: RunDir) -> dict:
    meta = run.read_metadata()
    return {"model": meta["model"]["name"], "variant": meta.get("variant"),
            "seed": meta.get("seed"), "run": str(run.path), "_meta": meta}


def load_scores(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Long frame: model, variant, seed, run, task, spec_hash, metric, value (one row each)."""
    rows = []
    for run in find_runs(paths):
        ident = _identity(run)
        meta = ident.pop("_meta")
        for task, metrics in run.read_scores().items():
            tmeta = meta.get("tasks", {}).get(task, {})
            for metric, value in metrics.items():
                rows.append({**ident, "task": task, "spec_hash": tmeta.get("spec_hash"),
                             "metric": metric, "value": value})
    return pd.DataFrame(rows, columns=["model", "variant", "seed", "run", "task", "spec_hash",
                                       "metric", "value"])


def load_items(paths: Iterable[str | Path], tasks: list[str] | None = None,
               columns: list[str] | None = None) -> pd.DataFrame:
    """Long frame of item scores: model, variant, seed, run, task, item_id, score, difficulty.

    ``columns`` adds record columns (e.g. ``prediction``, ``extracted``, ``target``), for analyses
    that need the answers and not only their scores, such as label-error screening.
    """
    extra = [c for c in (columns or []) if c not in ("item_id", "score", "difficulty",
                                                      "spec_hash")]
    frames = []
    for run in find_runs(paths):
        ident = _identity(run)
        ident.pop("_meta")
        for task in run.tasks():
            if tasks and task not in tasks:
                continue
            df = pd.read_parquet(run.records_path(task),
                                 columns=["item_id", "score", "difficulty", "spec_hash", *extra])
            frames.append(df.assign(task=task, **ident))
    cols = ["model", "variant", "seed", "run", "task", "item_id", "score", "difficulty",
            "spec_hash", *extra]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def task_directions(paths: Iterable[str | Path]) -> dict[str, tuple[str, bool]]:
    """task -> (primary metric, lower_is_better), as recorded in the runs' metadata."""
    out: dict[str, tuple[str, bool]] = {}
    for run in find_runs(paths):
        for task, t in run.read_metadata().get("tasks", {}).items():
            out[task] = (t.get("primary_metric", "accuracy"), bool(t.get("lower_is_better")))
    return out
