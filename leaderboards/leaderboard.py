"""The leaderboard: one row per model, one column group per task, ranks and win rates.

Seeds of the same model (same name and variant) are averaged; intervals resample
items (Wilson for a single run's binary scores, percentile bootstrap otherwise),
and each task says which in its ``:ci_method`` column; ``:metric`` and ``:higher_is_better``
name what the score measures and which way is better. A task scored under two
spec versions gets one column group per version, never a silent mix; and a partial run
(``--limit``: a subset of the items) or one decoded with other settings than the task
declares (``--max-new-tokens``, ``--gen-kwargs``) gets a column of its own, shared only with
runs on the same items and settings (``task~8items-3f2a1c``, ``task~gen-9b01de``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from harness.errors import GenrankError
from harness.types import stable_hash
from leaderboards.ci import bootstrap_ratio, interval
from leaderboards.runs import find_runs


def model_label(meta: dict) -> str:
    name = meta["model"]["name"]
    return f"{name}/{meta['variant']}" if meta.get("variant") else name


def collect(paths: Iterable[str | Path]):
    """Per (column key, model): the runs' metadata, scores and records paths."""
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    hashes: dict[str, set[str]] = defaultdict(set)
    for run in find_runs(paths):
        meta = run.read_metadata()
        scores = run.read_scores()
        for task, tmeta in meta.get("tasks", {}).items():
            if task not in scores:
                continue
            hashes[task].add(tmeta.get("spec_hash"))
            cells[(task, model_label(meta))].append(
                {"run": run, "task": task, "tmeta": tmeta, "scores": scores[task]})
    return cells, hashes


#: decoding settings that change what a generation task measures (the seed does not:
#: seeds of one model are averaged into one cell)
DECODING = ("max_new_tokens", "temperature", "top_p", "stop")


def version_key(tmeta: dict) -> str:
    """What makes two runs of a task comparable: the task version (``spec_hash``), and for a
    run on a subset of the items or decoded otherwise than declared, which items and which
    settings (``<spec_hash>~<n>items-<digest6>~gen-<hash6>``). Equal keys share a column."""
    spec_hash = str(tmeta.get("spec_hash") or "")
    runspec = tmeta.get("runspec") or {}
    items = runspec.get("items") or {}
    parts = [spec_hash]
    n_evaluated, n_dataset = items.get("n_evaluated"), items.get("n_dataset")
    if n_evaluated is not None and n_dataset is not None and n_evaluated < n_dataset:
        parts.append(f"{n_evaluated}items-{str(items.get('evaluated_digest', ''))[:6]}")
    evaluation = runspec.get("evaluation") or {}
    declared, used = evaluation.get("generation"), tmeta.get("generation")
    if evaluation.get("output_type", "generate") == "generate" and declared and used:
        pick = {k: used.get(k) for k in DECODING}
        if pick != {k: declared.get(k) for k in DECODING}:
            parts.append(f"gen-{stable_hash(pick)[:6]}")
    return "~".join(parts)


def column_task(key: str) -> str:
    """The task a column key belongs to (``task@hash8~variant`` -> ``task``)."""
    return key.split("~", 1)[0].split("@", 1)[0]


def is_partial(key: str) -> bool:
    """A column (or version key) of runs on a subset of the items or other settings."""
    return "~" in key


def column_key(task: str, version: str, n_versions: int) -> str:
    """A task's column name: ``task``, or ``task@<hash8>`` when several spec versions exist;
    a partial run's variant (see ``version_key``) follows after ``~``."""
    spec_hash, _, variant = version.partition("~")
    base = task if n_versions == 1 else f"{task}@{spec_hash[:8]}"
    return f"{base}~{variant}" if variant else base


def row_columns(rows: list[dict]) -> list[str]:
    """The column key of each database row (``name``, ``spec_hash`` = its version key): spec
    versions are counted per task; a partial run's variant is not another version."""
    versions: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        versions[r["name"]].add(r["spec_hash"].partition("~")[0])
    return [column_key(r["name"], r["spec_hash"], len(versions[r["name"]])) for r in rows]


def column_cells(cells: dict[tuple[str, str], list[dict]], hashes: dict[str, set[str]],
                 confidence: float = 0.95, n_boot: int = 1000, seed: int = 0
                 ) -> tuple[dict[str, dict[str, dict]], dict[str, bool]]:
    """Per column key, each model's cell (score, interval...); and each key's direction."""
    per_key: dict[str, dict[str, dict]] = defaultdict(dict)
    direction: dict[str, bool] = {}
    for (task, model), entries in sorted(cells.items()):
        by_version = defaultdict(list)
        for e in entries:
            by_version[version_key(e["tmeta"])].append(e)
        for version, group in by_version.items():
            key = column_key(task, version, len(hashes[task]))
            primary = group[0]["tmeta"].get("primary_metric", "accuracy")
            direction[key] = bool(group[0]["tmeta"].get("lower_is_better"))
            per_key[key][model] = cell(group, primary, version, confidence, n_boot, seed)
    return per_key, direction


def build(paths: Iterable[str | Path], confidence: float = 0.95, n_boot: int = 1000,
          seed: int = 0) -> pd.DataFrame:
    cells, hashes = collect(paths)
    if not cells:
        raise GenrankError("the runs hold no scored tasks", field="RUN_DIR")
    return assemble(*column_cells(cells, hashes, confidence, n_boot, seed))


def assemble(per_key: dict[str, dict[str, dict]], direction: dict[str, bool]) -> pd.DataFrame:
    """The wide table (ranks, win rates) from finished cells; shared with the database export."""
    models = sorted({m for cols in per_key.values() for m in cols})
    columns: dict[str, pd.Series] = {}  # built at once: no fragmented frame, no pandas warnings
    ranks, wins = {}, {}
    for key in sorted(per_key):
        cols = per_key[key]
        # what the score measures and which way is better, on every row (a CSV is read alone)
        metric = next((c["metric"] for c in cols.values() if c.get("metric")), "")
        columns[f"{key}:metric"] = pd.Series({m: metric for m in cols}, dtype=object)
        columns[f"{key}:higher_is_better"] = pd.Series({m: not direction[key] for m in cols},
                                                       dtype=object)
        for field in ("score", "ci_low", "ci_high", "ci_method", "n_items", "n_seeds"):
            columns[f"{key}:{field}"] = pd.Series({m: c[field] for m, c in cols.items()})
        score = columns[f"{key}:score"].astype(float)
        signed = -score if direction[key] else score
        ranks[key] = signed.rank(ascending=False, method="min")
        columns[f"{key}:rank"] = ranks[key]
        wins[key] = win_rate(signed)
        for extra in sorted({k for c in cols.values() for k in c["extra"]}):
            columns[f"{key}:{extra}"] = pd.Series({m: c["extra"].get(extra)
                                                   for m, c in cols.items()})
    table = pd.DataFrame({k: v.reindex(models) for k, v in columns.items()},
                         index=pd.Index(models, name="model"))
    summary = shared_task_summary(pd.DataFrame(ranks).reindex(models),
                                  pd.DataFrame(wins).reindex(models))
    for i, col in enumerate(summary.columns):
        table.insert(i, col, summary[col])
    table = table.sort_values(["fewer_shared_tasks", "mean_win_rate", "mean_rank"],
                              ascending=[True, False, True])
    return table.reset_index()


SUMMARY_COLUMNS = ["n_tasks", "n_shared_tasks", "fewer_shared_tasks", "mean_rank",
                   "mean_win_rate"]


def shared_task_summary(ranks: pd.DataFrame, wins: pd.DataFrame) -> pd.DataFrame:
    """Mean rank and win rate over the tasks each model shares with at least one other model.

    A task only one model ran ranks nobody, so it never counts (it used to give a lone model
    mean rank 1.00). Models whose shared tasks are fewer than the most any model has are
    flagged in ``fewer_shared_tasks``: their means rest on a different, smaller comparison.
    """
    scored = ranks.notna()
    shared = scored & (scored.sum(axis=0) >= 2)
    n_shared = shared.sum(axis=1)
    out = pd.DataFrame({"n_tasks": scored.sum(axis=1), "n_shared_tasks": n_shared},
                       index=ranks.index)
    out["fewer_shared_tasks"] = n_shared < (n_shared.max() if len(n_shared) else 0)
    out["mean_rank"] = ranks.where(shared).mean(axis=1)
    out["mean_win_rate"] = wins.where(shared).mean(axis=1)
    return out[SUMMARY_COLUMNS]


def win_rate(signed: pd.Series) -> pd.Series:
    """Share of the other models (with a score) each model beats outright; ties count 0."""
    vals = signed.dropna()
    n = len(vals)
    if n < 2:
        return pd.Series(np.nan, index=signed.index)
    v = vals.to_numpy()
    beats = (v[:, None] > v[None, :]).sum(axis=1) / (n - 1)
    return pd.Series(beats, index=vals.index).reindex(signed.index)


def cell(group: list[dict], primary: str, spec_hash: str, confidence: float, n_boot: int,
         seed: int) -> dict:
    """One model's cell for one task version: seeds' mean, item-resampled interval, extras.

    Everything comes from the run store: the item scores, or for any other primary
    metric the per-item terms the records carry (no tasks.yaml, no suite code)."""
    values = [float(e["scores"].get(primary, math.nan)) for e in group]
    if primary == "accuracy":
        records = [e["run"].read_records(e["task"], columns=["item_id", "score"]) for e in group]
        n_items = len(records[0])
    if primary == "accuracy" and len({len(r) for r in records}) == 1:
        aligned = [r.set_index("item_id")["score"] for r in records]
        matrix = np.vstack([a.reindex(aligned[0].index).to_numpy() for a in aligned])
        lo, hi, method = interval(matrix, confidence, n_boot, seed)
    else:
        terms = [e["run"].read_terms(e["task"]) for e in group]
        parts = [t.figure(primary) if t is not None else None for t in terms]
        n_items = group[0]["run"].count_records(group[0]["task"])
        if any(p is None for p in parts):
            lo, hi, method = math.nan, math.nan, "none (no per-item terms: run genrank migrate)"
        else:
            lo, hi = bootstrap_ratio([(p[0], p[1]) for p in parts], confidence,
                                     min(n_boot, 100), seed, reducer=parts[0][2])
            method = "bootstrap"
    extra_keys = set().union(*(e["scores"] for e in group)) - {primary, "n_items"}
    extra = {k: _nanmean([e["scores"].get(k, math.nan) for e in group]) for k in extra_keys}
    return {"score": float(np.mean(values)), "ci_low": lo, "ci_high": hi, "ci_method": method,
            "n_items": n_items, "n_seeds": len(group), "extra": extra, "metric": primary}


def _nanmean(values: list[float]) -> float:
    """The mean of the defined values; NaN (no warning) when none is defined."""
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if len(arr) else math.nan


def write(table: pd.DataFrame, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.6g")
    return out
