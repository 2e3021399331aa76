"""tasks.yaml: the one place a task is declared, parsed into typed, hashed specs.

Parsing is strict: an unknown key, a wrong type or an unknown loader/verifier/metric
stops with one line naming the file, the task and the field, before any model work.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from harness import registry
from harness.errors import GenrankError
from harness.params import check, check_call, conforms, describe_type
from harness.types import GenerationConfig, stable_hash

DEFAULT_TASKS_FILE = Path(__file__).resolve().parent.parent / "tasks.yaml"

TASK_KEYS = {"name", "suite", "description", "version", "loader", "source", "split",
             "loader_params", "fewshot", "prompt", "generation", "verifier", "metrics",
             "tags", "notes", "predictions", "output_type", "primary_metric",
             "lower_is_better"}
OUTPUT_TYPES = ("generate", "multiple_choice")
REQUIRED = ("name", "suite", "loader", "source", "prompt", "verifier")


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
        """The task version: evaluation fields + verifier/metric versions + item-set digest
        (see harness.runspec); loads the items once if nothing has yet."""
        from harness.runspec import task_version

        return task_version(self, self.dataset_digest)

    @cached_property
    def declaration_hash(self) -> str:
        """Hash of the evaluation fields alone (no data, no suite import): what
        ``genrank tasks`` shows; the task version adds code versions and items."""
        from harness.runspec import evaluation_fields

        return stable_hash(evaluation_fields(self))[:16]

    @cached_property
    def dataset_digest(self) -> str:
        """Digest of the task's full item set (set by the first load_items)."""
        from harness.items import load_items

        load_items(self)
        return self.__dict__["dataset_digest"]

    @cached_property
    def n_dataset(self) -> int:
        from harness.items import load_items

        load_items(self)
        return self.__dict__["n_dataset"]

    @cached_property
    def legacy_hash(self) -> str:
        """genrank 0.1's task version: the hash of the whole merged YAML entry."""
        return stable_hash(self.raw)[:16]

    @property
    def difficulty_field(self) -> str | None:
        return self.tags.get("difficulty_field")


def _named(value: Any, *, file: str, task: str, fld: str) -> NamedParams:
    if isinstance(value, str):
        return NamedParams(value)
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        params = {k: v for k, v in value.items() if k != "name"}
        if not all(isinstance(k, str) for k in params):
            raise GenrankError("parameter names are strings", file=file, task=task, field=fld)
        return NamedParams(value["name"], params)
    raise GenrankError("expected a name or a mapping with 'name'", file=file, task=task, field=fld)


@dataclass(frozen=True)
class FewShot:
    """``fewshot:``: k exemplars drawn with ``seed`` from ``source`` (read by ``loader``,
    default the task's)."""

    k: int
    seed: int = 1234
    source: dict | None = None
    loader: str | None = None


#: source keys that name data files (relative to GENRANK_DATA)
PATH_KEYS = {"path": str, "target": str, "paths": list[str] | str, "names": list[str] | str}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
SUITE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _generation(value: Any, *, file: str, task: str) -> GenerationConfig:
    try:
        config = check(GenerationConfig, value, field="generation")
    except GenrankError as exc:
        raise GenrankError(exc.message, file=file, task=task, field=exc.field) from None
    bad = ("max_new_tokens", "must be at least 1") if config.max_new_tokens < 1 else \
        ("temperature", "must not be negative") if config.temperature < 0 else \
        ("top_p", "must be in (0, 1]") if not 0 < config.top_p <= 1 else None
    if bad:
        raise GenrankError(bad[1], file=file, task=task, field=f"generation.{bad[0]}")
    return dataclasses.replace(config, stop=tuple(config.stop))


def _source(value: Any, *, file: str, task: str, fld: str) -> dict[str, Any]:
    """A data source: a mapping of plain values, whose path keys hold strings."""
    if not isinstance(value, dict):
        raise GenrankError("expected a mapping", file=file, task=task, field=fld)
    for key, v in value.items():
        if not isinstance(key, str):
            raise GenrankError(f"key {key!r} is not a string", file=file, task=task, field=fld)
        if key in PATH_KEYS and not conforms(v, PATH_KEYS[key]):
            raise GenrankError(f"expected a file path (a string), got {v!r:.60}", file=file,
                               task=task, field=f"{fld}.{key}")
    return value


def _fewshot(value: Any, *, file: str, task: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        check(FewShot, value, field="fewshot")
    except GenrankError as exc:
        raise GenrankError(exc.message, file=file, task=task, field=exc.field) from None
    if value["k"] < 0:
        raise GenrankError("must not be negative", file=file, task=task, field="fewshot.k")
    if value.get("source") is not None:
        _source(value["source"], file=file, task=task, fld="fewshot.source")
    return value


def _typed(merged: dict[str, Any], key: str, tp: Any, *, file: str, task: str) -> None:
    if key in merged and not conforms(merged[key], tp):
        raise GenrankError(f"expected {describe_type(tp)}, got {merged[key]!r:.60}", file=file,
                           task=task, field=key)


def parse_task(entry: Any, defaults: dict[str, Any], *, file: str, index: int) -> TaskSpec:
    """Build one TaskSpec from a tasks.yaml entry, merged over the file's defaults."""
    if not isinstance(entry, dict):
        raise GenrankError(f"task #{index} is not a mapping", file=file, field="tasks")
    name = entry.get("name") or f"#{index}"
    if not isinstance(name, str) or not (NAME.fullmatch(name) or name == f"#{index}"):
        raise GenrankError("a task name is letters, digits, '_', '.' and '-' (it names files)",
                           file=file, task=str(name)[:60], field="name")
    for key in ("generation", "tags"):
        for where, value in (("defaults", defaults), ("task", entry)):
            if not isinstance(value.get(key, {}), dict):
                raise GenrankError("expected a mapping", file=file, task=name,
                                   field=key if where == "task" else f"defaults.{key}")
    merged = {**defaults, **entry}
    merged["generation"] = {**defaults.get("generation", {}), **entry.get("generation", {})}
    merged["tags"] = {**defaults.get("tags", {}), **entry.get("tags", {})}
    unknown = sorted(map(str, set(merged) - TASK_KEYS))
    if unknown:
        raise GenrankError(f"unknown key(s) {unknown}", file=file, task=name, field=unknown[0])
    for key in REQUIRED:
        if merged.get(key) in (None, ""):
            raise GenrankError("required field is missing", file=file, task=name, field=key)
    for key in ("loader_params", "tags", "predictions"):
        if key in merged and not isinstance(merged[key], dict):
            raise GenrankError("expected a mapping", file=file, task=name, field=key)
    for key, tp in (("suite", str), ("loader", str), ("split", str), ("description", str),
                    ("notes", str), ("primary_metric", str), ("lower_is_better", bool),
                    ("version", int), ("output_type", str)):
        _typed(merged, key, tp, file=file, task=name)
    if not SUITE.fullmatch(merged["suite"]):
        raise GenrankError("a suite is the name of a folder under suites/ (letters, digits, _)",
                           file=file, task=name, field="suite")
    source = _source(merged["source"], file=file, task=name, fld="source")
    if not isinstance(merged["prompt"], str):
        raise GenrankError("expected a template string", file=file, task=name, field="prompt")
    metrics = merged.get("metrics", ["accuracy"])
    if not isinstance(metrics, list):
        raise GenrankError("expected a list", file=file, task=name, field="metrics")
    output_type = str(merged.get("output_type", "generate"))
    if output_type not in OUTPUT_TYPES:
        raise GenrankError(f"expected one of {OUTPUT_TYPES}", file=file, task=name,
                           field="output_type")
    return TaskSpec(
        name=name, suite=merged["suite"], loader=merged["loader"],
        source=source, prompt=merged["prompt"], split=merged.get("split", "test"),
        version=merged.get("version", 1), description=merged.get("description", ""),
        verifier=_named(merged["verifier"], file=file, task=name, fld="verifier"),
        loader_params=merged.get("loader_params", {}),
        fewshot=_fewshot(merged.get("fewshot"), file=file, task=name),
        generation=_generation(merged["generation"], file=file, task=name),
        metrics=tuple(_named(m, file=file, task=name, fld="metrics") for m in metrics),
        tags=merged["tags"], notes=merged.get("notes", ""),
        predictions=merged.get("predictions", {}), output_type=output_type,
        primary_metric=merged.get("primary_metric", "accuracy"),
        lower_is_better=merged.get("lower_is_better", False), raw=merged,
        file=file)


def tasks_file() -> Path:
    return Path(os.environ.get("GENRANK_TASKS", DEFAULT_TASKS_FILE))


#: libyaml's parser under the same safe constructor when PyYAML was built with it (the
#: pure-Python parser took 0.15 s of every command's 0.3 s on tasks.yaml)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: a tasks file larger than this is refused before parsing (genrank's is ~40 KB)
MAX_FILE_BYTES = 4 << 20
#: values a parsed tasks file may expand to, aliases followed (a YAML alias bomb stops here)
MAX_VALUES = 200_000


def _read(path: str) -> Any:
    """The parsed YAML document, refusing huge files, non-UTF-8 text and alias bombs."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise GenrankError(f"tasks file is {size / 2**20:.1f} MiB; the limit is "
                               f"{MAX_FILE_BYTES >> 20} MiB", file=path)
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise GenrankError("tasks file not found", file=path) from None
    except IsADirectoryError:
        raise GenrankError("tasks file is a directory", file=path) from None
    except UnicodeDecodeError as exc:
        raise GenrankError(f"tasks file is not UTF-8 text (byte {exc.start})", file=path) from None
    try:
        doc = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise GenrankError(f"invalid YAML{where}", file=path) from None
    except RecursionError:
        raise GenrankError("invalid YAML: nested too deeply", file=path) from None
    _bounded(doc, path)
    return doc


def _bounded(doc: Any, path: str) -> None:
    """Count the document's values as hashing would see them (aliases expanded), up to
    MAX_VALUES: a few shared anchors can otherwise stand for billions of values."""
    stack, seen = [doc], 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise GenrankError(f"tasks file expands to over {MAX_VALUES:,} values (YAML "
                               "aliases?)", file=path)
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, TaskSpec]:
    doc = _read(path)
    if isinstance(doc, dict) and doc.get("tasks") is None and "tasks" in doc:
        doc["tasks"] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("tasks"), list):
        raise GenrankError("expected a mapping with a 'tasks' list", file=path, field="tasks")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise GenrankError("expected a mapping", file=path, field="defaults")
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
    """Check that every name the spec uses is registered and every parameter it gives is
    declared with its type (imports the suites)."""
    from harness.runspec import undocumented

    registry.import_suite(spec.suite)
    load = registry.lookup(registry.LOADERS, "loader", spec.loader, task=spec.name,
                           file=spec.file)
    sources = [("source", load, spec.source)]
    if spec.fewshot and spec.fewshot.get("source") is not None:
        fs_loader = registry.lookup(registry.LOADERS, "loader",
                                    spec.fewshot.get("loader") or spec.loader, task=spec.name,
                                    file=spec.file)
        sources.append(("fewshot.source", fs_loader, spec.fewshot["source"]))
    checks = [(fld, getattr(fn, "Source", None), value) for fld, fn, value in sources]
    checks.append(("loader_params", getattr(load, "Params", None), spec.loader_params))
    for fld, declared, value in checks:
        if declared is None:
            continue
        try:
            check(declared, undocumented(value), field=fld)
        except GenrankError as exc:
            raise GenrankError(exc.message, file=spec.file, task=spec.name,
                               field=exc.field) from None
    registry.lookup(registry.VERIFIERS, "verifier", spec.verifier.name, task=spec.name,
                    file=spec.file)
    for m in spec.metrics:
        fn = registry.lookup(registry.METRICS, "metric", m.name, task=spec.name, file=spec.file)
        try:
            check_call(fn, m.params, field=f"metrics.{m.name}", skip=("records",))
        except GenrankError as exc:
            raise GenrankError(exc.message, file=spec.file, task=spec.name,
                               field=exc.field) from None


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
