"""Codeforces verification speed: all reference solutions of the E2H-Codeforces sample
on all their tests in the sandbox (tests/s), which pass, and the sandbox's per-run
overhead against the same program run unsandboxed (same interpreter, same flags) and
against the previous sandbox (``git show main~N:harness/sandbox.py``, hand-written
namespaces, loaded from git in the same command, runs alternating), both with one box per
run and with one box per program (what the verifier does).

Usage: GENRANK_DATA=../shared/data python benchmarks/bench_codeforces_sandbox.py
       [--overhead-only] [--baseline-rev REV] [--all-tests] [--out FILE]
Writes a JSON summary to stdout (and to --out if given). The full run takes minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GENRANK_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))

from harness.sandbox import Limits, Sandbox, isolation_report  # noqa: E402
from suites.easy2hard.code import CodeforcesVerifier, reference_predictions  # noqa: E402
from suites.easy2hard.loaders import rows_to_items, _read_file  # noqa: E402
from harness.data import data_root  # noqa: E402

SAMPLE = "easy2hard/E2H-Codeforces.sample.json"
BASELINE = "56364db"  # the last sandbox with hand-written namespaces


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


def baseline_sandbox(rev: str):
    """The sandbox module as of ``rev`` (git), imported under another name."""
    text = subprocess.run(["git", "show", f"{rev}:harness/sandbox.py"], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).resolve().parent.parent).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_sandbox.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("baseline_sandbox", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def overhead(items, boxes: dict, n: int, per_program_tests: int = 20) -> dict:
    """Wall time per run of each sandbox in ``boxes`` (name -> Sandbox) and unsandboxed,
    runs alternating between them, both ways the verifier could run: one box per run
    (first test of n solutions), and one box per program (a solution on its first
    ``per_program_tests`` tests, as the verifier does). Ratios: each sandbox against the
    unsandboxed run and against the first sandbox named."""
    python = next(iter(boxes.values())).python
    pairs = [(it.fields["reference_solutions"][0], it.fields["tests"]["inputs"][0])
             for it in items][:n]
    single: dict[str, list[float]] = {"unsandboxed": [], **{k: [] for k in boxes}}
    for k, (src, stdin) in enumerate(pairs):
        single["unsandboxed"].append(run_unsandboxed(python, src, stdin))
        order = list(boxes.items()) if k % 2 == 0 else list(boxes.items())[::-1]
        for name, sb in order:
            t0 = time.perf_counter()
            sb.run_python(src, stdin)
            single[name].append(time.perf_counter() - t0)
    batched = {"unsandboxed": 0.0, **{k: 0.0 for k in boxes}}
    runs = 0
    progs = items[:max(1, n // 6)]
    for k, it in enumerate(progs):
        src = it.fields["reference_solutions"][0]
        stdins = [x.replace("\r\n", "\n") for x in it.fields["tests"]["inputs"][:per_program_tests]]
        runs += len(stdins)
        batched["unsandboxed"] += sum(run_unsandboxed(python, src, x) for x in stdins)
        order = list(boxes.items()) if k % 2 == 0 else list(boxes.items())[::-1]
        for name, sb in order:
            t0 = time.perf_counter()
            sb.run_python_tests(src, stdins)
            batched[name] += time.perf_counter() - t0
    first = next(iter(boxes))
    out = {"one_box_per_run": {"runs": len(pairs)}, "one_box_per_program": {
        "programs": len(progs), "runs": runs}}
    for name, times in single.items():
        out["one_box_per_run"][f"{name}_median_ms"] = round(1000 * statistics.median(times), 1)
        out["one_box_per_run"][f"{name}_total_s"] = round(sum(times), 2)
    for name, total in batched.items():
        out["one_box_per_program"][f"{name}_ms_per_run"] = round(1000 * total / runs, 1)
    for name in boxes:
        out["one_box_per_run"][f"ratio_{name}_vs_unsandboxed"] = round(
            sum(single[name]) / sum(single["unsandboxed"]), 2)
        out["one_box_per_program"][f"ratio_{name}_vs_unsandboxed"] = round(
            batched[name] / batched["unsandboxed"], 2)
        if name != first:
            out["one_box_per_run"][f"ratio_{name}_vs_{first}"] = round(
                sum(single[name]) / sum(single[first]), 2)
            out["one_box_per_program"][f"ratio_{name}_vs_{first}"] = round(
                batched[name] / batched[first], 2)
    return out


def sandboxes(rev: str, limits=None) -> dict:
    """The baseline sandbox (``rev``) first, then this one."""
    old = baseline_sandbox(rev)
    limits = limits or Limits()
    return {"baseline": old.Sandbox(old.Limits(**asdict(limits))), "bwrap": Sandbox(limits)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--overhead-runs", type=int, default=60)
    ap.add_argument("--all-tests", action="store_true",
                    help="run every test even after a solution failed one (slow: a too-slow "
                         "solution then burns the CPU limit on each of its tests)")
    ap.add_argument("--out")
    ap.add_argument("--overhead-only", action="store_true",
                    help="only measure the sandbox overhead (a minute or two)")
    ap.add_argument("--baseline-rev", default=BASELINE,
                    help="git revision whose harness/sandbox.py is the baseline (default: "
                         "the last one with hand-written namespaces)")
    args = ap.parse_args()
    items = load_items()
    if args.overhead_only:
        boxes = sandboxes(args.baseline_rev)
        print(json.dumps({"overhead": overhead(items, boxes, args.overhead_runs),
                          "modes": {k: sb.mode for k, sb in boxes.items()},
                          "isolation": isolation_report(), "cpus": os.cpu_count(),
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
        "overhead": overhead(items, sandboxes(args.baseline_rev, ver.limits),
                             args.overhead_runs),
        "isolation": isolation_report(), "loadavg": os.getloadavg(),
        "python": ver.sandbox.python, "cpus": os.cpu_count(),
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
