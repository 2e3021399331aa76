"""Codeforces verifier on the real E2H-Codeforces sample: comparison rule, checker
marking, and which of the 180 reference solutions pass in the sandbox."""

from __future__ import annotations

import json
import os

import pytest

import suites.easy2hard  # noqa: F401
from harness.types import Item
from suites.easy2hard.code import CodeforcesVerifier, extract_program, outputs_match
from suites.easy2hard.loaders import _read_file, rows_to_items

SAMPLE = "easy2hard/E2H-Codeforces.sample.json"


@pytest.fixture(scope="module")
def items() -> list[Item]:
    path = os.path.join(os.environ["GENRANK_DATA"], SAMPLE)
    if not os.path.exists(path):
        pytest.skip(f"data file {SAMPLE} not under GENRANK_DATA")
    return rows_to_items(_read_file(__import__("pathlib").Path(path)), "E2H-Codeforces", "rating")


def _by_id(items, pid):
    return next(i for i in items if i.id == pid)


def test_comparison_rule():
    assert outputs_match("2.5\n", "2.5000000000\r\n")
    assert outputs_match("1 2\n3", "1  2\r\n3\r\n")
    assert outputs_match("0.3333333", "0.333333333")          # within 1e-6
    assert not outputs_match("0.3333", "0.333333333")
    assert not outputs_match("12345678901234567891", "12345678901234567890")  # ints exact
    assert not outputs_match("YES", "NO") and not outputs_match("1 2", "1 2 3")


def test_extract_program():
    assert extract_program("Here:\n```python\nprint(1)\n```\ntext") == "print(1)"
    assert extract_program("```\nA\n```\n```py\nB\n```") == "B"
    assert extract_program("print(2)") == "print(2)"


def test_sample_schema(items):
    assert len(items) == 60
    assert sum(len(i.fields["tests"]["inputs"]) for i in items) == 2693
    assert all(len(i.fields["reference_solutions"]) == 3 for i in items)
    assert all(i.difficulty == i.meta["rating"] for i in items)


def test_checker_marking(items):
    marked = {i.id for i in items if i.meta["needs_checker"]}
    # "print any" problems and problems whose accepted solutions disagree with the answers
    assert {"1141D", "892D", "1006B", "60C", "646B"} <= marked
    # float outputs that differ only in digits are NOT multi-answer (tolerance handles them)
    assert not _by_id(items, "492B").meta["needs_checker"]
    assert not _by_id(items, "808B").meta["needs_checker"]


def test_reference_and_wrong_programs_subset(items):
    ver = CodeforcesVerifier(cpu_s=2)
    it = _by_id(items, "1031A")
    small = Item(it.id, {**it.fields, "tests": {k: v[:6] for k, v in it.fields["tests"].items()}},
                 it.target, it.meta)
    preds = [f"```python\n{it.fields['reference_solutions'][0]}\n```",
             "print(0)", "while True: pass", "raise SystemExit(1)", ""]
    scores = ver.score_many(preds, [small] * len(preds))
    verdicts = [s.detail["verdict"] for s in scores]
    assert verdicts[2] in ("time_limit", "wall_time_limit")  # wall when the cores are busy
    assert verdicts[:2] + verdicts[3:] == ["accepted", "wrong_answer", "runtime_error",
                                           "no_program"]
    assert scores[0].value == 1.0 and scores[0].detail["passed"] == 6
    assert json.loads(scores[1].extracted) == "wrong_answer"


# Filled from the one full benchmark run (benchmarks/bench_codeforces_sandbox.py):
# reference solutions (problem#k) that do not pass a plain comparison, with the reason.
EXPECTED_FAILURES: dict[str, str] = {}


@pytest.mark.slow
def test_which_reference_solutions_pass(items):
    """All 180 reference solutions, 10 s CPU each test, stopping at a solution's first
    failed test. Those that fail are exactly the ones that need a checker or are too
    slow for CPython."""
    if not EXPECTED_FAILURES:
        pytest.skip("EXPECTED_FAILURES not recorded yet: run the benchmark once and fill it")
    ver = CodeforcesVerifier(cpu_s=10)
    preds, its, keys = [], [], []
    for it in items:
        for k, sol in enumerate(it.fields["reference_solutions"]):
            preds.append(f"```python\n{sol}\n```")
            its.append(it)
            keys.append(f"{it.id}#{k}")
    scores = ver.score_many(preds, its)
    failing = {key: ("needs_checker" if it.meta["needs_checker"] else s.detail["verdict"])
               for key, s, it in zip(keys, scores, its) if s.value != 1.0}
    assert failing == EXPECTED_FAILURES
    assert len(preds) - len(failing) == 180 - len(EXPECTED_FAILURES)
