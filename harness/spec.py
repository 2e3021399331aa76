"""tasks.yaml: the one place a task is declared, parsed into typed, hashed specs.

Parsing is strict: an unknown key, a wrong type or an unknown loader/verifier/metric
stops with one line naming the file, the task and the field, before any model work.
"""

from __future__ import annotations

import dataclasses

import os
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from harness import registry
from harness.errors import GenrankError
from harness.types import GenerationConfig, stable_hash

DEFAULT_TASKS_FILE = Path(__file__).resolve().parent.parent / "tasks.yaml"

TASK_KEYS = {"name", "suite", "description", "version", "loader", "source", "split",
             "loader_params", "fewshot", "prompt", "generation", "verifier", "metrics",
             "tags", "notes", "predictions", "output_type", "primary_metric",
             "lower_is_better"}
OUTPUT_TYPES = ("generate", "multiple_choice")
REQUIRED = ("name", "suite", "loader", "source", "prompt", "verifier")
GENERATION_KEYS = {f.name for f in dataclasses.fields(GenerationConfig)}


@dataclass(frozen=True)
class NamedParams:
    """A registry name with its parameters, e.g. ``{name: exact_match, ignore_spaces: true}``."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    suite: str
    loader: str
    source: dict[str, Any]
    prompt: str
    verifier: NamedParams
    split: str = "test"
    version: int = 1
    description: str = ""
    loader_params: dict[str, Any] = field(default_factory=dict)
    fewshot: dict[str, Any] | None = None
    generation: GenerationConfig = GenerationConfig()
    metrics: tuple[NamedParams, ...] = (NamedParams("accuracy"),)
    tags: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    predictions: dict[str, Any] = field(default_factory=dict)
    #: "generate" (free text) or "multiple_choice" (log-likelihood of item.fields["choices"])
    output_type: str = "generate"
    #: the metric leaderboards rank by, and its direction
    primary_metric: str = "accuracy"
    lower_is_better: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    file: str = ""

    @cached_property
    def spec_hash(self) -> str:
        """Content hash of the declaration: a changed prompt or rule is a new task version."""
        return stable_hash(self.raw)[:16]

    @property
    def difficulty_field(self) -> str | None:
        return self.tags.get("difficulty_field")


def _named(value: Any, *, file: str, task: str, fld: str) -> NamedParams:
    if isinstance(value, str):
        return NamedParams(value)
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        params = {k: v for k, v in value.items() if k != "name"}
        return NamedParams(value["name"], params)
    raise GenrankError("expected a name or a mapping with 'name'", file=file, task=task, field=fld)


def _generation(value: Any, *, file: str, task: str) -> GenerationConfig:
    if not isinstance(value, dict):
        raise GenrankError("expected a mapping", file=file, task=task, field="generation")
    unknown = set(value) - GENERATION_KEYS
    if unknown:
        raise GenrankError(f"unknown key(s) {sorted(unknown)}", file=file, task=task,
                           field="generation")
    kw = dict(value)
    if "stop" in kw:
        kw["stop"] = tuple(kw["stop"] or ())
    try:
        return GenerationConfig(**kw)
    except TypeError as exc:
        raise GenrankError(str(exc), file=file, task=task, field="generation") from None


def parse_task(entry: Any, defaults: dict[str, Any], *, file: str, index: int) -> TaskSpec:
    """Build one TaskSpec from a tasks.yaml entry, merged over the file's defaults."""
    if not isinstance(entry, dict):
        raise GenrankError(f"task #{index} is not a mapping", file=file, field="tasks")
    name = entry.get("name") or f"#{index}"
    merged = {**defaults, **entry}
    merged["generation"] = {**defaults.get("generation", {}), **entry.get("generation", {})}
    merged["tags"] = {**defaults.get("tags", {}), **entry.get("tags", {})}
    unknown = set(merged) - TASK_KEYS
    if unknown:
        raise GenrankError(f"unknown key(s) {sorted(unknown)}", file=file, task=name,
                           field=sorted(unknown)[0])
    for key in REQUIRED:
        if merged.get(key) in (None, ""):
            raise GenrankError("required field is missing", file=file, task=name, field=key)
    for key in ("source", "loader_params", "tags", "predictions"):
        if key in merged and not isinstance(merged[key], dict):
            raise GenrankError("expected a mapping", file=file, task=name, field=key)
    if not isinstance(merged["prompt"], str):
        raise GenrankError("expected a template string", file=file, task=name, field="prompt")
    metrics = merged.get("metrics", ["accuracy"])
    if not isinstance(metrics, list):
        raise GenrankError("expected a list", file=file, task=name, field="metrics")
    output_type = str(merged.get("output_type", "generate"))
    if output_type not in OUTPUT_TYPES:
        raise GenrankError(f"expected one of {OUTPUT_TYPES}", file=file, task=name,
                           field="output_type")
    try:
        version = int(merged.get("version", 1))
    except (TypeError, ValueError):
        raise GenrankError("expected an integer", file=file, task=name, field="version") from None
    return TaskSpec(
        name=str(name), suite=str(merged["suite"]), loader=str(merged["loader"]),
        source=merged["source"], prompt=merged["prompt"], split=str(merged.get("split", "test")),
        version=version, description=str(merged.get("description", "")),
        verifier=_named(merged["verifier"], file=file, task=name, fld="verifier"),
        loader_params=merged.get("loader_params", {}), fewshot=merged.get("fewshot"),
        generation=_generation(merged["generation"], file=file, task=name),
        metrics=tuple(_named(m, file=file, task=name, fld="metrics") for m in metrics),
        tags=merged["tags"], notes=str(merged.get("notes", "")),
        predictions=merged.get("predictions", {}), output_type=output_type,
        primary_metric=str(merged.get("primary_metric", "accuracy")),
        lower_is_better=bool(merged.get("lower_is_better", False)), raw=merged,
        file=file)


def tasks_file() -> Path:
    return Path(os.environ.get("GENRANK_TASKS", DEFAULT_TASKS_FILE))


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, TaskSpec]:
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise GenrankError("tasks file not found", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise GenrankError(f"invalid YAML{where}", file=path) from None
    if isinstance(doc, dict) and doc.get("tasks") is None and "tasks" in doc:
        doc["tasks"] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("tasks"), list):
        raise GenrankError("expected a mapping with a 'tasks' list", file=path, field="tasks")
    defaults = doc.get("defaults") or {}
    specs: dict[str, TaskSpec] = {}
    for i, entry in enumerate(doc["tasks"]):
        spec = parse_task(entry, defaults, file=path, index=i)
        if spec.name in specs:
            raise GenrankError("task declared twice", file=path, task=spec.name, field="name")
        specs[spec.name] = spec
    return specs


def load_specs(path: str | Path | None = None) -> dict[str, TaskSpec]:
    """All declared tasks by name (parsed once per file version; no suite is imported)."""
    p = Path(path) if path else tasks_file()
    try:
        mtime = p.stat().st_mtime
    except FileNotFoundError:
        raise GenrankError("tasks file not found", file=str(p)) from None
    return _load(str(p), mtime)


def load_task_files(paths: list[str] | None) -> dict[str, TaskSpec]:
    """Tasks of several files (default: tasks.yaml); a name declared twice is an error."""
    if not paths:
        return load_specs()
    merged: dict[str, TaskSpec] = {}
    for path in paths:
        for name, spec in load_specs(path).items():
            if name in merged:
                raise GenrankError("task declared in two tasks files", file=str(path),
                                   task=name, field="--tasks-file")
            merged[name] = spec
    return merged


def validate(spec: TaskSpec) -> None:
    """Check that every name the spec uses is registered (imports the task's suite)."""
    registry.import_suite(spec.suite)
    registry.lookup(registry.LOADERS, "loader", spec.loader, task=spec.name, file=spec.file)
    registry.lookup(registry.VERIFIERS, "verifier", spec.verifier.name, task=spec.name,
                    file=spec.file)
    for m in spec.metrics:
        registry.lookup(registry.METRICS, "metric", m.name, task=spec.name, file=spec.file)


def select(specs: dict[str, TaskSpec], *, tasks: list[str] | None = None,
           suites: list[str] | None = None, tags: dict[str, str] | None = None) -> list[TaskSpec]:
    """Tasks picked by name (glob patterns allowed), suite and tag values."""
    from fnmatch import fnmatch

    chosen = list(specs.values())
    if tasks:
        missing = [t for t in tasks if not any(fnmatch(n, t) for n in specs)]
        if missing:
            raise GenrankError(f"unknown task(s) {missing}", field="--task")
        chosen = [s for s in chosen if any(fnmatch(s.name, t) for t in tasks)]
    if suites:
        chosen = [s for s in chosen if s.suite in suites]
    for key, value in (tags or {}).items():
        chosen = [s for s in chosen if str(s.tags.get(key)) == value]
    if not chosen:
        raise GenrankError("no task matches the selection", field="--task/--suite")
    return chosen
