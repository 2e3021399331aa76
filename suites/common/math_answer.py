"""The ``math_answer`` verifier: a free-form math answer read from text and compared.

Shared by every family with math items (Easy2Hard's AMC, AIME, MATH, GSM8K; any other
suite may name it). Extraction rule (in order): the last ``\\boxed{}``; else the text
after the last ``####``; else after the last "answer is"/"Answer:"; else the last
number. The candidate and the gold answer are compared by math-verify (symbolic/numeric
equivalence: 1/2 = 0.5 = \\frac{1}{2}); without math-verify, numerically.
"""

from __future__ import annotations

import re
import threading

from harness.registry import NoParams, Verifier, verifier
from harness.types import Item, Score


def last_boxed(text: str) -> str | None:
    r"""Content of the last ``\boxed{...}`` / ``\fbox{...}`` (balanced braces)."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth, j = 1, i
    while j < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        j += 1
    return text[i:j - 1].strip() if depth == 0 else None


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
