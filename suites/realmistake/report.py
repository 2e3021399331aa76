"""ReaLMistake's published tables from run directories (upstream's JSON layout).

Per detector: the performance per prompt, the mean over prompts with the population
standard deviation (numpy's default), and the unweighted average over the three
tasks; plus the always-error and random baselines, and the paper's tables. The same
code serves every method (simple prompts, advanced prompt, majority vote,
self-consistency): pick it with ``method``.
Self-consistency upstream scores only the first 50 GPT-4 responses of each task, with
one prompt: its table has total_num 50 and a zero stdev over prompts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from harness.errors import GenrankError
from harness.runstore import RunDir
from suites.realmistake.data import DETECTORS, RESPONSE_MODELS, TASKS
from suites.realmistake.metrics import (always_error_performance, detection_performance,
                                        random_performance)


def _mean_std(dicts: list[dict]) -> dict:
    return {k: {"average": np.mean([d[k] for d in dicts]).item(),
                "stdev": np.std([d[k] for d in dicts]).item()} for k in dicts[0]}


def collect(run_dirs: Iterable[str | Path], method: str) -> dict:
    """(task, response model, detector, prompt) -> (gold labels, verdicts), from records."""
    cells: dict = {}
    for path in run_dirs:
        run = RunDir(path)
        meta = run.read_metadata()
        variant = meta.get("variant") or ""
        run_method, _, prompt = variant.partition("/")
        if run_method != method:
            continue
        detector = meta["model"]["name"]
        for task in run.tasks():
            rec = run.read_records(task)
            if rec.empty or "task" not in rec["meta"].iloc[0]:
                continue
            m = rec["meta"].iloc[0]
            verdicts = [v if isinstance(v, str) else None for v in rec["extracted"]]
            cells[(m["task"], m["response_model"], detector, prompt)] = (
                rec["target"].tolist(), verdicts)
    return cells


def performance_table(run_dirs: Iterable[str | Path], method: str = "simple_prompt_baseline"
                      ) -> dict:
    """Upstream's performance.json for ``method`` from replayed or fresh run directories."""
    cells = collect(run_dirs, method)
    detectors = sorted({c[2] for c in cells},
                       key=lambda d: (list(DETECTORS).index(d) if d in DETECTORS else 99, d))
    table: dict = {}
    per_task_avg: dict = defaultdict(list)
    for task in TASKS:
        for short, full in RESPONSE_MODELS.items():
            for det in detectors:
                prompts = sorted(p for (t, m, d, p) in cells if (t, m, d) == (task, full, det))
                if not prompts:
                    continue
                block = {f"prompt={p}": detection_performance(*cells[(task, full, det, p)])
                         for p in prompts}
                first = block[f"prompt={prompts[0]}"]
                avg = {"total_num": first["total_num"], "gold_error_num": first["gold_error_num"],
                       "metrics": _mean_std([b["metrics"] for b in block.values()])}
                block["average"] = avg
                table.setdefault(task, {}).setdefault(f"initial_model={full}", {})[
                    f"baseline_model={DETECTORS.get(det, det)}"] = block
                per_task_avg[(full, det)].append(avg)
    for (full, det), avgs in per_task_avg.items():
        table.setdefault("average", {}).setdefault(f"initial_model={full}", {})[
            f"baseline_model={DETECTORS.get(det, det)}"] = {"average": {
                "total_num": sum(a["total_num"] for a in avgs),
                "gold_error_num": sum(a["gold_error_num"] for a in avgs),
                "metrics": _mean_std([{k: v["average"] for k, v in a["metrics"].items()}
                                      for a in avgs])}}
    return table


def gold_labels(run_dirs: Iterable[str | Path]) -> dict[tuple[str, str], list[str]]:
    """(task, response model) -> gold labels of every item, from the fullest run (runs
    that cover a subset, e.g. self-consistency's, give way to a fuller one)."""
    gold: dict = {}
    for path in run_dirs:
        run = RunDir(path)
        for task in run.tasks():
            rec = run.read_records(task)
            if rec.empty or not isinstance(rec["meta"].iloc[0], dict):
                continue
            m = rec["meta"].iloc[0]
            cell = (m.get("task"), m.get("response_model"))
            if cell[0] in TASKS and len(rec) > len(gold.get(cell, ())):
                gold[cell] = rec["target"].tolist()
    return gold


def easy_baseline(run_dirs: Iterable[str | Path]) -> dict:
    """Upstream's easy_baseline/performance.json: the always-error and the random
    detector per task and response model."""
    out: dict = {}
    for (task, model), gold in gold_labels(run_dirs).items():
        out.setdefault(task, {})[f"initial_model={model}"] = {
            "baseline_model=always_error": always_error_performance(gold),
            "baseline_model=random": random_performance(gold)}
    return {t: out[t] for t in TASKS if t in out}


def max_difference(ours: dict, published: dict, path: str = "") -> tuple[float, int, list[str]]:
    """Largest absolute difference over every numeric cell of ``published``,
    the number of cells compared, and the cells ours lacks."""
    worst, count, missing = 0.0, 0, []
    for key, value in published.items():
        here = f"{path}/{key}"
        if key not in ours:
            missing.append(here)
            continue
        if isinstance(value, dict):
            w, c, m = max_difference(ours[key], value, here)
            worst, count, missing = max(worst, w), count + c, missing + m
        else:
            worst, count = max(worst, abs(float(ours[key]) - float(value))), count + 1
    return worst, count, missing


# --- the paper's tables (upstream's generate_performance_tables.py layout) ---------------

METRICS = ("accuracy", "f1", "precision", "recall")
DATASET_NAMES = {"math_word_problem_generation": "MathGen",
                 "finegrained_fact_verification": "FgFactV",
                 "answerability_classification": "AnsCls"}
BASELINES = {"always error": "baseline_model=always_error", "random": "baseline_model=random"}
#: why the paper's "human" column is absent (README says the same)
NO_HUMAN = ("human performance is not computable from the published data: upstream measured "
            "it with a separate human evaluation of 34-35 responses per task and response model, "
            "whose verdicts (and which responses) are not released; data.zip holds one gold "
            "label per response")


def methods(run_dirs: Iterable[str | Path]) -> list[str]:
    """The detection methods (variant ``method/prompt``) the runs hold, sorted."""
    found = set()
    for path in run_dirs:
        variant = RunDir(path).read_metadata().get("variant") or ""
        if "/" in variant:
            found.add(variant.partition("/")[0])
    return sorted(found)


#: detectors in upstream's table order (config.py: open models, then closed ones)
FULL_ORDER = [f"baseline_model={d}" for d in DETECTORS.values()]


def _column(detector_key: str) -> str:
    """Upstream's column header: the model name after its organisation."""
    return detector_key.split("=", 1)[1].split("/")[-1]


def _table(perf: dict, easy: dict, metric: str, prompt_key: str) -> pd.DataFrame:
    """Rows: response model x dataset; columns: detectors in upstream's order, then the
    always-error and random baselines. Values in percent, unrounded."""
    detectors = sorted({d for task in perf.values() for m in task.values() for d in m},
                       key=lambda d: (FULL_ORDER.index(d) if d in FULL_ORDER else 99, d))
    rows = []
    for model in RESPONSE_MODELS.values():
        for task in TASKS:
            cells = perf.get(task, {}).get(f"initial_model={model}", {})
            if not cells:
                continue  # e.g. self-consistency: GPT-4's responses only
            row = {"initial model": model.split("/")[-1], "dataset": DATASET_NAMES[task]}
            for det in detectors:
                block = cells.get(det, {}).get(prompt_key)
                value = block["metrics"][metric] if block else None
                value = value["average"] if isinstance(value, dict) else value
                row[_column(det)] = None if value is None else value * 100
            base = easy.get(task, {}).get(f"initial_model={model}", {})
            for name, key in BASELINES.items():
                row[name] = base[key]["metrics"][metric] * 100 if key in base else None
            rows.append(row)
    return pd.DataFrame(rows)


def paper_tables(run_dirs: Iterable[str | Path]) -> tuple[dict[str, dict], dict[str, pd.DataFrame]]:
    """({method: performance.json, "easy_baseline": ...}, {"method/metric_prompt": table})."""
    run_dirs = list(run_dirs)
    easy = easy_baseline(run_dirs)
    jsons: dict = {"easy_baseline": easy}
    tables: dict = {}
    for method in methods(run_dirs):
        perf = performance_table(run_dirs, method)
        if not perf:
            continue
        jsons[method] = perf
        prompts = sorted({p for task in perf.values() for m in task.values()
                          for d in m.values() for p in d if p.startswith("prompt=")})
        keys = prompts + (["average"] if len(prompts) > 1 else [])
        by_task = {t: perf[t] for t in TASKS if t in perf}
        for key in keys:
            name = key.split("=", 1)[-1]
            for metric in METRICS:
                tables[f"{method}/{metric}_{name}"] = _table(by_task, easy, metric, key)
    return jsons, tables


def markdown(table: pd.DataFrame, title: str) -> str:
    """The table as the paper prints it: one decimal, the best detector in bold, a
    detector below the random baseline in italics (the paper shades it grey)."""
    fixed = ["initial model", "dataset", *BASELINES]
    detectors = [c for c in table.columns if c not in fixed]
    columns = ["initial model", "dataset", *detectors, *BASELINES]
    lines = [f"### {title}", "", "| " + " | ".join(columns) + " |",
             "|" + "---|" * 2 + "---:|" * (len(columns) - 2)]
    for _, row in table.iterrows():
        values = [None if pd.isna(row[d]) else row[d] for d in detectors]
        present = [i for i, v in enumerate(values) if v is not None]
        best = max(present, key=lambda i: values[i], default=None)  # the first of ties
        cells = [row["initial model"], row["dataset"]]
        for i, v in enumerate(values):
            if v is None:
                cells.append("")
            elif i == best:
                cells.append(f"**{v:.1f}**")
            elif v < row["random"]:
                cells.append(f"_{v:.1f}_")
            else:
                cells.append(f"{v:.1f}")
        cells += [f"{row[b]:.1f}" for b in BASELINES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(run_dirs: Iterable[str | Path], out_dir: str | Path) -> list[Path]:
    """Writes DIR/<method>/<metric>_<prompt>.csv (percent, unrounded), one Markdown file
    per method with all its tables, and upstream's JSON files; returns what it wrote."""
    run_dirs = list(run_dirs)
    jsons, tables = paper_tables(run_dirs)
    if not tables:
        named = ", ".join(map(str, run_dirs[:3])) + (
            f" and {len(run_dirs) - 3} more" if len(run_dirs) > 3 else "")
        raise GenrankError("no ReaLMistake detection runs (variant method/prompt) found",
                           file=named, field="RUN_DIR")
    out = Path(out_dir)
    written = []
    for name, perf in jsons.items():
        path = out / name / "performance.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(perf, indent=1))
        written.append(path)
    pages: dict[str, list[str]] = defaultdict(list)
    for name, table in tables.items():
        path = out / f"{name}.csv"
        table.to_csv(path, index=False)
        written.append(path)
        method, _, title = name.partition("/")
        pages[method].append(markdown(table, title))
    for method, parts in pages.items():
        path = out / method / "tables.md"
        path.write_text(f"# ReaLMistake: {method}\n\nValues in percent. Columns 'always error' and "
                        f"'random': upstream's easy baselines. No 'human' column: {NO_HUMAN}.\n\n"
                        + "\n".join(parts))
        written.append(path)
    return written
