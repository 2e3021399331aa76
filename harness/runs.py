"""Opening run directories and finishing tasks in them (shared by run and replay)."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd

from harness import provenance, registry, results
from harness.errors import GenrankError
from harness.runstore import RUN_FORMAT, RunDir, atomic_write, records_frame
from harness.spec import TaskSpec
from harness.terms import declared, disagreement, item_terms
from harness.types import stable_hash


#: longest file-name part made from a name (file systems refuse names over 255 bytes)
MAX_SLUG = 80


def slug(text: str) -> str:
    """A safe file-name part for ``text``: kept as is when already safe and short, else
    sanitised, capped and suffixed with a hash of the full text (which stays only as data)."""
    text = str(text)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    if safe == text and 0 < len(safe) <= MAX_SLUG:
        return safe
    return f"{safe[:MAX_SLUG - 9].rstrip('-.') or 'model'}-{stable_hash(text)[:8]}"


def check_name(name: str | None, field: str = "--name") -> None:
    """Refuse names that cannot name a model: empty, blank, ``.`` or ``..``."""
    if name is not None and str(name).strip() in ("", ".", ".."):
        raise GenrankError(f"{name!r} is not a usable model name", field=field)


def run_name(model_name: str, variant: str | None = None, seed: int | None = None) -> str:
    check_name(model_name)
    parts = [slug(model_name)]
    if variant not in (None, ""):
        parts.append(slug(variant))
    if seed is not None and not (isinstance(seed, float) and math.isnan(seed)):
        parts.append(f"seed{int(seed)}")
    return "__".join(parts)


def open_run(path: Path, model: dict[str, Any], *, backend: dict[str, Any],
             seed: int | None = None, variant: str | None = None,
             numerics: dict[str, Any] | None = None) -> RunDir:
    """Create a run directory, or reopen it if it holds the same model run the same way.

    ``model`` must carry ``name`` and ``content_hash``; a directory that holds another
    model, or the same model under another backend or numerics (dtype, device class,
    engine version...), is never reused: outputs of two engines never mix in one run.
    """
    run = RunDir(path)
    if numerics is not None:
        backend = {**backend, "numerics": numerics}
    if run.exists():
        meta = run.read_metadata()
        old = meta.get("model", {}).get("content_hash")
        if old != model["content_hash"]:
            raise GenrankError(
                f"run directory holds another model ({meta['model'].get('name')}, {old}); "
                "choose another output directory", file=str(path), field="--output")
        _same_backend(run, meta, backend)
        return run
    run.path.mkdir(parents=True, exist_ok=True)
    run.write_metadata({"format": RUN_FORMAT, "model": model, "backend": backend, "seed": seed,
                        "variant": variant,
                        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "environment": provenance.environment(), "tasks": {}})
    return run


def _same_backend(run: RunDir, meta: dict[str, Any], backend: dict[str, Any]) -> None:
    """Refuse to resume a run under another backend kind or numerics; a run written
    before numerics were recorded (genrank 0.1) adopts them on its first resume."""
    old = meta.get("backend") or {}
    differs = old.get("name") not in (None, backend.get("name"))
    if "numerics" in old and "numerics" in backend:
        differs = differs or old["numerics"] != backend["numerics"]
    if differs:
        was = {"name": old.get("name"), **(old.get("numerics") or {})}
        now = {"name": backend.get("name"), **(backend.get("numerics") or {})}
        changed = ", ".join(f"{k}: {was.get(k)!r} -> {now.get(k)!r}"
                            for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k))
        raise GenrankError(
            f"run directory was made with another backend ({changed}); outputs of two "
            "backends never mix in one run: choose another output directory or --name",
            file=str(run.path), field="--output")
    if "numerics" in backend and "numerics" not in old:
        meta["backend"] = {**old, **backend}
        run.write_metadata(meta)


def compute_metrics(spec: TaskSpec, records: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {"n_items": float(len(records))}
    for m in spec.metrics:
        out.update(registry.METRICS[m.name](records, **m.params))
    return out


def finish_task(run: RunDir, spec: TaskSpec, records: list[dict] | pd.DataFrame,
                task_meta: dict[str, Any]) -> dict[str, float]:
    """Write a task's records, its metrics and its spec hash into the run directory."""
    df = records if isinstance(records, pd.DataFrame) else records_frame(records)
    metrics = compute_metrics(spec, df)
    terms = item_terms(spec, df)
    why = disagreement(metrics, terms)
    if why:  # a metric whose terms do not add up is a bug in its suite, not bad input
        raise RuntimeError(f"task {spec.name}: metric terms disagree with the metrics: {why}")
    run.write_records(spec.name, df, terms)
    with run.updating():  # read-modify-write of three files: one writer at a time
        scores = run.read_scores()
        scores[spec.name] = metrics
        run.write_scores(scores)
        path = run.path / "results.json"  # the same figures in lm-eval's results layout
        atomic_write(path, results.update(path, spec.name,
                                          results.task_entry(spec, metrics, terms, task_meta)))
        meta = run.read_metadata()
        meta.setdefault("tasks", {})[spec.name] = {
            "spec_hash": spec.spec_hash, "spec_version": spec.version, "suite": spec.suite,
            "description": spec.description, "upstream": (spec.source or {}).get("upstream"),
            "n_items": len(records), "tags": spec.tags, "primary_metric": spec.primary_metric,
            "lower_is_better": spec.lower_is_better, "metrics": declared(spec),
            "terms": terms.describe(), **task_meta}
        meta["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        run.write_metadata(meta)
    return metrics
