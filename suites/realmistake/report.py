"""ReaLMistake's published tables from run directories (upstream's JSON layout).

Per detector: the performance per prompt, the mean over prompts with the population
standard deviation (numpy's default), and the unweighted average over the three
tasks; plus the random baseline. The same code serves every method (simple prompts,
advanced prompt, majority vote, self-consistency): pick it with ``method``.
Self-consistency upstream scores only the first 50 GPT-4 responses of each task, with
one prompt: its table has total_num 50 and a zero stdev over prompts.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Iterable

import numpy as np

from harness.runstore import RunDir
from suites.realmistake.data import DETECTORS, RESPONSE_MODELS, TASKS
from suites.realmistake.metrics import detection_performance


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


def random_baseline(run_dirs: Iterable[str | Path]) -> dict:
    """The random detector per task and response model: P = R = F1 = gold error rate
    (over every item: runs that cover a subset, e.g. self-consistency's, are ignored
    where a fuller run exists)."""
    out: dict = {}
    sizes: dict = {}
    for path in run_dirs:
        run = RunDir(path)
        for task in run.tasks():
            rec = run.read_records(task)
            if rec.empty or "task" not in rec["meta"].iloc[0]:
                continue
            m = rec["meta"].iloc[0]
            cell = (m["task"], m["response_model"])
            if sizes.get(cell, 0) > len(rec):
                continue
            sizes[cell] = len(rec)
            rate = float((rec["target"] == "error").mean())
            out.setdefault(m["task"], {})[f"initial_model={m['response_model']}"] = {
                "precision": rate, "recall": rate, "f1": rate,
                "accuracy": rate * rate + (1 - rate) * (1 - rate)}
    return out


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
