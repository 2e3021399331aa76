"""The detector's verdict: the paper's prompts end with a fixed sentence to parse."""

from __future__ import annotations

import re

from harness.registry import NoParams, Verifier, verifier
from harness.types import Item, Score

# Upstream's four prompts ask for one of these closing sentences (prompts 1-2 / 3-4).
_VERDICT = re.compile(r"(contains\s+no\s+errors?)|(contains\s+an?\s+errors?)|(is\s+not\s+valid)"
                      r"|(is\s+valid)", re.I)
_LABELS = ("no_error", "error", "error", "no_error")


def parse_verdict(text: str | None) -> str | None:
    """'error', 'no_error', or None when the output states no verdict.

    Already-parsed labels pass through; otherwise the last verdict sentence wins
    (the prompts ask for the explanation first and the verdict at the end).
    """
    if text is None:
        return None
    stripped = text.strip()
    if stripped in ("error", "no_error"):
        return stripped
    last = None
    for last in _VERDICT.finditer(stripped):
        pass
    return None if last is None else _LABELS[last.lastindex - 1]


@verifier
class RealMistakeVerdict(Verifier):
    """Score 1 when the detector's verdict equals the human label; unparsable = wrong."""

    name = "realmistake_verdict"
    Params = NoParams

    def score(self, prediction: str, item: Item, evidence: dict | None = None) -> Score:
        verdict = parse_verdict(prediction)
        return Score(float(verdict == item.target), extracted=verdict,
                     detail={"parsed": verdict is not None})
