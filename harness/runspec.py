"""The resolved run spec: everything that decides a task's scores, frozen into each run.

A task's version (``spec_hash``) is the hash of the evaluation subset of its declaration,
the code versions of its verifier and metrics, and a digest of its item set. Editing a
description, a tag, a note, a comment or an upstream URL changes nothing; a prompt, a
verifier parameter, a verifier or metric version bump, or a changed data file gives a
new version. The same fields, resolved, are written into the run directory, so a run
says what it measured without the ``tasks.yaml`` it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from harness import registry
from harness.types import Item, stable_hash

#: runspec layout version (bump when its fields change meaning)
FORMAT = 1
#: keys anywhere in a source that document where data comes from, never what it is
DOC_KEYS = frozenset({"upstream"})


def undocumented(value: Any) -> Any:
    """``value`` without documentation keys (``upstream``), recursively."""
    if isinstance(value, dict):
        return {k: undocumented(v) for k, v in value.items() if k not in DOC_KEYS}
    if isinstance(value, (list, tuple)):
        return [undocumented(v) for v in value]
    return value


def evaluation_fields(spec) -> dict[str, Any]:
    """The declaration fields that change what is measured (no description, tags, notes)."""
    return {
        "suite": spec.suite, "loader": spec.loader, "source": undocumented(spec.source),
        "split": spec.split, "loader_params": undocumented(spec.loader_params),
        "fewshot": undocumented(spec.fewshot) if spec.fewshot else None,
        "prompt": spec.prompt, "generation": spec.generation.as_dict(),
        "verifier": {"name": spec.verifier.name, "params": spec.verifier.params},
        "metrics": [{"name": m.name, "params": m.params} for m in spec.metrics],
        "output_type": spec.output_type, "primary_metric": spec.primary_metric,
        "lower_is_better": spec.lower_is_better, "declared_version": spec.version}


def component_versions(spec) -> dict[str, Any]:
    """Code versions of the verifier and metrics the task names (imports its suite)."""
    registry.import_suite(spec.suite)
    verifier = registry.lookup(registry.VERIFIERS, "verifier", spec.verifier.name,
                               task=spec.name, file=spec.file)
    return {"verifier": str(getattr(verifier, "version", "1")),
            "metrics": {m.name: str(getattr(registry.lookup(
                registry.METRICS, "metric", m.name, task=spec.name, file=spec.file),
                "version", "1")) for m in spec.metrics}}


def item_digest(items: Iterable[Item]) -> str:
    """Content hash of an item set: ids, targets, the fields prompts see and the meta
    verifiers read, in order."""
    return stable_hash([[it.id, it.target, it.fields, it.meta] for it in items])[:16]


def task_version(spec, dataset_digest: str) -> str:
    """The honest task version (stored as ``spec_hash``)."""
    return stable_hash({"evaluation": evaluation_fields(spec),
                        "components": component_versions(spec),
                        "items": dataset_digest})[:16]


def _data_files(source: Any) -> list[str]:
    """Data paths a source names (``path``, ``target``, ``paths``, ``names``), resolved."""
    from harness.data import data_root

    found: list[str] = []
    if isinstance(source, dict):
        for key, value in sorted(source.items()):
            if key in DOC_KEYS:
                continue
            values = value if isinstance(value, list) else [value]
            if key in ("path", "target", "paths", "names"):
                found += [str(data_root() / v) for v in values if isinstance(v, str)]
            elif isinstance(value, dict):
                found += _data_files(value)
    return found


def evaluated_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """Digest of the (item id, target) pairs a run's records hold, in any order: two runs
    on the same items (one resumed, one with a larger limit shrunk back) have the same."""
    return stable_hash(sorted(([str(i), t] for i, t in pairs), key=lambda p: p[0]))[:16]


def resolved(spec, evaluated: list[tuple[str, str]], config, backend: dict[str, Any]
             ) -> dict[str, Any]:
    """The run spec of one task as run (``evaluated``: the records' (item id, target)
    pairs): what a reader needs to know what was measured."""
    files = _data_files(spec.source) + _data_files((spec.fewshot or {}).get("source"))
    files += _data_files(spec.verifier.params)
    return {
        "format": FORMAT, "task": spec.name, "version": spec.spec_hash,
        "evaluation": evaluation_fields(spec), "components": component_versions(spec),
        "generation": config.as_dict(),
        "items": {"dataset_digest": spec.dataset_digest, "n_dataset": spec.n_dataset,
                  "evaluated_digest": evaluated_digest(evaluated), "n_evaluated": len(evaluated)},
        "data_files": [{"path": f, "bytes": Path(f).stat().st_size if Path(f).exists() else None}
                       for f in files],
        "backend": backend}
