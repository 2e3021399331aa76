"""Benchmark-agnostic verifiers and metrics any task may name in tasks.yaml."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.registry import Verifier, metric, terms_of, verifier
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

    @dataclass(frozen=True)
    class Params:
        ignore_spaces: bool = False
        lowercase: bool = False
        first_line: bool = False
        strip_chars: str = ""

    def score(self, prediction: str, item: Item, evidence: dict | None = None) -> Score:
        pred = normalize(prediction, **self.params)
        gold = normalize(item.target, **{k: v for k, v in self.params.items() if k != "first_line"})
        return Score(float(pred == gold), extracted=pred)


@metric("accuracy")
def accuracy(records, **_: Any) -> dict[str, float]:
    """Mean item score (for exact-match tasks: sequence accuracy)."""
    return {"accuracy": float(records["score"].mean()) if len(records) else math.nan}


@terms_of(accuracy)
def _accuracy_terms(records, **_: Any):
    score = records["score"].to_numpy(dtype=float)
    return {"accuracy": (score, np.ones(len(score)))}


def _meta_values(records, field: str):
    return records["meta"].map(lambda m: m.get(field) if isinstance(m, dict) else None)


@metric("accuracy_by")
def accuracy_by(records, field: str, **_: Any) -> dict[str, float]:
    """Mean score per value of a meta field (e.g. COGS's generalisation category)."""
    col = _meta_values(records, field)
    return {f"accuracy[{field}={k}]": float(v)
            for k, v in records["score"].groupby(col).mean().sort_index().items()}


@terms_of(accuracy_by)
def _accuracy_by_terms(records, field: str, **_: Any):
    col = _meta_values(records, field)
    score = records["score"].to_numpy(dtype=float)
    out = {}
    for k in records["score"].groupby(col).mean().sort_index().index:
        member = (col == k).to_numpy(dtype=float)
        out[f"accuracy[{field}={k}]"] = (score * member, member)
    return out


def _difficulty_bins(records, bins: int):
    """(edges, bin index per item or -1) of the difficulty quantile bins; None if no item
    has a difficulty."""
    diff = records["difficulty"].astype(float)
    ok = diff.notna().to_numpy()
    if ok.sum() == 0:
        return None
    edges = np.unique(np.quantile(diff[ok], np.linspace(0, 1, bins + 1)))
    idx = np.full(len(diff), -1)
    idx[ok] = np.clip(np.searchsorted(edges, diff[ok], side="right") - 1, 0, len(edges) - 2)
    return edges, idx


@metric("accuracy_by_difficulty")
def accuracy_by_difficulty(records, bins: int = 5, **_: Any) -> dict[str, float]:
    """Accuracy per difficulty quantile bin; bin edges are reported alongside."""
    found = _difficulty_bins(records, bins)
    if found is None:
        return {}
    edges, idx = found
    score = records["score"].to_numpy(dtype=float)
    out: dict[str, float] = {}
    for b in range(len(edges) - 1):
        sel = idx == b
        out[f"acc_bin{b + 1}[{edges[b]:.6g},{edges[b + 1]:.6g}]"] = (
            float(score[sel].mean()) if sel.any() else math.nan)
    return out


@terms_of(accuracy_by_difficulty)
def _accuracy_by_difficulty_terms(records, bins: int = 5, **_: Any):
    found = _difficulty_bins(records, bins)
    if found is None:
        return {}
    edges, idx = found
    score = records["score"].to_numpy(dtype=float)
    return {f"acc_bin{b + 1}[{edges[b]:.6g},{edges[b + 1]:.6g}]":
            (score * (idx == b), (idx == b).astype(float)) for b in range(len(edges) - 1)}


from harness.splits import files as _split_files  # noqa: E402,F401  (registers split_items)
