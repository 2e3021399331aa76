"""Benchmark-agnostic verifiers and metrics any task may name in tasks.yaml."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from harness.registry import Verifier, metric, verifier
from harness.types import Item, Score

_WS = re.compile(r"\s+")


def normalize(text: str, *, ignore_spaces: bool = False, lowercase: bool = False,
              first_line: bool = False, strip_chars: str = "") -> str:
    """The exact-match normalisation rule, spelt out by the task's verifier params."""
    text = text or ""
    if first_line:
        text = text.strip().split("\n", 1)[0] if text.strip() else ""
    if lowercase:
        text = text.lower()
    text = text.strip().strip(strip_chars) if strip_chars else text.strip()
    return _WS.sub("", text) if ignore_spaces else _WS.sub(" ", text)


@verifier
class ExactMatch(Verifier):
    """Sequence accuracy: 1 if the normalised prediction equals the normalised target.

    Params: ``ignore_spaces`` (the Validity paper's rule: compare with all whitespace
    removed), ``lowercase``, ``first_line`` (judge only the first output line, as
    generative LMs continue past the answer), ``strip_chars``.
    """

    name = "exact_match"

    def score(self, prediction: str, item: Item, evidence: dict | None = None) -> Score:
        pred = normalize(prediction, **self.params)
        gold = normalize(item.target, **{k: v for k, v in self.params.items() if k != "first_line"})
        return Score(float(pred == gold), extracted=pred)


@metric("accuracy")
def accuracy(records, **_: Any) -> dict[str, float]:
    """Mean item score (for exact-match tasks: sequence accuracy)."""
    return {"accuracy": float(records["score"].mean()) if len(records) else math.nan}


@metric("accuracy_by")
def accuracy_by(records, field: str, **_: Any) -> dict[str, float]:
    """Mean score per value of a meta field (e.g. COGS's generalisation category)."""
    col = records["meta"].map(lambda m: m.get(field) if isinstance(m, dict) else None)
    return {f"accuracy[{field}={k}]": float(v)
            for k, v in records["score"].groupby(col).mean().sort_index().items()}


@metric("accuracy_by_difficulty")
def accuracy_by_difficulty(records, bins: int = 5, **_: Any) -> dict[str, float]:
    """Accuracy per difficulty quantile bin; bin edges are reported alongside."""
    diff = records["difficulty"].astype(float)
    ok = diff.notna()
    if ok.sum() == 0:
        return {}
    edges = np.unique(np.quantile(diff[ok], np.linspace(0, 1, bins + 1)))
    idx = np.clip(np.searchsorted(edges, diff[ok], side="right") - 1, 0, len(edges) - 2)
    out: dict[str, float] = {}
    for b in range(len(edges) - 1):
        sel = idx == b
        out[f"acc_bin{b + 1}[{edges[b]:.6g},{edges[b + 1]:.6g}]"] = (
            float(records["score"][ok][sel].mean()) if sel.any() else math.nan)
    return out


from harness.splits import files as _split_files  # noqa: E402,F401  (registers split_items)
