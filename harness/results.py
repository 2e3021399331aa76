"""``results.json``: a run's scores in lm-eval's results layout, beside genrank's scores.json.

People and tools that read lm-eval output find what they expect: per task ``"<metric>,none"``
and ``"<metric>_stderr,none"``, ``higher_is_better``, ``n-samples``, ``n-shot``, ``configs``
(the resolved generation settings and few-shot count) and ``versions`` (genrank's honest task
version). Standard errors come from the per-item metric terms: for a figure that is a ratio of
item sums, the delta method, which for a plain mean is lm-eval's sample std / sqrt(n).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

FILTER = "none"  # lm-eval keys every figure by its filter; genrank scores the raw output


def stderr(num: np.ndarray, den: np.ndarray, reducer: str) -> tuple[float | None, int]:
    """(standard error, items counted) of one figure from its per-item terms."""
    if reducer == "sum":
        n = len(num)
        return (float(math.sqrt(n * np.var(num, ddof=1))) if n > 1 else None), n
    if reducer not in ("ratio", "ratio0"):
        return None, len(num)
    keep = den != 0
    n, total = int(keep.sum()), float(den.sum())
    if n < 2 or total == 0:
        return None, n
    value = num.sum() / total
    resid = (num - value * den)[keep]
    return float(math.sqrt(n / (n - 1) * float((resid ** 2).sum())) / total), n


def task_entry(spec, metrics: dict[str, float], terms, task_meta: dict[str, Any]) -> dict:
    """One task's lm-eval-style blocks, keyed like results.json's top level."""
    row: dict[str, Any] = {"alias": spec.name}
    higher: dict[str, bool | None] = {}
    for name, value in metrics.items():
        if name == "n_items":
            continue
        row[f"{name},{FILTER}"] = value
        fig = terms.figure(name) if terms is not None else None
        se = stderr(*fig)[0] if fig is not None else None
        row[f"{name}_stderr,{FILTER}"] = "N/A" if se is None else se
        # only the primary metric's direction is declared; others are not guessed
        higher[name] = (not spec.lower_is_better) if name == spec.primary_metric else None
    fewshot = task_meta.get("fewshot") or spec.fewshot or {}
    n = int(metrics.get("n_items", 0))
    return {
        "results": row, "higher_is_better": higher,
        "n-samples": {"original": n, "effective": n},
        "n-shot": int(fewshot.get("k", 0) or 0),
        "configs": {"task": spec.name, "num_fewshot": int(fewshot.get("k", 0) or 0),
                    "fewshot_seed": fewshot.get("seed"),
                    "generation_kwargs": task_meta.get("generation"),
                    "output_type": spec.output_type, "primary_metric": spec.primary_metric},
        "versions": spec.spec_hash,
    }


def update(path, task: str, entry: dict) -> bytes:
    """results.json's bytes with ``task``'s blocks replaced (other tasks kept)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    for block, value in entry.items():
        data.setdefault(block, {})[task] = value
    return (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode()
