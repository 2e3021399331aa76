"""Upgrading run directories written by genrank 0.1 (no per-item metric terms, task
version = hash of the whole YAML entry) to today's format, without losing anything.

Each task is verified before anything is rewritten: tasks.yaml must still declare the
version the run was scored under, the records' items must be the task's items with the
same targets, and the metrics recomputed from the records must equal scores.json. Every
file that is rewritten is first copied, byte for byte, under ``<run>/.genrank-0.1/``.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import registry
from harness.errors import GenrankError
from harness.items import load_items, render_prompts
from harness.runs import compute_metrics
from harness.runspec import resolved, undocumented
from harness.runstore import RUN_FORMAT, RunDir, short_hash, write_json
from harness.spec import TaskSpec
from harness.terms import declared, disagreement, item_terms

BACKUP = ".genrank-0.1"


@dataclass
class MigrateResult:
    run: str
    upgraded: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)


def legacy_tasks(run: RunDir) -> list[str]:
    """Tasks of the run still in 0.1's format (no per-item metric terms)."""
    return sorted(t for t, m in run.read_metadata().get("tasks", {}).items() if "terms" not in m)


def _spec_for(specs: dict[str, TaskSpec], task: str, tmeta: dict, run: RunDir) -> TaskSpec:
    """The declared task the run's records were scored under: the same 0.1 version hash,
    or (tasks.yaml edited since, e.g. a description) the same verifier, few-shot, primary
    metric and, for generated runs, the very prompts."""
    where = str(run.path)
    spec = specs.get(task)
    if spec is None:
        raise GenrankError("tasks.yaml no longer declares the task; it cannot be verified",
                           file=where, task=task)
    if spec.legacy_hash == tmeta.get("spec_hash"):
        return spec
    registry.import_suite(spec.suite)
    checks = {
        "verifier": (tmeta.get("verifier"), registry.make_verifier(spec).describe()),
        "primary metric": ((tmeta.get("primary_metric"), bool(tmeta.get("lower_is_better"))),
                           (spec.primary_metric, spec.lower_is_better))}
    if "fewshot" in tmeta:
        checks["few-shot"] = (undocumented(tmeta["fewshot"]), undocumented(spec.fewshot))
    for what, (was, now) in checks.items():
        if was != now:
            raise GenrankError(f"the run's {what} differs from the task's now ({was!r} vs "
                               f"{now!r}); it cannot be verified, so it is left as is",
                               file=where, task=task)
    if "generation" in tmeta:  # generated: the prompts must be those the task renders now
        df = run.read_records(task, columns=["item_id", "prompt_hash"])
        items = {it.id: it for it in load_items(spec)}
        picked = [items[i] for i in df["item_id"] if i in items]
        rendered = [short_hash(p) for p in render_prompts(spec, picked)]
        if len(picked) != len(df) or rendered != df["prompt_hash"].tolist():
            raise GenrankError("the run's prompts differ from what tasks.yaml renders now; it "
                               "cannot be verified, so it is left as is", file=where, task=task)
    return spec


def _verified(run: RunDir, spec: TaskSpec, scores: dict) -> tuple:
    """(records with today's version, terms, runspec) after every check passed."""
    where = str(run.path)
    registry.import_suite(spec.suite)
    df = run.read_records(spec.name)
    items = {it.id: it for it in load_items(spec)}
    unknown = [i for i in df["item_id"] if i not in items]
    if unknown:
        raise GenrankError(f"{len(unknown)} records name items the task does not have "
                           f"(e.g. {unknown[0]!r})", file=where, task=spec.name)
    changed = [i for i, h in zip(df["item_id"], df["target_hash"])
               if short_hash(items[i].target) != h]
    if changed:
        raise GenrankError(f"{len(changed)} items' targets differ from the data now "
                           f"(e.g. {changed[0]!r})", file=where, task=spec.name)
    metrics = compute_metrics(spec, df)
    claimed = scores.get(spec.name, {})
    terms = item_terms(spec, df)
    why = disagreement(claimed, terms) or disagreement(metrics, terms)
    if why:
        raise GenrankError(f"scores.json does not follow from the records: {why}", file=where,
                           task=spec.name)
    runspec = {**resolved(spec, list(zip(df["item_id"], df["target"])), spec.generation, {}),
               "generation": None, "data_files": None, "migrated_from": "0.1"}
    return df.assign(spec_hash=spec.spec_hash), terms, runspec


def _backup(run: RunDir, rel: str) -> None:
    """Copy ``rel`` under the backup folder once (the first, original version is kept)."""
    src, dst = run.path / rel, run.path / BACKUP / rel
    if src.exists() and not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def migrate_run(path: str | Path, specs: dict[str, TaskSpec]) -> MigrateResult:
    """Upgrade one run directory; every task is verified before the first byte changes."""
    run = RunDir(path)
    meta, scores = run.read_metadata(), run.read_scores()
    result = MigrateResult(str(run.path))
    todo = legacy_tasks(run)
    result.current = sorted(set(meta.get("tasks", {})) - set(todo))
    chosen = {t: _spec_for(specs, t, meta["tasks"][t], run) for t in todo}
    upgraded = {t: _verified(run, spec, scores) for t, spec in chosen.items()}
    if not upgraded:
        return result
    for rel in ("metadata.json", *(f"records/{t}.parquet" for t in upgraded)):
        _backup(run, rel)
    for task, (df, terms, runspec) in upgraded.items():
        spec = chosen[task]
        run.write_records(task, df, terms)
        tmeta = meta["tasks"][task]
        tmeta.update(legacy_spec_hash=tmeta.get("spec_hash"), spec_hash=spec.spec_hash,
                     metrics=declared(spec), terms=terms.describe(), runspec=runspec)
        runspec["backend"] = {"kind": (meta.get("backend") or {}).get("name")}
        result.upgraded.append(task)
    meta["format"] = RUN_FORMAT
    meta.setdefault("history", []).append({
        "migrated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "from": "0.1",
        "tasks": result.upgraded, "backup": BACKUP})
    write_json(run.metadata_path, meta)
    for task in result.upgraded:  # read back what was written: the same figures
        again = run.read_terms(task)
        why = disagreement(scores[task], again) if again is not None else "no terms"
        if why:
            raise GenrankError(f"migrated records do not read back ({why}); the originals are "
                               f"in {BACKUP}/", file=str(run.path), task=task)
    return result
