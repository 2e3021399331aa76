"""The replay path: score outputs that already exist (published model generations).

A task's prediction reader turns a file into rows (item_id or source, prediction,
and optionally model / variant / seed / evidence); every row is matched to the
task's items and checked before anything is written, then each (model, variant,
seed) group becomes a run directory in the same format as ``genrank run``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from harness import registry
from harness.data import reading
from harness.errors import GenrankError
from harness.items import load_items
from harness.runs import finish_task, open_run, run_name
from harness.runspec import resolved
from harness.runstore import RunDir, make_records
from harness.spec import TaskSpec
from harness.types import Item, stable_hash

GROUP_KEYS = ("model", "variant", "seed")


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                h.update(p.relative_to(path).as_posix().encode())
                h.update(p.read_bytes())
    else:
        h.update(path.read_bytes())
    return h.hexdigest()


def read_predictions(spec: TaskSpec, path: Path) -> pd.DataFrame:
    name = spec.predictions.get("reader")
    if not name:
        raise GenrankError("the task declares no predictions reader", file=spec.file,
                           task=spec.name, field="predictions.reader")
    reader = registry.lookup(registry.PREDICTION_READERS, "predictions reader", name,
                             task=spec.name, file=spec.file)
    if not path.exists():
        raise GenrankError("predictions file not found", file=str(path), task=spec.name)
    with reading(spec, "predictions", path):  # a damaged file: one line, not a traceback
        frame = reader(path, spec)
    if "prediction" not in frame.columns or not ({"item_id", "source"} & set(frame.columns)):
        raise GenrankError("predictions need a 'prediction' and an 'item_id' or 'source' column",
                           file=str(path), task=spec.name, field="columns")
    if frame.empty:
        raise GenrankError("the predictions hold no rows", file=str(path), task=spec.name)
    return frame


def match_items(spec: TaskSpec, rows: pd.DataFrame, items: list[Item], path: Path) -> list[Item]:
    """The item each row predicts; every item exactly once, else one clear error."""
    if "item_id" in rows.columns:
        by_id = {it.id: it for it in items}
        ids = rows["item_id"].astype(str).tolist()
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise GenrankError(f"{len(unknown)} rows name unknown items, e.g. {unknown[0]!r}",
                               file=str(path), task=spec.name, field="item_id")
        matched = [by_id[i] for i in ids]
    else:
        queue: dict[str, list[Item]] = defaultdict(list)
        for it in items:
            queue[str(it.fields.get("input", "")).strip()].append(it)
        matched = []
        for n, src in enumerate(rows["source"].astype(str)):
            bucket = queue.get(src.strip())
            if not bucket:
                raise GenrankError(f"row {n + 1}: source matches no item of the task",
                                   file=str(path), task=spec.name, field="source")
            matched.append(bucket.pop(0))
    seen = {it.id for it in matched}
    if len(seen) != len(matched):
        raise GenrankError("some items are predicted more than once", file=str(path),
                           task=spec.name, field="item_id")
    # a published method may score a declared subset (e.g. ReaLMistake's self-consistency)
    if len(seen) != len(items) and not partial_allowed(spec, rows):
        raise GenrankError(f"predictions cover {len(seen)} of the task's {len(items)} items",
                           file=str(path), task=spec.name, field="item_id")
    if "target" in rows.columns:
        for n, (t, it) in enumerate(zip(rows["target"].astype(str), matched)):
            if t.strip() != it.target.strip():
                raise GenrankError(f"row {n + 1}: target differs from the task's data",
                                   file=str(path), task=spec.name, field="target")
    return matched


def partial_allowed(spec: TaskSpec, rows: pd.DataFrame) -> bool:
    """``predictions.partial``: true (any run may cover a subset of the items), or a
    list of variants (or their part before '/', e.g. a method) whose runs may."""
    partial = spec.predictions.get("partial")
    if not isinstance(partial, (list, tuple)):
        return bool(partial)
    if "variant" not in rows.columns or rows.empty:
        return False
    variant = str(rows["variant"].iloc[0])
    return variant in partial or variant.split("/")[0] in partial


def _groups(frame: pd.DataFrame, model_name: str | None, seed: int | None):
    frame = frame.copy()
    if model_name is not None:
        frame["model"] = model_name
    if "model" not in frame.columns:
        raise GenrankError("name the model with --model-name", field="--model-name")
    if seed is not None:
        frame["seed"] = seed
    keys = [k for k in GROUP_KEYS if k in frame.columns]
    for key, rows in frame.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        yield dict(zip(keys, key)), rows


def prediction_files(spec: TaskSpec, path: str | Path, seed: int | None = None
                     ) -> list[tuple[Path, int | None]]:
    """The predictions files a path stands for, each with its seed.

    A file stands for itself. A folder stands for itself when the task's reader reads whole
    trees; when the task declares ``predictions.files`` (a regex over file names, with an
    optional ``seed`` group, e.g. ``run=(?P<seed>\\d+)\\.txt``), it stands for every matching
    file inside it, one run per file."""
    path = Path(path)
    pattern = (spec.predictions or {}).get("files")
    if not path.is_dir() or not pattern:
        return [(path, seed)]
    rx = re.compile(pattern)
    found = []
    for f in sorted(path.rglob("*")):
        m = rx.search(f.name) if f.is_file() else None
        if m:
            got = m.groupdict().get("seed")
            found.append((f, seed if seed is not None or got is None else int(got)))
    if not found:
        raise GenrankError(f"no file in the folder matches the task's pattern {pattern!r}",
                           file=str(path), task=spec.name, field="predictions.files")
    return found


def rows_for_items(spec: TaskSpec, frame: pd.DataFrame, items: list[Item]) -> pd.DataFrame:
    """The rows that predict these items (the first N of a task under ``--limit``): by item
    id, else by input text, each input as often as the items carry it."""
    if "item_id" in frame.columns:
        return frame[frame["item_id"].astype(str).isin({it.id for it in items})]
    left = Counter(str(it.fields.get("input", "")).strip() for it in items)
    keep = []
    for src in frame["source"].astype(str).str.strip():
        keep.append(left[src] > 0)
        left[src] -= keep[-1]
    return frame[keep]


def holds_more(run: RunDir, spec: TaskSpec, source_hash: str, items: list[Item]) -> bool:
    """True when the run already holds these items and more, scored from the same file
    under the same task version: a smaller ``--limit`` never shrinks a recorded result."""
    tmeta = run.read_metadata().get("tasks", {}).get(spec.name) or {}
    if (tmeta.get("spec_hash") != spec.spec_hash or tmeta.get("predictions_sha256") != source_hash
            or int(tmeta.get("n_items", 0)) <= len(items)):
        return False
    held = set(run.read_records(spec.name, columns=["item_id"])["item_id"].astype(str))
    return {it.id for it in items} <= held


def replayed_records(spec: TaskSpec, verifier, rows: pd.DataFrame,
                     matched: list[Item]) -> pd.DataFrame:
    """The per-item records of one system's published predictions, scored by the verifier."""
    preds = ["" if p is None or (isinstance(p, float) and math.isnan(p)) else str(p)
             for p in rows["prediction"].tolist()]
    evidence = rows["evidence"].tolist() if "evidence" in rows.columns else None
    prompts = (rows["source"].astype(str).tolist() if "source" in rows.columns
               else [str(it.fields.get("input", "")) for it in matched])
    scores = verifier.score_many(preds, matched, evidence)
    return make_records(spec.name, spec.spec_hash, matched, prompts, preds, scores)


def score_predictions(spec: TaskSpec, path: str | Path, out_dir: str | Path = "runs", *,
                      model_name: str | None = None, seed: int | None = None,
                      progress: bool = False, limit: int | None = None) -> list[RunDir]:
    """Score a predictions file for one task; one run directory per (model, variant, seed).
    With ``limit``, only the task's first ``limit`` items (as `genrank run --limit` does)."""
    path = Path(path)
    items = load_items(spec, limit)
    frame = read_predictions(spec, path)
    if limit is not None:
        frame = rows_for_items(spec, frame, items)
    groups = [(g, rows, match_items(spec, rows, items, path))
              for g, rows in _groups(frame, model_name, seed)]  # all checked before writing
    verifier = registry.make_verifier(spec)
    source_hash = file_hash(path)
    runs = []
    for g, rows, matched in groups:
        seed_v = None if pd.isna(g.get("seed", None)) else int(g["seed"])
        variant = None if pd.isna(g.get("variant", None)) else str(g["variant"])
        name = str(g["model"])
        model = {"name": name, "content_hash": stable_hash({"replay": name})[:16],
                 "path": None}
        run_path = Path(out_dir) / run_name(name, variant, seed_v)
        with RunDir(run_path).locked():
            run = open_run(run_path, model, backend={"name": "replay"}, seed=seed_v,
                           variant=variant)
            if not holds_more(run, spec, source_hash, matched):  # else nothing to score
                finish_task(run, spec, replayed_records(spec, verifier, rows, matched), {
                    "predictions_file": str(path), "predictions_sha256": source_hash,
                    "verifier": verifier.describe(), "limit": len(matched),
                    "runspec": resolved(spec, [(it.id, it.target) for it in matched],
                                        spec.generation,
                                        {"kind": "replay", "predictions_sha256": source_hash})})
        runs.append(run)
    return runs
