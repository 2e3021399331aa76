"""Codeforces verification speed: all reference solutions of the E2H-Codeforces sample
on all their tests in the sandbox (tests/s), which pass, and the sandbox's per-run
overhead against the same program run unsandboxed (same interpreter, same flags), both
with one box per run and with one box per program (what the verifier does).

Usage: GENRANK_DATA=../shared/data python benchmarks/bench_codeforces_sandbox.py
       [--overhead-only] [--all-tests] [--out FILE]
Writes a JSON summary to stdout (and to --out if given). The full run takes minutes.
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
os.environ.setdefault("GENRANK_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))

from harness.sandbox import Sandbox, isolation_report  # noqa: E402
from suites.easy2hard.code import CodeforcesVerifier, reference_predictions  # noqa: E402
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


def overhead(items, sb: Sandbox, n: int, per_program_tests: int = 20) -> dict:
    """Sandboxed vs unsandboxed wall time, sequential and interleaved, both ways the
    verifier could run: one box per run (first test of n solutions), and one box per
    program (a solution on its first ``per_program_tests`` tests, as the verifier does)."""
    pairs = [(it.fields["reference_solutions"][0], it.fields["tests"]["inputs"][0])
             for it in items][:n]
    plain, boxed = [], []
    for src, stdin in pairs:
        plain.append(run_unsandboxed(sb.python, src, stdin))
        t0 = time.perf_counter()
        sb.run_python(src, stdin)
        boxed.append(time.perf_counter() - t0)
    single = {"runs": len(pairs), "unsandboxed_median_s": statistics.median(plain),
              "sandboxed_median_s": statistics.median(boxed),
              "ratio_median": statistics.median(boxed) / statistics.median(plain),
              "ratio_of_totals": sum(boxed) / sum(plain)}
    plain_t = boxed_t = 0.0
    runs = 0
    for it in items[:max(1, n // 6)]:
        src = it.fields["reference_solutions"][0]
        stdins = [x.replace("\r\n", "\n") for x in it.fields["tests"]["inputs"][:per_program_tests]]
        runs += len(stdins)
        plain_t += sum(run_unsandboxed(sb.python, src, x) for x in stdins)
        t0 = time.perf_counter()
        sb.run_python_tests(src, stdins)
        boxed_t += time.perf_counter() - t0
    per_program = {"programs": max(1, n // 6), "runs": runs,
                   "unsandboxed_ms_per_run": round(1000 * plain_t / runs, 1),
                   "sandboxed_ms_per_run": round(1000 * boxed_t / runs, 1),
                   "ratio": round(boxed_t / plain_t, 2)}
    return {"one_box_per_run": single, "one_box_per_program": per_program}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--overhead-runs", type=int, default=60)
    ap.add_argument("--all-tests", action="store_true",
                    help="run every test even after a solution failed one (slow: a too-slow "
                         "solution then burns the CPU limit on each of its tests)")
    ap.add_argument("--out")
    ap.add_argument("--overhead-only", action="store_true",
                    help="only measure the sandbox overhead (a minute or two)")
    args = ap.parse_args()
    items = load_items()
    if args.overhead_only:
        sb = Sandbox()
        print(json.dumps({"overhead": overhead(items, sb, args.overhead_runs), "mode": sb.mode,
                          "python": sb.python, "cpus": os.cpu_count(),
                          "loadavg": os.getloadavg()}, indent=2))
        return
    ver = CodeforcesVerifier(cpu_s=10, stop_at_first_failure=not args.all_tests)
    preds, its, keys = reference_predictions(items)
    n_tests = sum(len(it.fields["tests"]["inputs"]) for it in its)
    t0 = time.perf_counter()
    scores = ver.score_many(preds, its)
    elapsed = time.perf_counter() - t0
    executed = sum(s.detail["runs"] for s in scores)
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
        "failing": {key: {"verdict": s.detail["verdict"],
                          "needs_checker": s.detail["needs_checker"],
                          "failed_test": s.detail.get("failed_test"),
                          "cpu_s_max": round(s.detail["cpu_s_max"], 2)}
                    for key, s in zip(keys, scores) if s.value != 1.0},
        "overhead": overhead(items, ver.sandbox, args.overhead_runs),
        "isolation": isolation_report(), "loadavg": os.getloadavg(),
        "python": ver.sandbox.python, "cpus": os.cpu_count(),
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
