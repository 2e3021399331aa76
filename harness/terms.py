"""Per-item metric terms: every figure a task reports, as reductions of per-item sums.

When a task finishes, each metric gives, per item, a numerator and a denominator for each
of its figures; the records store them (columns ``term_num`` / ``term_den``, aligned with
the figure names and reducers in the task's metadata). Any figure of any set of items is
``reducer(sum num, sum den)`` over those items, so verification, intervals and significance
need only the run store: no ``tasks.yaml``, no suite code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness import registry


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1), np.nan)


def _ratio0(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """A ratio whose 0/0 is 0 (scikit-learn's zero_division=0, as upstream scorers use)."""
    return np.nan_to_num(_ratio(num, den), nan=0.0)


def _agreement(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """p^2 + (1-p)^2 for p = num/den: a random guesser's accuracy at base rate p."""
    p = _ratio(num, den)
    return p * p + (1 - p) * (1 - p)


#: reducer name -> f(summed numerators, summed denominators), vectorised
REDUCERS = {"ratio": _ratio, "ratio0": _ratio0, "sum": lambda num, den: num * 1.0,
            "agreement": _agreement}


@dataclass
class Terms:
    """One task's terms: figure names, reducers, and (items x figures) num/den matrices."""

    figures: list[str]
    reducers: list[str]
    num: np.ndarray
    den: np.ndarray

    def describe(self) -> dict[str, Any]:
        return {"figures": self.figures, "reducers": self.reducers}

    def values(self, rows: np.ndarray | None = None) -> dict[str, float]:
        """Every figure over all items (or the items ``rows`` picks, repeats allowed)."""
        num = self.num if rows is None else self.num[rows]
        den = self.den if rows is None else self.den[rows]
        ns, ds = num.sum(axis=0), den.sum(axis=0)
        return {f: float(REDUCERS[r](ns[i:i + 1], ds[i:i + 1])[0])
                for i, (f, r) in enumerate(zip(self.figures, self.reducers))}

    def figure(self, name: str) -> tuple[np.ndarray, np.ndarray, str] | None:
        """(num, den, reducer) per item of one figure; None if the task has no such figure."""
        if name not in self.figures:
            return None
        i = self.figures.index(name)
        return self.num[:, i], self.den[:, i], self.reducers[i]


def item_terms(spec, records: pd.DataFrame) -> Terms:
    """The terms of every figure the spec's metrics report (plus ``n_items``)."""
    n = len(records)
    figures, reducers, nums, dens = ["n_items"], ["sum"], [np.ones(n)], [np.zeros(n)]
    for m in spec.metrics:
        fn = registry.METRICS[m.name]
        decompose = getattr(fn, "item_terms", None)
        if decompose is None:
            raise TypeError(f"metric {m.name!r} gives no per-item terms (@terms_of)")
        for figure, parts in decompose(records, **m.params).items():
            num, den, *rest = parts
            figures.append(figure)
            reducers.append(rest[0] if rest else "ratio")
            nums.append(np.asarray(num, dtype=float))
            dens.append(np.asarray(den, dtype=float))
    return Terms(figures, reducers, np.column_stack(nums), np.column_stack(dens))


def same(a: float, b: float) -> bool:
    """Equal up to float rounding (NaN equals NaN)."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def disagreement(metrics: dict[str, float], terms: Terms) -> str | None:
    """Why ``metrics`` and the figures ``terms`` give differ, or None when they agree."""
    values = terms.values()
    if set(values) != set(metrics):
        return f"figures {sorted(metrics)} but terms for {sorted(values)}"
    for k, v in values.items():
        if not same(v, metrics[k]):
            return f"{k}={metrics[k]!r} but the per-item terms give {v!r}"
    return None


def declared(spec) -> list[dict[str, Any]]:
    """The metrics a task reports, as recorded in its run metadata (name, params, version)."""
    return [{"name": m.name, "params": m.params,
             "version": str(getattr(registry.METRICS[m.name], "version", "1"))}
            for m in spec.metrics]


def recheck(records: pd.DataFrame, tmeta: dict[str, Any], stored: Terms) -> str | None:
    """Recompute a task's per-item terms from its records with its suite's metric code
    (as the run's metadata names them, not tasks.yaml) and say where they differ from
    the stored ones. None when they agree, or when that code cannot be had (suite not
    importable, metric unknown): the run store's own checks then stand alone."""
    from types import SimpleNamespace

    from harness.spec import NamedParams

    metrics = tmeta.get("metrics")
    try:
        registry.import_suite(str(tmeta.get("suite")))
    except Exception:  # noqa: BLE001 - any failure means: nothing to recheck against
        return None
    if not metrics or any(m.get("name") not in registry.METRICS for m in metrics):
        return None
    spec = SimpleNamespace(metrics=[NamedParams(m["name"], dict(m.get("params") or {}))
                                    for m in metrics])
    fresh = item_terms(spec, records)
    if fresh.figures != stored.figures or fresh.reducers != stored.reducers:
        return f"the records give figures {fresh.figures}, the stored terms {stored.figures}"
    for name, a, b in (("numerators", fresh.num, stored.num), ("denominators", fresh.den,
                                                                stored.den)):
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
            return f"the stored per-item term {name} differ from what the records give"
    return None
