"""Codeforces verifier: extract a Python program, run it on every test in the sandbox.

Test inputs are fed with CRLF turned into LF (the dump's inputs are CRLF; Python's
``input()`` keeps a stray CR otherwise). Accepted when every output matches the expected
answer after normalisation: CRLF -> LF, whitespace-separated tokens, numeric tokens equal within 1e-6 (absolute or
relative; integers exactly). Problems that accept several correct answers cannot be
judged by comparison: the loader marks them (``meta.needs_checker``) and the score's
detail says so, so they are reported apart rather than counted as string matches.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from harness.registry import Verifier, verifier
from harness.sandbox import Limits, RunResult, Sandbox, detect_mode, unsafe_allowed
from harness.types import Item, Score

_FENCE = re.compile(r"```[ \t]*([\w+#-]*)[^\n]*\n(.*?)```", re.S)
_INT = re.compile(r"[+-]?\d+")
_MULTI = re.compile(r"(print|output) any( of them| one| such| valid| correct)?|any of (them|the)|"
                    r"multiple (possible |correct |valid )?(answers|solutions)|"
                    r"several (possible |correct )?(answers|solutions)|"
                    r"если возможных ответов несколько", re.I)


def extract_program(text: str) -> str:
    """The last fenced block tagged python/py (or untagged); the whole text if none."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text or "")]
    for lang, body in reversed(blocks):
        if lang in ("python", "python3", "py", ""):
            return body.strip("\n")
    return (text or "").strip()


def _token_equal(got: str, want: str, tol: float) -> bool:
    if got == want:
        return True
    if _INT.fullmatch(got) and _INT.fullmatch(want):
        return int(got) == int(want)
    try:
        a, b = float(got), float(want)
    except ValueError:
        return False
    if a != a or b != b:
        return False
    return abs(a - b) <= tol * max(1.0, abs(b))


def outputs_match(got: str, want: str, tol: float = 1e-6) -> bool:
    """Whitespace/CRLF-normalised token comparison with a numeric tolerance."""
    g = got.replace("\r\n", "\n").split()
    w = want.replace("\r\n", "\n").split()
    return len(g) == len(w) and all(_token_equal(x, y, tol) for x, y in zip(g, w))


def checker_reason(statement: str, answers: Sequence[str],
                   recorded: Sequence[Sequence[str]]) -> str | None:
    """Why a problem needs a checker of its own, or None if comparison can judge it.

    Evidence, strongest first: accepted reference solutions whose recorded outputs
    differ from the expected answers, or a statement that allows any valid answer.
    """
    for outs in recorded:
        if len(outs) == len(answers) and any(not outputs_match(o, a)
                                             for o, a in zip(outs, answers)):
            return "accepted solutions print answers different from the expected ones"
    if _MULTI.search(statement or ""):
        return "statement accepts several correct answers"
    return None


def reference_predictions(items: Sequence[Item]) -> tuple[list[str], list[Item], list[str]]:
    """Each item's accepted reference solutions as model-style outputs, keyed problem#k."""
    preds, its, keys = [], [], []
    for it in items:
        for k, sol in enumerate(it.fields["reference_solutions"]):
            preds.append(f"```python\n{sol}\n```")
            its.append(it)
            keys.append(f"{it.id}#{k}")
    return preds, its, keys


@verifier
class CodeforcesVerifier(Verifier):
    """Params: ``cpu_s`` (default 10), ``wall_s`` (3 * cpu_s + 10), ``memory_mb`` (512),
    ``tolerance`` (1e-6), ``stop_at_first_failure`` (True: a failed test ends the item's
    runs)."""

    name = "codeforces_tests"
    version = "1"

    def __init__(self, **params) -> None:
        super().__init__(**params)
        cpu = float(params.get("cpu_s", 10))
        # CPU time decides time limits; the wall limit only catches programs that sleep or
        # block, so it is generous (and the sandbox extends it, up to twice, while a
        # program keeps burning CPU on a loaded machine).
        self.limits = Limits(cpu_s=cpu, wall_s=float(params.get("wall_s", 3 * cpu + 10)),
                             memory_mb=int(params.get("memory_mb", 512)))
        self.tol = float(params.get("tolerance", 1e-6))
        self.stop = bool(params.get("stop_at_first_failure", True))
        # checked here, at plan time: no isolation (and no --unsafe-code) stops the run
        # before any model work
        self.mode = detect_mode()
        self._sandbox: Sandbox | None = None

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = Sandbox(self.limits, mode=self.mode)
        return self._sandbox

    def describe(self) -> dict:
        """As any verifier, plus where the code ran (recorded in the run's metadata)."""
        return {**super().describe(),
                "sandbox": {"mode": self.mode, "unsafe_code": unsafe_allowed()}}

    def score(self, prediction: str, item: Item, evidence: dict | None = None) -> Score:
        return self.score_many([prediction], [item])[0]

    def score_many(self, predictions: Sequence[str], items: Sequence[Item],
                   evidence=None) -> list[Score]:
        """Each program runs on its tests in one sandbox box (set up once, one fork per
        test); boxes run in parallel up to ``workers``. A batch with fewer programs than
        workers splits each program's tests into chunks, so the cores stay busy."""
        programs = [extract_program(p) if p is not None else "" for p in predictions]
        failed: set[int] = set()
        results: dict[tuple[int, int], tuple[RunResult, bool]] = {}
        todo = [i for i in range(len(items)) if programs[i]]
        workers = self.sandbox.workers
        per = 1 if len(todo) >= workers else -(-workers // max(1, len(todo)))

        def job(chunk: tuple[int, list[int]]) -> None:
            i, tests = chunk
            if self.stop and i in failed:
                return
            tests_of = items[i].fields["tests"]
            inputs, answers = tests_of["inputs"], tests_of["answers"]

            def keep_going(k: int, res: RunResult) -> bool:
                t = tests[k]
                ok = res.verdict == "ok" and outputs_match(res.stdout, answers[t], self.tol)
                results[(i, t)] = (res, ok)
                if not ok:
                    failed.add(i)
                return not (self.stop and i in failed)

            stdins = [inputs[t].replace("\r\n", "\n") for t in tests]  # CF inputs are CRLF
            self.sandbox.run_python_tests(programs[i], stdins, self.limits, keep_going)

        chunks = []
        for i in todo:
            n = len(items[i].fields["tests"]["inputs"])
            size = max(1, -(-n // per))
            chunks += [(i, list(range(s, min(n, s + size)))) for s in range(0, n, size)]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(job, chunks))
        return [self._summarise(i, items[i], programs[i], results) for i in range(len(items))]

    def _summarise(self, i: int, item: Item, program: str, results: dict) -> Score:
        n = len(item.fields["tests"]["inputs"])
        runs = [results.get((i, t)) for t in range(n)]
        done = [r for r in runs if r is not None]
        passed = sum(ok for _, ok in done)
        first_fail = next(((t, r) for t, r in enumerate(runs) if r is not None and not r[1]), None)
        detail = {"n_tests": n, "runs": len(done), "passed": passed, "needs_checker": bool(
            item.meta.get("needs_checker")), "cpu_s_max": max((r.cpu_s for r, _ in done),
                                                              default=0.0),
                  "sandbox_mode": self.sandbox.mode}
        if not program:
            verdict = "no_program"
        elif first_fail is None and passed == n:
            verdict = "accepted"
        else:
            t, (res, _) = first_fail
            verdict = "wrong_answer" if res.verdict == "ok" else res.verdict
            detail.update(failed_test=t, stderr=res.stderr[-300:])
        if detail["needs_checker"]:
            detail["checker_reason"] = item.meta.get("checker_reason")
        detail["verdict"] = verdict
        return Score(float(verdict == "accepted"), extracted=json.dumps(verdict), detail=detail)
