"""Per-item terms of a task's metric: the one place leaderboards get them from.

A metric that is a reduction of item sums (HALoGEN's ratios, ReaLMistake's F1 = 2TP / (2TP +
FP + FN)) can be bootstrapped and tested over items from per-item (numerator, denominator)
pairs. They come from the run store: the records' ``term_num``/``term_den`` columns and the
figure names in the run's metadata (harness.terms), never from tasks.yaml or suite code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from harness.runstore import RunDir
from harness.terms import REDUCERS


def run_terms(run_dir: str | Path, task: str, metric: str
              ) -> tuple[pd.DataFrame, str] | None:
    """One run's per-item ``num, den`` of ``metric`` (indexed by item id) and the figure's
    reducer; None when the run carries no terms for it (genrank 0.1: `genrank migrate`)."""
    run = RunDir(run_dir)
    terms = run.read_terms(task)
    figure = terms.figure(metric) if terms is not None else None
    if figure is None:
        return None
    ids = run.read_records(task, columns=["item_id"])["item_id"].astype(str)
    return pd.DataFrame({"num": figure[0], "den": figure[1]}, index=ids.to_numpy()), figure[2]


def reducer(name: str) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """The metric of summed terms, ``{"num": ..., "den": ...}`` -> figure, by reducer name."""
    fn = REDUCERS[name]
    return lambda sums: fn(np.asarray(sums["num"], float), np.asarray(sums["den"], float))


#: sum(num) / sum(den), NaN where the denominator is 0
ratio = reducer("ratio")
