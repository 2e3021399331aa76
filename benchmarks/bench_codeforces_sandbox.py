"""Codeforces verification speed: all reference solutions of the E2H-Codeforces sample
on all their tests in the sandbox (tests/s), which pass, and the sandbox's per-run
overhead against the same program run unsandboxed (same interpreter, same flags).

Usage: GENRANK_DATA=../shared/data python benchmarks/bench_codeforces_sandbox.py [--sample N]
Writes a JSON summary to stdout (and to --out if given).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.sandbox import Sandbox, isolation_report  # noqa: E402
from suites.easy2hard.code import CodeforcesVerifier  # noqa: E402
from suites.easy2hard.loaders import rows_to_items, _read_file  # noqa: E402
from harness.data import data_root  # noqa: E402

SAMPLE = "easy2hard/E2H-Codeforces.sample.json"


def load_items():
    return rows_to_items(_read_file(data_root() / SAMPLE), "E2H-Codeforces", "rating")


def run_unsandboxed(python: str, source: str, stdin: str) -> float:
    """Wall seconds of ``python -I -S main.py < stdin`` with no isolation at all."""
    with tempfile.TemporaryDirectory() as d:
        Path(d, "main.py").write_text(source)
        with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout:
            fin.write(stdin.encode())
            fin.seek(0)
            t0 = time.perf_counter()
            subprocess.run([python, "-I", "-S", "main.py"], stdin=fin, stdout=fout,
                           stderr=subprocess.DEVNULL, cwd=d, timeout=30)
            return time.perf_counter() - t0


def overhead(items, sb: Sandbox, n: int) -> dict:
    """Sequential, interleaved runs of the first test of n solutions, both ways."""
    pairs = [(it.fields["reference_solutions"][0], it.fields["tests"]["inputs"][0])
             for it in items][:n]
    plain, boxed = [], []
    for src, stdin in pairs:
        plain.append(run_unsandboxed(sb.python, src, stdin))
        t0 = time.perf_counter()
        sb.run_python(src, stdin)
        boxed.append(time.perf_counter() - t0)
    return {"runs": len(pairs), "unsandboxed_median_s": statistics.median(plain),
            "sandboxed_median_s": statistics.median(boxed),
            "ratio_median": statistics.median(boxed) / statistics.median(plain),
            "ratio_of_totals": sum(boxed) / sum(plain)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--overhead-runs", type=int, default=60)
    ap.add_argument("--all-tests", action="store_true",
                    help="run every test even after a solution failed one (slow: a too-slow "
                         "solution then burns the CPU limit on each of its tests)")
    ap.add_argument("--out")
    args = ap.parse_args()
    items = load_items()
    ver = CodeforcesVerifier(cpu_s=10, stop_at_first_failure=not args.all_tests)
    preds, its = [], []
    for it in items:
        for sol in it.fields["reference_solutions"]:
            preds.append(f"```python\n{sol}\n```")
            its.append(it)
    n_tests = sum(len(it.fields["tests"]["inputs"]) for it in its)
    t0 = time.perf_counter()
    scores = ver.score_many(preds, its)
    elapsed = time.perf_counter() - t0
    executed = sum(min(s.detail["n_tests"], s.detail.get("failed_test", s.detail["n_tests"]) + 1)
                   for s in scores)
    by_reason: dict[str, int] = {}
    for s, it in zip(scores, its):
        if s.value == 1.0:
            key = "accepted"
        elif it.meta.get("needs_checker"):
            key = "needs_checker"
        else:
            key = s.detail["verdict"]
        by_reason[key] = by_reason.get(key, 0) + 1
    summary = {
        "solutions": len(preds), "problems": len(items), "test_runs": n_tests,
        "distinct_tests": sum(len(it.fields["tests"]["inputs"]) for it in items),
        "test_runs_executed": executed, "seconds": round(elapsed, 1),
        "tests_per_second": round(executed / elapsed, 2),
        "workers": ver.sandbox.workers, "accepted": sum(s.value == 1.0 for s in scores),
        "outcomes": by_reason,
        "failing": sorted(f"{it.id}#{k}:{s.detail['verdict']}" for k, (s, it) in enumerate(
            zip(scores, its)) if s.value != 1.0),
        "overhead": overhead(items, ver.sandbox, args.overhead_runs),
        "isolation": isolation_report(), "python": ver.sandbox.python, "cpus": os.cpu_count(),
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
