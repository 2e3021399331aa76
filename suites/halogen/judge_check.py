"""Measuring a judge before trusting it: its decisions on HALoGEN's published responses
against the published labels.

The judge decomposes a response into its own atomic facts, so its facts cannot be
paired with the published ones; what both decide is the response: ``hallucinated``
(some unit false), ``supported`` (none false) or, where the domain counts a response
without units as a refusal (references), ``abstained``. Responses that upstream's
phrase rule marks abstained (or empty) are not sent to the judge and are not counted
as decisions; they still count in the hallucination score, as upstream's scorer does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from harness.errors import GenrankError
from harness.items import load_items
from harness.replay import read_predictions
from harness.spec import TaskSpec
from harness.types import Item
from suites.halogen.data import MODELS, _files, model_name
from suites.halogen.metrics import halogen_scores
from suites.halogen.rules import is_abstained

LABELS = ("supported", "hallucinated", "abstained")


def label(row: Sequence) -> str:
    """A response's decision from its [abstained, rate, utility] row."""
    abstained, rate = row[0], row[1]
    return "abstained" if abstained else ("hallucinated" if rate and rate > 0 else "supported")


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two raters over the same units; nan when chance agreement is 1
    (both raters used one and the same label: kappa is undefined)."""
    if len(a) != len(b):
        raise ValueError("raters must decide the same units")
    n = len(a)
    if n == 0:
        return math.nan
    observed = sum(x == y for x, y in zip(a, b)) / n
    cats = set(a) | set(b)
    chance = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in cats)
    return math.nan if chance >= 1.0 else (observed - chance) / (1.0 - chance)


@dataclass(frozen=True)
class Published:
    """One published response with the item it answers and its verified units."""

    model: str
    item: Item
    evidence: dict

    @property
    def response(self) -> str:
        return self.evidence.get("response") or ""


def published_responses(spec: TaskSpec, path: Path, models: Sequence[str] | None,
                        limit: int | None) -> list[Published]:
    """Every published response (repeated prompts' extra rows included) to the task's
    first ``limit`` items, for the chosen models (default: all the files hold)."""
    domain = spec.loader_params["domain"]
    unknown = [m for m in models or () if m not in MODELS]
    if unknown:
        raise GenrankError(f"unknown published model {unknown[0]!r} (known: "
                           f"{', '.join(MODELS)})", task=spec.name, field="--published-model")
    files = _files(path, domain, spec) if path.is_dir() else [path]
    if models:
        files = [f for f in files if model_name(f, domain) in models]
        if not files:
            raise GenrankError(f"no published file for {', '.join(models)}", file=str(path),
                               task=spec.name, field="--published-model")
    wanted = {it.id: it for it in load_items(spec, limit)}
    out = []
    for file in files:
        frame = read_predictions(spec, file)
        for row in frame.itertuples(index=False):
            if row.item_id in wanted and not row.evidence.get("absent"):
                out.extend(Published(row.model, wanted[row.item_id], ev)
                           for ev in row.evidence["rows"])
    if not out:
        raise GenrankError("no published response to check", file=str(path), task=spec.name,
                           field="--limit")
    return out


def decide(verifier, responses: Sequence[Published]) -> pd.DataFrame:
    """One row per response: the published decision and rate, the judge's, its output."""
    published = [verifier.from_evidence({"rows": [r.evidence]}).detail["rows"][0]
                 for r in responses]
    judged = verifier.score_many([r.response for r in responses], [r.item for r in responses])
    rows = []
    for r, pub, score in zip(responses, published, judged):
        mine = score.detail["rows"][0]
        rows.append({
            "model": r.model, "item_id": r.item.id,
            "asked": not (is_abstained(r.response) or not r.response.strip()),
            "published": label(pub), "judge": label(mine),
            "published_rate": pub[1], "judge_rate": mine[1],
            "published_row": list(pub), "judge_row": list(mine),
            "judge_output": score.detail.get("judge_output", "")})
    return pd.DataFrame(rows)


def _scores(rows: pd.Series) -> dict[str, float]:
    return halogen_scores(pd.DataFrame({"detail": [{"rows": [r]} for r in rows]}))


def agreement(decisions: pd.DataFrame) -> pd.DataFrame:
    """Per published model and over all: accuracy and Cohen's kappa of the judge's
    decisions on the responses it was asked about, and the hallucination score each
    side's labels give over every response."""
    groups = [(m, g) for m, g in decisions.groupby("model", sort=True)]
    if len(groups) > 1:
        groups.append(("all", decisions))
    table = []
    for model, g in groups:
        asked = g[g["asked"]]
        pub, mine = _scores(g["published_row"]), _scores(g["judge_row"])
        p_score = pub.get("hallucination_score", math.nan)
        j_score = mine.get("hallucination_score", math.nan)
        table.append({
            "model": model, "responses": len(g), "decisions": len(asked),
            "accuracy": float((asked["published"] == asked["judge"]).mean())
            if len(asked) else math.nan,
            "kappa": cohen_kappa(asked["published"].tolist(), asked["judge"].tolist()),
            "published_hallucination_score": p_score, "judge_hallucination_score": j_score,
            "difference": j_score - p_score})
    return pd.DataFrame(table)
