"""lm-eval (0.4.x) interop: export genrank tasks as lm-eval tasks, import lm-eval samples.

Export writes, per task, the items with genrank's rendered prompts as a local JSONL
(``dataset_path: json``), a task YAML, and one ``utils.py`` whose ``process_results``
scores each output with the task's genrank verifier: lm-eval then runs the same prompts
and the same scoring rule as ``genrank run``. Import reads lm-eval's ``samples_*.jsonl``
for exported tasks and writes ordinary run directories (rescored by genrank's verifiers).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import yaml

from harness import registry
from harness.errors import GenrankError
from harness.items import render_prompts
from harness.spec import TaskSpec
from harness.types import Item, stable_hash

PREFIX = "genrank_"
# The installed genrank scores (`pip install genrank`): no checkout path is baked into the export.
UTILS = '''"""Written by `genrank export-lm-eval`: scoring with genrank's verifiers."""
from harness.interop.lm_eval import process_results  # noqa: F401
'''


def task_yaml(spec: TaskSpec, data_file: Path, max_new_tokens: int | None = None
              ) -> dict[str, Any]:
    cfg = spec.generation
    out: dict[str, Any] = {
        "task": PREFIX + spec.name, "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data_file.resolve())}},
        "test_split": "test", "doc_to_text": "{{prompt}}", "num_fewshot": 0,
        "process_results": "!function utils.process_results",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": spec.version, "genrank_spec_hash": spec.spec_hash}}
    if spec.output_type == "multiple_choice":
        out.update(output_type="multiple_choice", doc_to_choice="choices",
                   doc_to_target="gold_index", target_delimiter=" ")
    else:
        out.update(output_type="generate_until", doc_to_target="{{target}}",
                   generation_kwargs={"until": list(cfg.stop), "max_gen_toks": max_new_tokens or cfg.max_new_tokens,
                                      "do_sample": False, "temperature": 0.0})
    return out


def export_tasks(specs: Sequence[TaskSpec], out_dir: str | Path, limit: int | None = None,
                 max_new_tokens: int | None = None) -> list[str]:
    """Write one lm-eval task per spec into ``out_dir``; returns the lm-eval task names."""
    from harness.items import load_items

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "utils.py").write_text(UTILS)
    names = []
    for spec in specs:
        items = load_items(spec, limit)
        data = out / f"{spec.name}.jsonl"
        with open(data, "w", encoding="utf-8") as fh:
            for it, prompt in zip(items, render_prompts(spec, items)):
                fh.write(json.dumps(_doc(spec, it, prompt), ensure_ascii=False) + "\n")
        text = yaml.safe_dump(task_yaml(spec, data, max_new_tokens), sort_keys=False, allow_unicode=True)
        text = text.replace("'!function utils.process_results'", "!function utils.process_results")
        (out / f"{PREFIX}{spec.name}.yaml").write_text(text)
        names.append(PREFIX + spec.name)
    return names


def _doc(spec: TaskSpec, item: Item, prompt: str) -> dict[str, Any]:
    doc = {"genrank_task": spec.name, "item_id": item.id, "prompt": prompt,
           "target": item.target, "fields": json.dumps(item.fields, default=str),
           "meta": json.dumps(item.meta, default=str)}
    if spec.output_type == "multiple_choice":
        choices = [str(c) for c in item.fields["choices"]]
        doc.update(choices=choices, gold_index=gold_index(spec, item, choices))
    return doc


def gold_index(spec: TaskSpec, item: Item, choices: list[str]) -> int:
    """lm-eval's ``doc_to_target`` for a choice: the target as an option label (ARC's "A",
    WinoGrande's "1"), else as an option text. Never a silent 0: an unmappable target stops."""
    target = str(item.target)
    labels = [str(x) for x in item.fields.get("labels") or []]
    if len(labels) == len(choices) and target in labels:
        return labels.index(target)
    if target in choices:
        return choices.index(target)
    raise GenrankError(f"target {target!r} is neither an option label {labels} nor an option text",
                       task=spec.name, field=f"item {item.id}: target")


def _item(doc: dict[str, Any]) -> Item:
    return Item(str(doc["item_id"]), json.loads(doc["fields"]), doc["target"],
                json.loads(doc["meta"]))


@lru_cache(maxsize=None)
def _task(name: str) -> tuple[TaskSpec, registry.Verifier]:
    from harness.spec import load_specs, validate

    spec = load_specs()[name]
    validate(spec)
    return spec, registry.VERIFIERS[spec.verifier.name](**spec.verifier.params)


def prediction(doc: dict[str, Any], results: Sequence[Any]) -> str:
    """The output lm-eval produced: generated text, or the most likely choice."""
    if "choices" in doc:
        lls = [_ll(r) for r in results]
        return doc["choices"][max(range(len(lls)), key=lls.__getitem__)]
    return str(results[0])


def _ll(result: Any) -> float:
    """(loglikelihood, is_greedy), possibly nested or stringified in logged samples."""
    while isinstance(result, (tuple, list)):
        result = result[0]
    return float(result)


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """lm-eval hook: genrank's verifier scores the output."""
    _, verifier = _task(doc["genrank_task"])
    return {"acc": float(verifier.score(prediction(doc, results), _item(doc)).value)}


def import_samples(results_dir: str | Path, out_dir: str | Path, model_name: str | None = None
                   ) -> list[tuple[Path, str, int]]:
    """lm-eval samples -> run directories; returns (run, task, n).

    Samples of tasks exported by genrank carry their genrank task; samples of lm-eval's own
    tasks are taken when a genrank task declares the same data (``predictions.lm_eval`` in
    tasks.yaml: lm-eval task name, the doc field and the item field that identify an item),
    else the file is skipped with the reason."""
    from harness.runs import finish_task, open_run, run_name
    from harness.runstore import make_record

    files = sorted(Path(results_dir).rglob("samples_*.jsonl"))
    if not files:
        raise GenrankError("no samples_*.jsonl (run lm_eval with --log_samples)",
                           file=str(results_dir))
    done = []
    for path in files:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        if not rows:
            print(f"skipped {path.name}: no samples")
            continue
        if "genrank_task" in rows[0].get("doc", {}):
            spec, verifier = _task(rows[0]["doc"]["genrank_task"])
            items = [_item(r["doc"]) for r in rows]
            prompts = [r["doc"]["prompt"] for r in rows]
            preds = [prediction(r["doc"], r["filtered_resps"] if "choices" in r["doc"]
                                else [_first(r["filtered_resps"])]) for r in rows]
        else:
            native = _native(path, rows)
            if isinstance(native, str):
                print(f"skipped {path.name}: {native}")
                continue
            spec, verifier, items, prompts, preds = native
        scores = verifier.score_many(preds, items)
        records = [make_record(spec.name, spec.spec_hash, it, pr, p, s)
                   for it, pr, p, s in zip(items, prompts, preds, scores)]
        config = _model_config(path)
        name = model_name or _model_name(config) or path.parent.name
        model = {"name": name, "content_hash": stable_hash({"lm-eval": config})[:16],
                 "path": None, "source": "lm-eval"}
        run = open_run(Path(out_dir) / run_name(name), model,
                       backend={"name": "lm-eval", **{k: config.get(k) for k in
                                                      ("model", "model_args") if k in config}})
        finish_task(run, spec, records, {"lm_eval_samples": str(path),
                                         "verifier": verifier.describe(), "limit": len(rows)})
        done.append((run.path, spec.name, len(records)))
    return done


def lm_eval_task_name(samples: Path) -> str:
    """``samples_<task>_<timestamp>.jsonl`` -> ``<task>``."""
    return samples.stem[len("samples_"):].rsplit("_", 1)[0]


def _native(path: Path, rows: list[dict]):
    """Samples of one of lm-eval's own tasks, matched onto the genrank task declaring the same
    data; a string says why they cannot be."""
    from harness.items import load_items
    from harness.spec import load_specs

    name = lm_eval_task_name(path)
    specs = [s for s in load_specs().values()
             if (s.predictions.get("lm_eval") or {}).get("task") == name]
    if not specs:
        return (f"lm-eval task {name!r}: no genrank task declares the same data "
                "(predictions.lm_eval in tasks.yaml)")
    spec, verifier = _task(specs[0].name)
    link = spec.predictions["lm_eval"]
    items = load_items(spec)
    key = (lambda it: it.id) if link["item_key"] == "id" else \
        (lambda it: str(it.fields.get(link["item_key"], "")).strip())
    by_key = {key(it): it for it in items}
    seen, matched, kept = set(), [], []
    for r in rows:  # lm-eval logs a doc once per filter: keep the first
        k = str(r["doc"].get(link["doc_key"], "")).strip()
        if k in seen:
            continue
        seen.add(k)
        if k not in by_key:
            return (f"{sum(str(x['doc'].get(link['doc_key'], '')).strip() not in by_key for x in rows)}"
                    f" of {len(rows)} docs match no item of {spec.name} by "
                    f"{link['doc_key']} -> {link['item_key']}")
        matched.append(by_key[k])
        kept.append(r)
    if spec.output_type == "multiple_choice":
        preds = []
        for r, it in zip(kept, matched):
            lls = [_ll(x) for x in r["filtered_resps"]]
            choices = [str(c) for c in it.fields["choices"]]
            if len(lls) != len(choices):
                return (f"doc {key(it)!r}: {len(lls)} scored options, the task has "
                        f"{len(choices)}")
            preds.append(choices[max(range(len(lls)), key=lls.__getitem__)])
    else:  # the raw generation: genrank's verifier does its own answer extraction
        preds = [_first(r.get("resps") or r["filtered_resps"]) for r in kept]
    return spec, verifier, matched, [_context(r) for r in kept], preds


def _context(row: dict[str, Any]) -> str:
    """The prompt lm-eval sent: ``arguments`` is a list of (context, ...) tuples in older
    0.4 releases and ``{"gen_args_0": {"arg_0": context, ...}}`` in newer ones."""
    args = row.get("arguments")
    if isinstance(args, dict) and args:
        first = next(iter(args.values()))
        return str(first.get("arg_0", "")) if isinstance(first, dict) else _first(first)
    return _first(args) if args else ""


def _first(value: Any) -> str:
    while isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _model_config(samples: Path) -> dict[str, Any]:
    """The ``config`` block of the results_*.json written beside the samples."""
    for res in sorted(samples.parent.glob("results_*.json"), reverse=True):
        try:
            return json.loads(res.read_text()).get("config", {})
        except (OSError, ValueError):
            continue
    return {}


def _model_name(config: dict[str, Any]) -> str | None:
    args = config.get("model_args") or ""
    if isinstance(args, dict):
        pretrained = args.get("pretrained")
    else:
        pretrained = dict(kv.split("=", 1) for kv in str(args).split(",") if "=" in kv
                          ).get("pretrained")
    return str(pretrained).rstrip("/").rsplit("/", 1)[-1] if pretrained else None
