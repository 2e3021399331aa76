"""The multiple-choice verifier; the math verifier (``math_answer``), shared with other
families, lives in suites.common.math_answer and is re-exported here."""

from __future__ import annotations

import re

from harness.registry import NoParams, Verifier, verifier
from harness.types import Item, Score
from suites.common.math_answer import MathAnswer, extract_math, math_equal  # noqa: F401


@verifier
class ChoiceAnswer(Verifier):
    """Multiple choice: the prediction is an option's text (log-likelihood runs) or free
    text, from which a label (A/B/.. or 1/2) or an option's text is read.

    Rule: exact option text; else "answer is X"/"Answer: X"; else a leading label
    ("B", "(B)", "B."); else the only option text that the output contains.
    """

    name = "choice_answer"
    version = "1"
    Params = NoParams

    def score(self, prediction: str, item: Item, evidence: dict | None = None) -> Score:
        label = extract_choice(prediction, item.fields["labels"], item.fields["choices"])
        return Score(float(label == item.target), extracted=label)


def extract_choice(text: str, labels: list[str], choices: list[str]) -> str | None:
    text = (text or "").strip()
    norm = [c.strip().lower() for c in choices]
    if text.lower() in norm:
        return labels[norm.index(text.lower())]
    alt = "|".join(re.escape(lb) for lb in sorted(labels, key=len, reverse=True))
    m = re.findall(rf"(?:answer|option)\s*(?:is|:)?\s*:?\s*\(?\b({alt})\b\)?", text, re.I)
    if m:
        return _label(m[-1], labels)
    m = re.match(rf"\(?({alt})\b\)?(?:[.):\s]|$)", text, re.I)
    if m:
        return _label(m.group(1), labels)
    found = [labels[i] for i, c in enumerate(norm) if c and c in text.lower()]
    return found[0] if len(found) == 1 else None


def _label(raw: str, labels: list[str]) -> str | None:
    for lb in labels:
        if lb.lower() == raw.lower():
            return lb
    return None
