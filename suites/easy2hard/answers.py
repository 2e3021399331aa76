"""Math and multiple-choice verifiers: read an answer from free text, compare it.

Math extraction rule (in order): the last ``\\boxed{}``; else the text after the last
``####``; else after the last "answer is"/"Answer:"; else the last number. The
candidate and the gold answer are compared by math-verify (symbolic/numeric
equivalence: 1/2 = 0.5 = \\frac{1}{2}); without math-verify, numerically.
"""

from __future__ import annotations

import re
import threading

from harness.registry import NoParams, Verifier, verifier
from harness.types import Item, Score
from suites.easy2hard.loaders import last_boxed

_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_ANSWER_IS = re.compile(r"(?:final answer|answer)\s*(?:is|:|=)\s*:?\s*(.+)", re.I)


def extract_math(text: str) -> str | None:
    """The answer span of a free-form solution (see the module's rule)."""
    text = text or ""
    boxed = last_boxed(text)
    if boxed:
        return boxed
    if "####" in text:
        tail = text.rsplit("####", 1)[1].strip().splitlines()
        return tail[0].strip() if tail else None
    hits = _ANSWER_IS.findall(text)
    if hits:
        span = hits[-1].strip().rstrip(".")
        nums = _NUM.findall(span)
        return span if "$" in span or "\\" in span or not nums else nums[0].replace(",", "")
    nums = _NUM.findall(text)
    return nums[-1].replace(",", "") if nums else None


def _numeric(s: str) -> float | None:
    s = s.replace(",", "").replace("$", "").strip()
    try:
        if "/" in s:
            a, b = s.split("/", 1)
            return float(a) / float(b)
        return float(s)
    except (ValueError, ZeroDivisionError):
        return None


def math_equal(gold: str, answer: str) -> bool:
    """Equivalence of two answer strings (math-verify; numeric fallback)."""
    if answer is None:
        return False
    g, a = _numeric(gold), _numeric(answer)
    if g is not None and a is not None:
        return abs(g - a) <= 1e-6 * max(1.0, abs(g))
    try:
        from math_verify import parse, verify
    except ImportError:  # pragma: no cover - math-verify is a dependency
        return gold.strip() == answer.strip()
    # math-verify times out with signals, which only work in the main thread
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    wrap = (lambda s: s if "$" in s else f"${s}$")
    pg = parse(wrap(gold), parsing_timeout=timeout)
    pa = parse(wrap(answer), parsing_timeout=timeout)
    return bool(pg and pa and verify(pg, pa, timeout_seconds=timeout))


@verifier
class MathAnswer(Verifier):
    """Free-form math answer (AMC, AIME, MATH, GSM8K), extraction rule in the module doc."""

    name = "math_answer"
    version = "1"
    Params = NoParams

    def score(self, prediction: str, item: Item, evidence: dict | None = None) -> Score:
        ans = extract_math(prediction)
        ok = ans is not None and math_equal(item.target, ans)
        return Score(float(ok), extracted=ans)


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
