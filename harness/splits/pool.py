"""What ``genrank split DATASET`` splits: a suite's pool, a declared task, or a JSONL file.

A pool comes with a template task (prompt, verifier, metrics) that the generated task
entry copies, and with the dataset tag that picks the parser for ``mcd``/``tmcd``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from harness import registry
from harness.errors import GenrankError
from harness.spec import TaskSpec, load_specs, parse_task
from harness.types import Item

#: the task a JSONL of input/output pairs runs as
JSONL_TEMPLATE = {
    "name": "jsonl_pairs", "suite": "generic", "loader": "split_items", "source": {},
    "description": "input/output pairs", "prompt": (
        "{% for ex in fewshot %}Input: {{ ex.fields.input }}\nOutput: {{ ex.target }}\n"
        "{% endfor %}Input: {{ input }}\nOutput:"),
    "fewshot": {"k": 4, "seed": 1234},
    "generation": {"max_new_tokens": 128, "stop": ["\n"]},
    "verifier": {"name": "exact_match", "ignore_spaces": True, "first_line": True},
    "metrics": ["accuracy"], "tags": {"dataset": "jsonl"},
}


@dataclass
class Pool:
    name: str
    items: list[Item]
    template: TaskSpec
    #: selects the parser for mcd/tmcd (the template's ``tags.dataset``)
    dataset: str


def _jsonl_pool(path: Path) -> Pool:
    items = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                src, tgt = row["input"], row["output"]
            except (ValueError, KeyError, TypeError):
                raise GenrankError(f"line {i + 1} is not a JSON object with 'input' and "
                                   "'output'", file=str(path), field="DATASET") from None
            meta = {k: v for k, v in row.items() if k not in ("input", "output", "id")}
            items.append(Item(id=str(row.get("id", i)), fields={"input": str(src)},
                              target=str(tgt), meta=meta))
    template = parse_task(JSONL_TEMPLATE, {}, file=str(path), index=0)
    return Pool(str(path), items, template, "jsonl")


def _load_sources(template: TaskSpec, sources: list[dict]) -> list[Item]:
    loader = registry.LOADERS[template.loader]
    items: list[Item] = []
    for k, source in enumerate(sources):
        part = loader(template, source)
        prefix = f"{k}-" if len(sources) > 1 else ""
        items += [dataclasses.replace(it, id=f"{prefix}{it.id}") for it in part]
    return items


def load_pool(name: str) -> Pool:
    """A pool by suite name (``scan``, ``cogs``, ``cfq``, ``pcfgset``), task name or JSONL path."""
    path = Path(name)
    specs = load_specs()
    registry.import_suites(s.suite for s in specs.values())  # their parsers and pools
    if name.endswith(".jsonl") or (path.is_file() and path.suffix in (".json", ".jsonl")):
        if not path.is_file():
            raise GenrankError("JSONL file not found", file=name, field="DATASET")
        return _jsonl_pool(path)
    if name in registry.SPLIT_DATASETS:
        entry = registry.SPLIT_DATASETS[name]
        template = specs[entry["template"]]
        return Pool(name, _load_sources(template, entry["sources"]), template,
                    template.tags.get("dataset", name))
    if name in specs:
        template = specs[name]
        return Pool(name, _load_sources(template, [template.source]), template,
                    template.tags.get("dataset", name))
    known = ", ".join(sorted(registry.SPLIT_DATASETS))
    raise GenrankError(f"unknown dataset {name!r}: not a pool ({known}), a task in "
                       "tasks.yaml, or a .jsonl file of input/output pairs", field="DATASET")


def load_side(pool: Pool, where: str) -> list[Item]:
    """One side of an existing split, read with the pool's own loader.

    ``where`` is a path (under GENRANK_DATA, or absolute), ``PATH::MEMBER`` for a member of
    an archive, or a ``.jsonl`` (``genrank split`` output or input/output pairs). Companion
    target files are found the way the template names them (``.src`` -> ``.tgt``,
    ``_encode`` -> ``_decode``).
    """
    path, _, member = where.partition("::")
    if path.endswith(".jsonl"):
        first = Path(path).open(encoding="utf-8").readline() if Path(path).is_file() else ""
        if '"fields"' in first:
            fake = dataclasses.replace(pool.template, file=str(Path(path).resolve().parent / "x"))
            return registry.LOADERS["split_items"](fake, {"path": Path(path).name})
        return _jsonl_pool(Path(path)).items
    source = {k: v for k, v in pool.template.source.items() if k != "upstream"}
    source["path"] = path
    if "target" in source:
        source["target"] = path[: -len(".src")] + ".tgt" if path.endswith(".src") else path
    if member:
        source["member"] = member
        if "target_member" in source:
            source["target_member"] = member.replace("_encode", "_decode")
    return registry.LOADERS[pool.template.loader](pool.template, source)
