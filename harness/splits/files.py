"""Writing a split: train/test item files, a report, and a tasks file ``genrank run`` reads.

Items are stored whole (id, fields, target, meta) so any task's prompt and verifier
work on them unchanged; the generated tasks file points at them relative to itself
and copies the template task's prompt, generation settings, verifier and metrics.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import yaml

from harness.errors import GenrankError
from harness.registry import loader
from harness.spec import TaskSpec
from harness.types import Item

COPIED_KEYS = ("suite", "split", "version", "prompt", "generation", "verifier", "metrics",
               "output_type", "primary_metric", "lower_is_better")


def item_rows(items: Sequence[Item]) -> list[dict]:
    """Items as JSON rows; a repeated item gets ``~2``, ``~3``... so ids stay unique."""
    seen: dict[str, int] = {}
    rows = []
    for it in items:
        n = seen[it.id] = seen.get(it.id, 0) + 1
        rows.append({"id": it.id if n == 1 else f"{it.id}~{n}", "fields": it.fields,
                     "target": it.target, "meta": it.meta})
    return rows


@loader("split_items")
def split_items(spec, source: dict) -> list[Item]:
    """Items written by ``genrank split`` (path relative to the tasks file that names it)."""
    rel = source.get("path")
    if not rel:
        raise GenrankError("missing data path", file=spec.file, task=spec.name,
                           field="source.path")
    path = Path(spec.file).parent / rel if spec.file else Path(rel)
    if not path.is_file():
        raise GenrankError("split file not found (run genrank split again?)", file=str(path),
                           task=spec.name, field="source.path")
    with open(path, encoding="utf-8") as fh:
        return [Item(r["id"], r["fields"], r["target"], r.get("meta") or {})
                for r in map(json.loads, fh) if r]


def _with_exemplars(prompt: str, fields: Sequence[str]) -> str:
    """A template that has no exemplar block gets one: each exemplar rendered by the same
    template over its own fields, followed by its answer."""
    if "fewshot" in prompt:
        return prompt
    names = [f for f in fields if f.isidentifier()]
    binds = ", ".join(f"{f}=ex.fields.{f}" for f in names)
    return ("{% for ex in fewshot %}{% with " + binds + " %}" + prompt
            + "{% endwith %} {{ ex.target }}\n\n{% endfor %}" + prompt)


def task_entries(template: TaskSpec, name: str, description: str, tags: dict[str, Any],
                 exemplar_files: dict[str, str | None], fields: Sequence[str],
                 k: int) -> list[dict]:
    """One task per exemplar pool (``None`` = zero-shot), all testing on test.jsonl."""
    base = {key: template.raw[key] for key in COPIED_KEYS if key in template.raw}
    entries = []
    for suffix, path in exemplar_files.items():
        entry = {"name": name + (f"_{suffix}" if suffix else ""), **base,
                 "description": description + (f"; exemplars: {suffix}" if suffix else ""),
                 "loader": "split_items", "source": {"path": "test.jsonl"},
                 "tags": {**template.tags, **tags,
                          **({"exemplars": suffix} if suffix else {})}}
        if path is not None:
            entry["fewshot"] = {"k": k, "seed": 1234, "source": {"path": path}}
            entry["prompt"] = _with_exemplars(entry["prompt"], fields)
        elif "fewshot" in entry["prompt"]:
            entry["fewshot"] = None
        entries.append(entry)
    return entries


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")


def write_split(out: Path, files: dict[str, list[Item]], report: dict,
                tasks: list[dict], header: str) -> None:
    """Write everything into a fresh folder beside ``out``, then move it into place, so a
    failure leaves nothing half-written and an existing split is never mixed with a new one."""
    if out.exists() and any(out.iterdir()):
        raise GenrankError("output folder exists and is not empty (choose another -o)",
                           file=str(out), field="-o")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        for name, items in files.items():
            _write_jsonl(tmp / f"{name}.jsonl", item_rows(items))
        (tmp / "split.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        doc = yaml.safe_dump({"tasks": tasks}, sort_keys=False, allow_unicode=True, width=100)
        (tmp / "tasks.yaml").write_text(header + doc)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        for p in tmp.glob("*"):
            p.unlink()
        tmp.rmdir()
        raise
