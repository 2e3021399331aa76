"""Per-item terms of a task's metric: the one place leaderboards get them from.

A metric that is a ratio of item sums (HALoGEN's ratios, ReaLMistake's F1 = 2TP / (2TP + FP +
FN)) can be bootstrapped and tested over items from per-item (numerator, denominator) pairs.
Today they come from the registered metric's ``item_terms`` decomposition of the records;
when records carry their own terms, ``terms_function`` is the only thing to rewire.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from harness import registry
from harness.spec import load_specs

Terms = tuple[np.ndarray, np.ndarray]


def terms_function(task: str, spec_hash: str, metric: str
                   ) -> Callable[[pd.DataFrame], Terms | None] | None:
    """records -> per-item (num, den) of ``metric``, for the current spec of ``task`` when the
    runs were scored under it and its metric decomposes; else None."""
    spec = load_specs().get(task)
    if spec is None or spec.spec_hash != spec_hash:
        return None
    registry.import_suite(spec.suite)
    decomposers = [(registry.METRICS[m.name].item_terms, m.params) for m in spec.metrics
                   if hasattr(registry.METRICS[m.name], "item_terms")]
    if not decomposers:
        return None

    def terms(records: pd.DataFrame) -> Terms | None:
        for decompose, params in decomposers:
            out = decompose(records, **params)
            if metric in out:
                return out[metric]
        return None
    return terms


def read_records(path: str | Path) -> pd.DataFrame:
    """A run's per-item records parquet, with its JSON ``detail``/``meta`` columns decoded."""
    df = pd.read_parquet(path)
    for col in ("detail", "meta"):
        if col in df.columns:
            df[col] = df[col].map(lambda v: json.loads(v) if isinstance(v, str) else v)
    return df


def ratio(sums: dict[str, np.ndarray]) -> np.ndarray:
    """The metric of summed terms: sum(num) / sum(den), NaN where the denominator is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sums["den"] != 0, sums["num"] / np.where(sums["den"] != 0,
                                                                 sums["den"], 1.0), np.nan)
